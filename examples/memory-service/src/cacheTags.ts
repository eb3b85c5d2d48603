import type { SearchPlan } from './memoryRepository';

/**
 * Cache tags of the memory service. Every write invalidates only what it can change:
 * - POST: the user's lists, the user's searches sharing a lexeme with the new content, and the
 *   user's searches that any content can change (negations); a big content: all the searches.
 *   The first page at the default size is not dropped but recomputed (write-through, app.ts).
 * - PATCH / DELETE: the memory and every cached list page or search result that holds it (those
 *   carry a tag per memory they contain, see `itemTags`); a new content also all the user's
 *   searches, which it may now match. Lists are ordered by creation, so an edit cannot change a
 *   page that does not hold the memory. A DELETE also drops the user's lists: removing the only
 *   memory after a page changes that page's `next_cursor` (see `deletedTags`).
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
 * Tags a cached list page or search result carries for the memories it holds (the cache's
 * `tagsOf`): the same tag as each memory's own entry, so one invalidation drops them all.
 * @example itemTags([{ id }]) // ['m:<id>']
 */
export function itemTags(items: ReadonlyArray<{ id: string }>): string[] {
  return items.map((m) => cacheTags.memory(m.id));
}

/**
 * What an update or a delete of memory `id` (owned by `userId`) invalidates; `contentChanged`
 * when a PATCH replaced the content.
 * @example changedTags('alice', id, { contentChanged: false }) // ['m:<id>']
 */
export function changedTags(userId: string, id: string, o: { contentChanged?: boolean } = {}): string[] {
  return o.contentChanged ? [cacheTags.memory(id), cacheTags.searches(userId)] : [cacheTags.memory(id)];
}

/**
 * What a delete of memory `id` (owned by `userId`) invalidates: what an edit does, plus the
 * user's list pages. A page that does not hold the memory still changes when the memory was the
 * only one after it: its `next_cursor` must become null, as `repo.list` would now answer.
 * @example deletedTags('alice', id) // ['m:<id>', 'u:alice:list']
 */
export function deletedTags(userId: string, id: string): string[] {
  return [...changedTags(userId, id), cacheTags.lists(userId)];
}
