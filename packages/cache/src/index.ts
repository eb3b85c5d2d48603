// Public API of @mem0-stack/cache: every export is named here (no export *).
export type { CacheErrorCode } from './CacheError';
export { CacheError, isCacheError } from './CacheError';
export type { CacheOptions } from './createCache';
export { Cache, createCache } from './createCache';
export type { RedisClientLike, RedisClusterLike } from './internal/store';
export type { Serializer } from './serializers';
export { jsonSerializer, richJsonSerializer } from './serializers';
export type {
  CacheLogger,
  CacheStats,
  GetOrSetOptions,
  L1Options,
  Loader,
  LoaderContext,
  ReadOptions,
  WriteOptions,
  WriteThroughOptions,
  WriteThroughRefresh,
  WriteThroughSet,
} from './types';
export type { CachedResult, Queryable, QueryCache, QueryCacheOptions } from './wrapQuery';
export { wrapQuery } from './wrapQuery';
