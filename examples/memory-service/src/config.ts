/** Runtime settings of the memory service, read once from the environment. */
export type ServiceConfig = {
  port: number;
  host: string;
  databaseUrl: string;
  redisUrl: string;
  /** Cache query results in Redis (turned off by the benchmark's baseline). */
  cacheEnabled: boolean;
  /** Redis key prefix of this service's cache entries. */
  cachePrefix: string;
  /** Seconds a cached list/search/item stays fresh. */
  cacheTtlSeconds: number;
  /** Keep hot entries in process memory too (an L1 in front of Redis, invalidated by pub/sub). */
  cacheL1: boolean;
  /** Deadline of one Redis command of the cache; past it the read goes to PostgreSQL. */
  cacheTimeoutMs: number;
  /** Largest accepted `content`, in characters. */
  maxContentChars: number;
  /** Largest page a list or search returns. */
  maxPageSize: number;
  defaultPageSize: number;
  /** Queries slower than this are logged with their sanitized statement. */
  slowQueryMs: number;
  poolMax: number;
  /** Per-attempt deadline of a database call (the resilience preset's timeout), in ms. */
  dbTimeoutMs: number;
  /** Responses larger than this many bytes are compressed when the client accepts it. */
  compressThresholdBytes: number;
  /** Hard limit for graceful shutdown. */
  shutdownTimeoutMs: number;
};

function int(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}..${max}`;
    process.emitWarning(`${name}=${JSON.stringify(raw)} is not an integer ${range}; using ${fallback}`);
    return fallback;
  }
  return n;
}

// `on`/`off` switches: anything else (`false`, `0`, a typo) must not silently keep the default.
function onOff(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  process.emitWarning(`${name}=${JSON.stringify(raw)} is not on or off; using on`);
  return true;
}

/**
 * Reads the service settings from `env`, warning once per bad value and keeping the default.
 * @example const config = loadConfig(process.env);
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const maxPageSize = int(env, 'MEM0_MAX_PAGE_SIZE', 100, 1);
  let defaultPageSize = int(env, 'MEM0_DEFAULT_PAGE_SIZE', 20, 1);
  // A default above the maximum would answer a request without ?limit= with more rows than
  // any request may ask for.
  if (defaultPageSize > maxPageSize) {
    process.emitWarning(
      `MEM0_DEFAULT_PAGE_SIZE=${defaultPageSize} is above MEM0_MAX_PAGE_SIZE=${maxPageSize}; using ${maxPageSize}`,
    );
    defaultPageSize = maxPageSize;
  }
  return {
    port: int(env, 'PORT', 3000, 0, 65_535),
    host: env.HOST || '127.0.0.1',
    databaseUrl: env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/mem0_demo',
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    cacheEnabled: onOff(env, 'MEM0_CACHE'),
    cachePrefix: env.MEM0_CACHE_PREFIX || 'memory-service:',
    cacheTtlSeconds: int(env, 'MEM0_CACHE_TTL_SECONDS', 300, 1),
    cacheL1: onOff(env, 'MEM0_CACHE_L1'),
    // Not 250 ms: on a saturated event loop the timer fires as late as the reply arrives, so a
    // tight deadline trips the breaker exactly when the process is busiest and then sends
    // every read to PostgreSQL. A hung Redis is still cut off within a second.
    cacheTimeoutMs: int(env, 'MEM0_CACHE_TIMEOUT_MS', 1000, 10),
    maxContentChars: int(env, 'MEM0_MAX_CONTENT_CHARS', 8192, 1),
    maxPageSize,
    defaultPageSize,
    slowQueryMs: int(env, 'MEM0_SLOW_QUERY_MS', 200),
    poolMax: int(env, 'MEM0_PG_POOL_MAX', 10, 1),
    dbTimeoutMs: int(env, 'MEM0_DB_TIMEOUT_MS', 5000, 100),
    compressThresholdBytes: int(env, 'MEM0_COMPRESS_THRESHOLD_BYTES', 1024),
    shutdownTimeoutMs: int(env, 'MEM0_SHUTDOWN_TIMEOUT_MS', 10_000, 100),
  };
}
