import type { Cache } from './createCache';
import { isCacheableSql, normalizeSql, queryKey } from './internal/sql';
import { richJsonSerializer, type Serializer } from './serializers';
import type { WriteOptions } from './types';

/** Anything with pg's `query(text, values)`: a `pg.Pool`, `pg.Client` or a wrapped pool. */
export type Queryable = {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
};

/** Defaults applied to every cached query of a wrapper. */
export type QueryCacheOptions = WriteOptions & {
  /** Row serializer (default {@link richJsonSerializer}: Dates and Buffers survive the round trip). */
  serializer?: Serializer;
};

/** The cached part of a pg result: `fields`, `command` and `oid` are not kept. */
export type CachedResult<R> = { rows: R[]; rowCount: number | null };

/** Query-result cache over one pool. */
export type QueryCache = {
  /**
   * Runs a read-only query through the cache. Writes (INSERT/UPDATE/DELETE…, SELECT … FOR
   * UPDATE, nextval) are detected and always sent to the database, never cached.
   */
  cachedQuery<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: WriteOptions & { bypass?: boolean },
  ): Promise<CachedResult<R>>;
  /** The cache key a query would use (for `cache.delete`). */
  keyFor(sql: string, params?: readonly unknown[]): string;
};

/**
 * Query-result caching for pg. The key is `q:` + a hash of the normalised SQL (comments and
 * whitespace removed, unquoted text lower-cased) and the typed parameters, so formatting changes
 * do not split the cache. Invalidate with tags (`tags: ['users']` then
 * `cache.invalidateTags(['users'])` after a write) or with `cache.clear('q:')`.
 * @example
 * const users = wrapQuery(cache, pool, { ttl: 30_000, tags: ['users'] });
 * const { rows } = await users.cachedQuery('SELECT * FROM users WHERE id = $1', [42], { tags: ['user:42'] });
 */
export function wrapQuery(cache: Cache, pool: Queryable, defaults: QueryCacheOptions = {}): QueryCache {
  const serializer = defaults.serializer ?? richJsonSerializer;
  const merge = (o: WriteOptions | undefined): WriteOptions => {
    const tags = [...(defaults.tags ?? []), ...(o?.tags ?? [])];
    return { ...defaults, ...o, tags: tags.length > 0 ? tags : undefined };
  };
  const run = async <R>(sql: string, params: readonly unknown[] | undefined): Promise<CachedResult<R>> => {
    const r = await pool.query(sql, params === undefined ? undefined : [...params]);
    return { rows: r.rows as R[], rowCount: r.rowCount };
  };
  return {
    async cachedQuery<R>(
      sql: string,
      params?: readonly unknown[],
      options?: WriteOptions & { bypass?: boolean },
    ) {
      const normalized = normalizeSql(sql);
      if (options?.bypass || !isCacheableSql(normalized)) return run<R>(sql, params);
      return cache.getOrSet(queryKey(normalized, params), () => run<R>(sql, params), {
        ...merge(options),
        serializer,
      });
    },
    keyFor(sql: string, params?: readonly unknown[]) {
      return queryKey(normalizeSql(sql), params);
    },
  };
}
