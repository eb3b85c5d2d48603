/**
 * What the routes need from a cache: read-through by key with tags, and invalidation
 * by tag. The service plugs @mem0-stack/cache in here, or the pass-through when caching
 * is off (the benchmark's baseline).
 */
export type QueryCache = {
  readonly enabled: boolean;
  getOrSet<T>(key: string, tags: string[], load: () => Promise<T>): Promise<T>;
  invalidateTags(tags: string[]): Promise<void>;
  /** Hits and misses since start, for /v1/stats and the demo summary. */
  stats(): { hits: number; misses: number };
  close(): Promise<void>;
};

/**
 * A cache that never stores: every read goes to the database.
 * @example const cache = passThroughCache();
 */
export function passThroughCache(): QueryCache {
  let misses = 0;
  return {
    enabled: false,
    getOrSet: (_key, _tags, load) => {
      misses++;
      return load();
    },
    invalidateTags: async () => {},
    stats: () => ({ hits: 0, misses }),
    close: async () => {},
  };
}
