import type { Serializer } from './serializers';

/** Options of the in-process L1 tier (an LRU in front of Redis). */
export type L1Options = {
  /** Most entries kept (default 10 000). */
  maxEntries?: number;
  /** Most bytes kept, measured as the serialized payload length (default 32 MiB). */
  maxBytes?: number;
  /** Longest time a copy lives in L1, in ms (default 5 000); never past the entry's own TTL. */
  ttl?: number;
};

/** Per-call options shared by `getOrSet`, `set` and `mset`. */
export type WriteOptions = {
  /** Time the value is fresh, in ms (default: the cache's `defaultTtl`). */
  ttl?: number;
  /** Tags for `invalidateTags` (e.g. `['user:42']`). */
  tags?: readonly string[];
  /**
   * After `ttl`, for this many ms a caller gets the old value at once while one background
   * load refreshes it (default: the cache's `staleWhileRevalidate`, 0).
   */
  staleWhileRevalidate?: number;
  /**
   * After `ttl`, for this many ms the old value is kept as a fallback: if the loader throws,
   * callers get the old value instead of the error (default: the cache's `grace`, 0).
   */
  grace?: number;
  /** Fraction of `ttl` removed at random (0–1) so keys written together do not expire together. */
  jitter?: number;
};

/** Options of `getOrSet`. */
export type GetOrSetOptions = WriteOptions & {
  /**
   * Tags derived from the loaded value, added to `tags` (e.g. one per row of a cached list, so
   * that changing one row drops only the lists that hold it). An invalidation of one of them
   * that lands while the loader runs refuses the write, as for `tags`. Needs a standalone Redis
   * ≥ 5: on a cluster, values with derived tags are returned but not cached. If it throws, the
   * value is returned and not cached.
   * @example { tags: [`user:${u}:lists`], tagsOf: (page: Page) => page.items.map((m) => `memory:${m.id}`) }
   */
  tagsOf?: (value: never) => readonly string[];
  /** TTL of a "not found" entry, written when the loader returns `undefined` (default: cache's `negativeTtl`). */
  negativeTtl?: number;
  /**
   * Checks a value read from Redis (wrong shape from an old deploy, another writer): false
   * makes it a miss; the entry is deleted and counted as corrupt.
   */
  validate?: (value: unknown) => boolean;
  /** Use the cross-process lock on a miss (default: the cache's `lock` setting). */
  lock?: boolean;
  /** Payload serializer for this key (default: the cache's). */
  serializer?: Serializer;
};

/** Options of `get` and `mget`. */
export type ReadOptions = {
  /** Also return a value past its TTL while it is inside its stale/grace window. */
  allowStale?: boolean;
  validate?: (value: unknown) => boolean;
  serializer?: Serializer;
};

/** What a loader receives. */
export type LoaderContext<T> = {
  /** The key as given to getOrSet. */
  key: string;
  /** The previous value when the entry is being refreshed (stale or in grace), else undefined. */
  stale: T | undefined;
};

/** Computes the value on a miss. Returning `undefined` means "not found" (negative caching). */
export type Loader<T> = (ctx: LoaderContext<T>) => Promise<T> | T;

/** Minimal logger; defaults to `getLogger()` from @mem0-stack/logging. */
export type CacheLogger = {
  warn(message: string, fields?: Record<string, unknown>): unknown;
  debug(message: string, fields?: Record<string, unknown>): unknown;
};

/** In-process counters of one cache, from `stats()`. */
export type CacheStats = {
  name: string;
  /** getOrSet/get calls answered from L1 or Redis with a fresh value. */
  hits: number;
  l1Hits: number;
  l2Hits: number;
  /** Calls that ran (or joined) a load. */
  misses: number;
  /** Calls answered with an old value (stale-while-revalidate, or grace after a loader failure). */
  stale: number;
  /** Calls where the cache could not answer (Redis down/slow/breaker open, corrupt entry) and the loader did. */
  errors: number;
  requests: number;
  /** (hits + stale) / requests; 0 when there were no requests. */
  hitRatio: number;
  /** Loader calls, and those that threw. */
  loads: number;
  loadErrors: number;
  /** Entries dropped because they did not decode or failed `validate`. */
  corrupt: number;
  /** Values not cached because they exceeded `maxValueBytes` or could not be serialized. */
  oversize: number;
  /** Writes refused because the entry was invalidated or rewritten while the loader ran. */
  writesRefused: number;
  /** Entries `writeThrough` stored (recomputed or set). */
  writeThroughStored: number;
  /** Entries `writeThrough` had a new value for but dropped: something else changed them since its snapshot. */
  writeThroughRefused: number;
  /** Times `writeThrough` recomputed a `retry` entry after a concurrent write changed it. */
  writeThroughRetries: number;
  invalidations: number;
  /** Invalidations that could not reach Redis yet and will be replayed (0 when healthy). */
  pendingInvalidations: number;
  l1: { entries: number; bytes: number; evictions: number } | undefined;
  redis: { ready: boolean; breaker: string };
};

/**
 * An entry a write recomputes from its cached value and the write's result instead of dropping
 * it (see `Cache.writeThrough`). Give it the `tags` and `tagsOf` of the getOrSet that fills it.
 */
export type WriteThroughRefresh<R> = {
  key: string;
  /** Tags the entry is cached with: the same as the `tags` of the getOrSet that fills it. */
  tags?: readonly string[];
  /** Tags derived from the new value: the same as that getOrSet's `tagsOf`. */
  tagsOf?: (value: never) => readonly string[];
  /**
   * The new value from the cached one (a fresh copy, yours to change) and the write's result;
   * `undefined` drops the entry. Called only when a fresh value is cached; the new value keeps
   * that entry's expiry (a refresh never extends an entry's life).
   */
  update: (cached: never, result: R) => unknown;
  /** Serializer of the entry when it is not the cache's (as in getOrSet). */
  serializer?: Serializer;
  /** Checks the cached value before it is recomputed; false drops the entry. */
  validate?: (value: unknown) => boolean;
  /**
   * When a concurrent write changed the entry between this call's snapshot and its store
   * (two inserts into one hot list), recompute once from the value cached then instead of
   * dropping it. Only for an `update` that is idempotent (given a value that already reflects
   * the write, it changes nothing) and commutes with the other writes' updates, as inserting a
   * row by id into a sorted page does. Default false.
   */
  retry?: boolean;
};

/** A value a write stores from its own result (see `Cache.writeThrough`); options as in `set`. */
export type WriteThroughSet<R> = WriteOptions & {
  key: string;
  /** Tags derived from the value, as getOrSet's `tagsOf`. */
  tagsOf?: (value: never) => readonly string[];
  /** The value to cache, from the write's result; `undefined` drops the entry. */
  value: (result: R) => unknown;
  serializer?: Serializer;
};

/** What `Cache.writeThrough` does to the cache once the write has run. */
export type WriteThroughOptions<R> = {
  /**
   * Tags to invalidate, as `invalidateTags`; a function of the write's result when they depend
   * on it. The entries of `refresh` and `set` survive this call's own invalidation.
   */
  invalidate?: readonly string[] | ((result: R) => readonly string[]);
  /** Entries recomputed from their cached value and the write's result. */
  refresh?: ReadonlyArray<WriteThroughRefresh<R>>;
  /** Entries written from the write's result. */
  set?: ReadonlyArray<WriteThroughSet<R>>;
};
