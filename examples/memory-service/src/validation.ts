import { type FieldIssue, ValidationError } from '@mem0-stack/errors';
import { z } from 'zod';
import type { ServiceConfig } from './config';
import { type Cursor, decodeCursor, isUuid } from './memoryRepository';

const USER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
/** Fields a client may ask for with `?fields=`. */
export const MEMORY_FIELDS = ['id', 'user_id', 'content', 'metadata', 'created_at', 'updated_at'] as const;

// One issue per unknown field, named by its own path, so a client sees `colour` in `errors[].path`.
function issues(err: z.ZodError): FieldIssue[] {
  return err.issues.flatMap((i): FieldIssue[] => {
    const at = i.path.map(String);
    if (i.code === 'unrecognized_keys')
      return i.keys.map((k) => ({ path: [...at, k].join('.'), message: 'unknown field', code: i.code }));
    return [{ path: at.join('.'), message: i.message, code: i.code }];
  });
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new ValidationError(`invalid ${what}`, {
      details: issues(r.error),
      userMessage: `The ${what} is invalid; see errors[] for each field.`,
    });
  return r.data;
}

/**
 * A 400 with a stable code and one field issue.
 * @example throw invalid('INVALID_ID', 'id', 'must be a UUID', 'The memory id is not valid.');
 */
export function invalid(code: string, path: string, message: string, userMessage: string): ValidationError {
  return new ValidationError(`${path}: ${message}`, { code, userMessage, details: [{ path, message }] });
}

/** Builds the request schemas once, sized by the configured limits. */
export function createValidators(
  config: Pick<ServiceConfig, 'maxContentChars' | 'maxPageSize' | 'defaultPageSize'>,
) {
  const userId = z.string().regex(USER_ID, 'must be 1–128 of A-Z a-z 0-9 . _ : @ -');
  const content = z
    .string()
    .min(1, 'must not be empty')
    .max(config.maxContentChars, `must be at most ${config.maxContentChars} characters`);
  // Bounded so one client cannot store megabytes of metadata per memory.
  // JSON.parse keeps "__proto__" as an own key, but z.record assigns it and so silently drops
  // it (the value would become the result's prototype): refuse it clearly instead.
  const metadata = z
    .unknown()
    .superRefine((m, ctx) => {
      if (m !== null && typeof m === 'object' && Object.hasOwn(m, '__proto__'))
        ctx.addIssue({ code: 'custom', path: ['__proto__'], message: 'the key "__proto__" is not allowed' });
    })
    .pipe(z.record(z.string().max(64), z.unknown()))
    .refine((m) => JSON.stringify(m).length <= 4096, 'must serialise to at most 4096 characters');
  const createBody = z.strictObject({ user_id: userId, content, metadata: metadata.optional() });
  const patchBody = z
    .strictObject({ content: content.optional(), metadata: metadata.optional() })
    .refine((b) => b.content !== undefined || b.metadata !== undefined, 'give content or metadata');
  const limit = z.coerce
    .number()
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(config.maxPageSize, `must be at most ${config.maxPageSize}`)
    .default(config.defaultPageSize);
  const fields = z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s === '') return undefined;
      const list = s.split(',').map((f) => f.trim());
      for (const f of list) {
        if (!(MEMORY_FIELDS as readonly string[]).includes(f)) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown field "${f}"; allowed: ${MEMORY_FIELDS.join(', ')}`,
          });
          return z.NEVER;
        }
      }
      return list;
    });
  const listQuery = z.strictObject({ user_id: userId, limit, cursor: z.string().optional(), fields });
  const searchQuery = z.strictObject({
    user_id: userId,
    q: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
    limit,
    fields,
  });
  const itemQuery = z.strictObject({ fields });

  return {
    createBody: (v: unknown) => parse(createBody, v, 'request body'),
    patchBody: (v: unknown) => parse(patchBody, v, 'request body'),
    listQuery: (v: unknown) => {
      const q = parse(listQuery, v, 'query');
      let after: Cursor | undefined;
      if (q.cursor !== undefined) {
        after = decodeCursor(q.cursor);
        if (!after)
          throw invalid(
            'INVALID_CURSOR',
            'cursor',
            'not a cursor returned by this API',
            'The cursor is not valid: pass next_cursor from a previous page unchanged.',
          );
      }
      return { userId: q.user_id, limit: q.limit, after, cursor: q.cursor, fields: q.fields };
    },
    searchQuery: (v: unknown) => {
      const q = parse(searchQuery, v, 'query');
      return { userId: q.user_id, q: q.q, limit: q.limit, fields: q.fields };
    },
    itemQuery: (v: unknown) => parse(itemQuery, v, 'query'),
    id: (raw: string) => {
      if (!isUuid(raw)) throw invalid('INVALID_ID', 'id', 'must be a UUID', 'The memory id must be a UUID.');
      return raw.toLowerCase();
    },
  };
}
