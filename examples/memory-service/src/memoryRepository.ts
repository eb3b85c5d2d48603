import { randomUUID } from 'node:crypto';
import type { QueryResultRow } from 'pg';

/** A stored memory as the API returns it. */
export type Memory = {
  id: string;
  user_id: string;
  content: string;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
};

/** One page of a keyset-paginated list. */
export type MemoryPage = { items: Memory[]; next_cursor: string | null };

/** What the repository needs from a pool: named, parameterised queries only. */
export type Queryable = {
  query<R extends QueryResultRow>(q: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<{ rows: R[] }>;
};

// Microsecond ISO timestamps: a JS Date would round created_at to ms and keyset
// pagination would then skip or repeat rows that share a millisecond.
const COLUMNS = `id, user_id, content, metadata,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at`;

/** Every statement the service runs, by prepared-statement name (the EXPLAIN test walks them). */
export const statements = {
  insert: `INSERT INTO memories (user_id, content, metadata, id) VALUES ($1, $2, $3, $4)
    RETURNING ${COLUMNS}, tsvector_to_array(content_tsv) AS lexemes`,
  get: `SELECT ${COLUMNS} FROM memories WHERE id = $1`,
  listFirst: `SELECT ${COLUMNS} FROM memories WHERE user_id = $1 ORDER BY memories.created_at DESC, memories.id DESC LIMIT $2`,
  listAfter: `SELECT ${COLUMNS} FROM memories WHERE user_id = $1 AND (memories.created_at, memories.id) < ($2::timestamptz, $3::uuid)
    ORDER BY memories.created_at DESC, memories.id DESC LIMIT $4`,
  search: `SELECT ${COLUMNS} FROM memories
    WHERE user_id = $1 AND content_tsv @@ websearch_to_tsquery('english', $2)
    ORDER BY ts_rank(content_tsv, websearch_to_tsquery('english', $2)) DESC, memories.created_at DESC LIMIT $3`,
  update: `UPDATE memories SET content = COALESCE($2, content), metadata = COALESCE($3, metadata), updated_at = clock_timestamp()
    WHERE id = $1 RETURNING ${COLUMNS}`,
  delete: 'DELETE FROM memories WHERE id = $1 RETURNING user_id',
  // What a search query means to the index: its lexemes and operators (no table access).
  searchPlan: `SELECT websearch_to_tsquery('english', $1)::text AS tsquery`,
} as const;

/**
 * Which new content can change a search's result: the positive lexemes of its tsquery. A query
 * with a negation (`tea -coffee`) or with no lexeme at all can be changed by any new content
 * (`any`).
 */
export type SearchPlan = { lexemes: string[]; any: boolean };

/**
 * Parses the text form of a tsquery (`'green' <-> 'tea' & !'coffe'`).
 * @example parseTsquery("'green' & 'tea'") // { lexemes: ['green', 'tea'], any: false }
 */
export function parseTsquery(text: string): SearchPlan {
  const lexemes: string[] = [];
  let negated = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '!') negated = true;
    else if (c === "'") {
      let lexeme = '';
      for (i++; i < text.length; i++) {
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            lexeme += "'";
            i++;
          } else break;
        } else lexeme += text[i];
      }
      if (!lexemes.includes(lexeme)) lexemes.push(lexeme);
    }
  }
  return { lexemes, any: negated || lexemes.length === 0 };
}

/** Keyset position: the last row's (created_at, id). */
export type Cursor = { createdAt: string; id: string };

/**
 * Encodes a keyset position as an opaque URL-safe cursor.
 * @example encodeCursor({ createdAt: m.created_at, id: m.id })
 */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
}

const ISO_US = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Date.parse accepts days a month does not have (Feb 30 rolls over to Mar 1) and year 0, which
// PostgreSQL refuses: such a cursor must be INVALID_CURSOR here, not a database error later.
function isTimestamp(iso: string): boolean {
  const t = Date.parse(iso);
  return (
    !Number.isNaN(t) &&
    iso.slice(0, 4) !== '0000' &&
    new Date(t).toISOString().slice(0, 19) === iso.slice(0, 19)
  );
}

/**
 * Decodes a cursor; returns undefined for anything this service did not produce.
 * @example const c = decodeCursor(req.query.cursor); if (!c) throw badCursor();
 */
export function decodeCursor(raw: string): Cursor | undefined {
  if (raw.length > 200 || !/^[A-Za-z0-9_-]+$/.test(raw)) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (!Array.isArray(v) || v.length !== 2) return undefined;
    const [createdAt, id] = v as unknown[];
    if (typeof createdAt !== 'string' || !ISO_US.test(createdAt) || !isTimestamp(createdAt)) return undefined;
    if (typeof id !== 'string' || !UUID.test(id)) return undefined;
    return { createdAt, id };
  } catch {
    return undefined;
  }
}

// The list order (ORDER BY created_at DESC, id DESC): created_at is a fixed-width microsecond
// UTC string and id a lower-case UUID, so string order is PostgreSQL's timestamptz/uuid order.
function newestFirst(a: Memory, b: Memory): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * The page `repo.list` returns from the first `limit + 1` rows of its query: `limit` items, and a
 * cursor to the last one when the extra row says a next page exists.
 */
function pageOf(rows: Memory[], limit: number, more: boolean): MemoryPage {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    next_cursor:
      (more || rows.length > limit) && last
        ? encodeCursor({ createdAt: last.created_at, id: last.id })
        : null,
  };
}

/**
 * The first page of a user's list once `memory` is inserted, as `repo.list(user, limit)` would
 * return it: the memory at its sort position (not blindly on top: concurrent inserts can commit
 * out of created_at order), trimmed to `limit`, `next_cursor` recomputed. A page that already
 * holds the memory is returned as it is: it was read after the insert (idempotent, as the
 * cache's write-through retry needs). Undefined when `page` is not a first page of that size
 * (then it is dropped, not patched).
 * @example const next = withNewMemory(cachedPage, created.memory, 20);
 */
export function withNewMemory(page: MemoryPage, memory: Memory, limit: number): MemoryPage | undefined {
  const items = page?.items;
  if (!Array.isArray(items) || items.length > limit || (page.next_cursor !== null && items.length < limit))
    return undefined;
  if (items.some((m) => m.id === memory.id)) return page;
  // A next page existed before, so one still does; otherwise the new row may have made one.
  return pageOf([...items, memory].sort(newestFirst), limit, page.next_cursor !== null);
}

/** True for a syntactically valid UUID (checked before it reaches PostgreSQL). */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/** Data access for memories: one prepared statement per operation. */
export type MemoryRepository = ReturnType<typeof createMemoryRepository>;

/**
 * Builds the repository over a pool (or anything with `query`).
 * @example const repo = createMemoryRepository(pool); await repo.create('u1', 'hello', {});
 */
export function createMemoryRepository(db: Queryable) {
  return {
    /**
     * Inserts; also returns the content's lexemes (which cached searches it may change). The id
     * may come from the caller, who then knows it before the row exists (to cache it).
     */
    async create(
      userId: string,
      content: string,
      metadata: Record<string, unknown>,
      id: string = randomUUID(),
    ): Promise<{ memory: Memory; lexemes: string[] }> {
      const r = await db.query<Memory & { lexemes: string[] }>({
        name: 'mem_insert',
        text: statements.insert,
        values: [userId, content, metadata, id],
      });
      const { lexemes, ...memory } = r.rows[0] as Memory & { lexemes: string[] };
      return { memory, lexemes };
    },
    async searchPlan(q: string): Promise<SearchPlan> {
      const r = await db.query<{ tsquery: string }>({
        name: 'mem_search_plan',
        text: statements.searchPlan,
        values: [q],
      });
      return parseTsquery(r.rows[0]?.tsquery ?? '');
    },
    async get(id: string): Promise<Memory | undefined> {
      const r = await db.query<Memory>({ name: 'mem_get', text: statements.get, values: [id] });
      return r.rows[0];
    },
    async list(userId: string, limit: number, after?: Cursor): Promise<MemoryPage> {
      // One extra row tells whether a next page exists without a COUNT.
      const r = after
        ? await db.query<Memory>({
            name: 'mem_list_after',
            text: statements.listAfter,
            values: [userId, after.createdAt, after.id, limit + 1],
          })
        : await db.query<Memory>({
            name: 'mem_list_first',
            text: statements.listFirst,
            values: [userId, limit + 1],
          });
      return pageOf(r.rows, limit, false);
    },
    async search(userId: string, q: string, limit: number): Promise<Memory[]> {
      const r = await db.query<Memory>({
        name: 'mem_search',
        text: statements.search,
        values: [userId, q, limit],
      });
      return r.rows;
    },
    async update(
      id: string,
      patch: { content?: string | undefined; metadata?: Record<string, unknown> | undefined },
    ): Promise<Memory | undefined> {
      const r = await db.query<Memory>({
        name: 'mem_update',
        text: statements.update,
        values: [id, patch.content ?? null, patch.metadata ?? null],
      });
      return r.rows[0];
    },
    async delete(id: string): Promise<string | undefined> {
      const r = await db.query<{ user_id: string }>({
        name: 'mem_delete',
        text: statements.delete,
        values: [id],
      });
      return r.rows[0]?.user_id;
    },
  };
}
