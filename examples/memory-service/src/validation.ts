import { type FieldIssue, ValidationError } from '@mem0-stack/errors';
import { z } from 'zod';
import type { ServiceConfig } from './config';
import { type Cursor, decodeCursor, isUuid } from './memoryRepository';

const USER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
// Text PostgreSQL cannot store as sent: NUL (text and jsonb refuse it: a DB error with no field
// named) and lone surrogates (UTF-8 has none: text silently stores U+FFFD, jsonb refuses it).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const TEXT_RULE = 'must be valid Unicode text without NUL characters';
const storable = (s: string) => !s.includes('\0') && !LONE_SURROGATE.test(s);
/** Longest accepted metadata, in characters of its JSON. */
export const METADATA_MAX = 4096;

/**
 * Why `m` (the parsed metadata) cannot be stored as sent, with the path of the offending value:
 * a string or key PostgreSQL cannot store, or a number JSON.parse already changed (a 64-bit
 * integer beyond ±2^53 lost digits; an overflow became Infinity, which serialises to null). Iterative: the
 * caller bounds the size first, so the walk is short.
 */
function metadataProblem(m: unknown): { path: string[]; message: string } | undefined {
  const stack: Array<[unknown, string[]]> = [[m, []]];
  while (stack.length > 0) {
    const [v, path] = stack.pop() as [unknown, string[]];
    if (typeof v === 'string') {
      if (!storable(v)) return { path, message: TEXT_RULE };
    } else if (typeof v === 'number') {
      // 64-bit ids are the common case of lost digits; a float like 6.02e23 is left alone.
      if (!Number.isFinite(v) || (Math.abs(v) > Number.MAX_SAFE_INTEGER && Math.abs(v) < 2 ** 64))
        return {
          path,
          message: 'must be a finite number; integers beyond ±(2^53 - 1) lose digits: send them as strings',
        };
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (!storable(k)) return { path: [...path, k], message: `keys ${TEXT_RULE}` };
        stack.push([x, [...path, k]]);
      }
    }
  }
  return undefined;
}
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
    .max(config.maxContentChars, `must be at most ${config.maxContentChars} characters`)
    .refine(storable, TEXT_RULE);
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
    .superRefine((m, ctx) => {
      let size: number;
      try {
        size = JSON.stringify(m).length;
      } catch {
        // Nested deeper than the stack (RangeError): thousands of levels, so far above the limit.
        size = Number.POSITIVE_INFINITY;
      }
      if (size > METADATA_MAX) {
        ctx.addIssue({ code: 'custom', message: `must serialise to at most ${METADATA_MAX} characters` });
        return;
      }
      const problem = metadataProblem(m);
      if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
    });
  const createBody = z.strictObject({ user_id: userId, content, metadata: metadata.optional() });
  const patchBody = z
    .strictObject({ content: content.optional(), metadata: metadata.optional() })
    .refine((b) => b.content !== undefined || b.metadata !== undefined, 'give content or metadata');
  // Decimal digits only: Number() would also take '0x14', '1e1' and ' 5'.
  const limit = z
    .string()
    .regex(/^[0-9]{1,6}$/, 'must be a whole number')
    .transform(Number)
    .pipe(
      z
        .number()
        .min(1, 'must be at least 1')
        .max(config.maxPageSize, `must be at most ${config.maxPageSize}`),
    )
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
    q: z
      .string()
      .min(1, 'must not be empty')
      .max(256, 'must be at most 256 characters')
      .refine(storable, TEXT_RULE),
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
