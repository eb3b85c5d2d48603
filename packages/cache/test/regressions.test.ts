import { type Cache, createCache } from '@mem0-stack/cache';
import { createTestDatabase } from '@mem0-stack/testkit';
import { Pool } from 'pg';
import { type Client, cleanup, connect, uniquePrefix } from './helpers';

// The shared preset's testTimeout is a global jest option, ignored per project: set it here.
jest.setTimeout(30_000);

let redis: Client;
let prefix: string;
const caches: Cache[] = [];

function make(opts: Partial<Parameters<typeof createCache>[0]> = {}): Cache {
  const c = createCache({
    redis: redis as never,
    name: 'regressions',
    defaultTtl: 60_000,
    prefix,
    jitter: 0,
    ...opts,
  });
  caches.push(c);
  return c;
}

beforeAll(async () => {
  redis = await connect();
});
beforeEach(() => {
  prefix = uniquePrefix();
});
afterEach(async () => {
  await Promise.all(caches.splice(0).map((c) => c.close()));
  await cleanup(redis, prefix);
});
afterAll(async () => {
  await redis.quit();
});

describe('stats: a load that throws', () => {
  test('a getOrSet whose loader throws (no stale value) is counted as a miss, for every waiter', async () => {
    const cache = make();
    const failing = async () => {
      throw new Error('db down');
    };
    await Promise.all([
      expect(cache.getOrSet('boom', failing)).rejects.toThrow('db down'),
      expect(cache.getOrSet('boom', failing)).rejects.toThrow('db down'),
    ]);
    const s = cache.stats();
    expect(s.loadErrors).toBe(1);
    // "misses: Calls that ran (or joined) a load": both calls did.
    expect([s.misses, s.requests]).toEqual([2, 2]);
  });
});

describe('keys: the shortened form', () => {
  test('with a large maxKeyLength, getOrSet and get address the same entry for a key shaped like a shortened one', async () => {
    const cache = make({ maxKeyLength: 400 });
    const key = `${'a'.repeat(64)}#${'B'.repeat(43)}`;
    expect(await cache.set(key, 'from set')).toBe(true);
    const loader = jest.fn(async () => 'from loader');
    expect(await cache.getOrSet(key, loader)).toBe('from set');
    expect(loader).not.toHaveBeenCalled();
  });

  test('with a large maxKeyLength, a short key cannot read a long key through its shortened form', async () => {
    const cache = make({ maxKeyLength: 400 });
    const long = 'x'.repeat(500);
    await cache.set(long, 'secret');
    const raw = (await redis.keys(`${prefix}regressions:e:*`))[0] as string;
    const shortened = raw.slice(`${prefix}regressions:e:{`.length, -1);
    expect(shortened).toHaveLength(108);
    expect(await cache.getOrSet(shortened, async () => 'mine')).toBe('mine');
  });
});

describe('TTL beyond what Redis accepts', () => {
  test('a huge ttl is still cached (capped to what Redis accepts)', async () => {
    const cache = make();
    const loader = jest.fn(async () => 'v');
    for (let i = 0; i < 6; i++) expect(await cache.getOrSet(`huge${i}`, loader, { ttl: 1e20 })).toBe('v');
    expect(loader).toHaveBeenCalledTimes(6);
    expect(await cache.getOrSet('huge0', loader, { ttl: 1e20 })).toBe('v');
    expect(loader).toHaveBeenCalledTimes(6);
    expect(cache.stats().redis.breaker).toBe('closed');
    expect(await cache.set('huge-set', 'w', { ttl: Number.MAX_VALUE })).toBe(true);
    expect(await cache.get('huge-set')).toBe('w');
  });

  test('a huge staleWhileRevalidate / grace is still cached', async () => {
    const cache = make();
    expect(await cache.set('g', 'w', { ttl: 1000, grace: 1e300 })).toBe(true);
    expect(await cache.get('g')).toBe('w');
  });

  test('an infinite negativeTtl per call still caches "not found"', async () => {
    const cache = make();
    const loader = jest.fn(async () => undefined);
    expect(await cache.getOrSet('neg', loader, { negativeTtl: Number.POSITIVE_INFINITY })).toBeUndefined();
    expect(await cache.getOrSet('neg', loader, { negativeTtl: Number.POSITIVE_INFINITY })).toBeUndefined();
    expect(loader).toHaveBeenCalledTimes(1);
  });
});

describe('wrapQuery: SELECT INTO is a write', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = new Pool({ connectionString: await createTestDatabase('mem0_cache_test'), max: 2 });
  });
  afterAll(async () => {
    await pool.query('DROP TABLE IF EXISTS regressions_into_copy');
    await pool.end();
  });

  test('SELECT … INTO creates a table each time it is run: never served from the cache', async () => {
    const cache = make();
    const q = cache.wrapQuery(pool);
    await pool.query('DROP TABLE IF EXISTS regressions_into_copy');
    await q.cachedQuery('SELECT 1 AS n INTO regressions_into_copy');
    await pool.query('DROP TABLE regressions_into_copy');
    await q.cachedQuery('SELECT 1 AS n INTO regressions_into_copy');
    const { rows } = await pool.query("SELECT to_regclass('regressions_into_copy') AS t");
    expect(rows[0].t).toBe('regressions_into_copy');
  });
});
