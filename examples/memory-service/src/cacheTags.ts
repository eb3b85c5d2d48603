import type { SearchPlan } from './memoryRepository';

/**
 * Cache tags of the memory service. Every write invalidates only what it can change:
 * - POST: the user's lists, the user's searches sharing a lexeme with the new content, and the
 *   user's searches that any content can change (negations); a big content: all the searches.
 * - PATCH / DELETE: the memory itself and all the user's lists and searches.
 */
export const cacheTags = {
  memory: (id: string) => `m:${id}`,
  lists: (u: string) => `u:${u}:list`,
  searches: (u: string) => `u:${u}:q`,
  anySearch: (u: string) => `u:${u}:q:*`,
  lexeme: (u: string, lexeme: string) => `u:${u}:q:=${lexeme}`,
};

/** Past this many lexemes one "all searches" tag is cheaper than a tag per lexeme. */
export const MAX_LEXEME_TAGS = 32;

/**
 * Tags of a cached search: all the user's searches, plus its lexemes (or "any content").
 * @example searchTags('alice', { lexemes: ['tea'], any: false }) // ['u:alice:q', 'u:alice:q:=tea']
 */
export function searchTags(userId: string, plan: SearchPlan): string[] {
  return [
    cacheTags.searches(userId),
    ...(plan.any ? [cacheTags.anySearch(userId)] : plan.lexemes.map((l) => cacheTags.lexeme(userId, l))),
  ];
}

/**
 * What a new memory with these content lexemes invalidates.
 * @example createdTags('alice', ['green', 'tea'])
 */
export function createdTags(userId: string, lexemes: readonly string[]): string[] {
  return [
    cacheTags.lists(userId),
    cacheTags.anySearch(userId),
    ...(lexemes.length > MAX_LEXEME_TAGS
      ? [cacheTags.searches(userId)]
      : lexemes.map((l) => cacheTags.lexeme(userId, l))),
  ];
}

/**
 * What an update or a delete of memory `id` (owned by `userId`) invalidates.
 * @example changedTags('alice', id)
 */
export function changedTags(userId: string, id: string): string[] {
  return [cacheTags.memory(id), cacheTags.lists(userId), cacheTags.searches(userId)];
}
