import { createHash } from 'node:crypto';
import { type Cache, createCache, richJsonSerializer } from '@mem0-stack/cache';
import { createTestDatabase } from '@mem0-stack/testkit';
import { Pool } from 'pg';
import { type Client, cleanup, connect, gate, uniquePrefix } from './helpers';

// The shared preset's testTimeout is a global jest option, ignored per project: set it here.
jest.setTimeout(30_000);

let redis: Client;
let prefix: string;
const caches: Cache[] = [];
const warnings: string[] = [];
const logger = { warn: (m: string) => warnings.push(m), debug: () => {} };

function make(opts: Partial<Parameters<typeof createCache>[0]> = {}): Cache {
  const c = createCache({
    redis: redis as never,
    name: 'safe',
    defaultTtl: 60_000,
    prefix,
    jitter: 0,
    logger,
    ...opts,
  });
  caches.push(c);
  return c;
}
const entryKey = (k: string) => `${prefix}safe:e:{${k}}`;

beforeAll(async () => {
  redis = await connect();
});
beforeEach(() => {
  prefix = uniquePrefix();
  warnings.length = 0;
});
afterEach(async () => {
  await Promise.all(caches.splice(0).map((c) => c.close()));
  await cleanup(redis, prefix);
});
afterAll(async () => {
  await redis.quit();
});

describe('corrupt and foreign entries are a miss, deleted and counted — never thrown', () => {
  const future = Date.now() + 3_600_000;
  test.each([
    ['bad JSON payload', `m1|abc|${future}|${future}|${future}|vj|0|{"id":4`],
    ['foreign plain string', 'hello from another app'],
    ['foreign JSON', '{"value":1,"createdAt":1}'],
    ['wrong envelope version', `m9|abc|${future}|${future}|${future}|vj|0|{"id":4}`],
    ['truncated header', `m1|abc|${future}|`],
    ['unknown codec', `m1|abc|${future}|${future}|${future}|vz|0|{}`],
    ['tags length past the end', `m1|abc|${future}|${future}|${future}|vj|999|[]`],
    ['times out of order', `m1|abc|${future}|1|${future}|vj|0|{}`],
    ['empty string', ''],
  ])('%s', async (_name, raw) => {
    const cache = make();
    await redis.set(entryKey('k'), raw);
    const loader = jest.fn(async () => ({ fresh: true }));
    expect(await cache.getOrSet('k', loader)).toEqual({ fresh: true });
    expect(loader).toHaveBeenCalledTimes(1);
    const s = cache.stats();
    expect(s.corrupt).toBe(1);
    expect(s.errors).toBe(1); // the cache could not answer; the loader did
    expect(warnings.some((w) => w.includes('corrupt entry'))).toBe(true);
    // Replaced by a good entry, which now hits.
    expect(await cache.getOrSet('k', loader)).toEqual({ fresh: true });
    expect(loader).toHaveBeenCalledTimes(1);
  });

  test('a key holding another Redis type (WRONGTYPE) is a miss, deleted and counted', async () => {
    const cache = make();
    await redis.hSet(entryKey('h'), { a: '1' });
    expect(await cache.getOrSet('h', async () => 'v')).toBe('v');
    expect(cache.stats().corrupt).toBe(1);
    expect(await redis.type(entryKey('h'))).toBe('string');
    expect(await cache.get('h')).toBe('v');
    expect(cache.stats().redis.breaker).toBe('closed'); // a bad entry is not a Redis outage
  });

  test('get() and mget() treat corrupt entries the same way', async () => {
    const cache = make();
    await redis.set(entryKey('a'), 'garbage');
    await redis.set(entryKey('b'), `m1|x|${future}|${future}|${future}|vj|0|not json`);
    await cache.set('c', 3);
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.mget(['b', 'c'])).toEqual([undefined, 3]);
    expect(cache.stats().corrupt).toBe(2);
    expect(await redis.exists([entryKey('a'), entryKey('b')])).toBe(0);
  });

  test('validate() rejects a value of the wrong shape: miss, deleted, reloaded', async () => {
    const cache = make();
    await cache.set('user:1', { id: 1, name: 'old shape' });
    const isUser = (v: unknown) => typeof v === 'object' && v !== null && 'email' in v;
    const loader = jest.fn(async () => ({ id: 1, email: 'a@b.c' }));
    expect(await cache.getOrSet('user:1', loader, { validate: isUser })).toEqual({ id: 1, email: 'a@b.c' });
    expect(cache.stats().corrupt).toBe(1);
    expect(await cache.getOrSet('user:1', loader, { validate: isUser })).toEqual({ id: 1, email: 'a@b.c' });
    expect(loader).toHaveBeenCalledTimes(1);
  });

  test('a validate() that throws counts as a failed check', async () => {
    const cache = make();
    await cache.set('x', 1);
    const v = await cache.getOrSet('x', async () => 2, {
      validate: () => {
        throw new Error('bug in validator');
      },
    });
    expect(v).toBe(2);
    expect(cache.stats().corrupt).toBe(1);
  });
});

describe('values that must not be cached', () => {
  test('a value above maxValueBytes is returned, not cached, counted; the old entry is not served', async () => {
    const cache = make({ maxValueBytes: 1_000 });
    await cache.set('big', 'small');
    const big = 'é'.repeat(600); // 600 chars, 1 200 UTF-8 bytes
    const loader = jest.fn(async () => big);
    expect(await cache.set('big', big)).toBe(false);
    expect(await cache.get('big')).toBeUndefined();
    expect(await cache.getOrSet('big2', loader)).toBe(big);
    expect(await cache.getOrSet('big2', loader)).toBe(big);
    expect(loader).toHaveBeenCalledTimes(2);
    expect(cache.stats().oversize).toBe(3);
    expect(await redis.exists(entryKey('big2'))).toBe(0);
  });

  test('an unserializable value (cycle, bigint in JSON) is returned and counted, never thrown', async () => {
    const cache = make();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(await cache.getOrSet('cyc', async () => cyclic)).toBe(cyclic);
    expect(await cache.getOrSet('big', async () => 10n)).toBe(10n);
    expect(cache.stats().oversize).toBe(2);
  });

  test('richJsonSerializer keeps Date, Buffer and bigint', async () => {
    const cache = make({ serializer: richJsonSerializer });
    const v = {
      at: new Date('2024-05-01T10:00:00.123Z'),
      bytes: Buffer.from([0, 1, 255]),
      n: 2n ** 70n,
      s: 'x',
    };
    await cache.set('rich', v);
    const back = (await cache.get('rich')) as typeof v;
    expect(back.at).toBeInstanceOf(Date);
    expect(back.at.toISOString()).toBe('2024-05-01T10:00:00.123Z');
    expect(Buffer.isBuffer(back.bytes) && back.bytes.equals(v.bytes)).toBe(true);
    expect(back.n).toBe(2n ** 70n);
  });
});

describe('keys', () => {
  test('long keys are shortened to a readable head plus a hash, and still work', async () => {
    const cache = make();
    const long = `user:${'x'.repeat(5_000)}`;
    const other = `user:${'x'.repeat(4_999)}y`;
    await cache.set(long, 1);
    await cache.set(other, 2);
    expect(await cache.get(long)).toBe(1);
    expect(await cache.get(other)).toBe(2);
    const keys: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: `${prefix}*` })) keys.push(...batch);
    expect(keys).toHaveLength(2);
    for (const k of keys) expect(Buffer.byteLength(k)).toBeLessThan(200);
    // The readable head keeps prefix invalidation working.
    await cache.clear('user:');
    expect(await cache.get(long)).toBeUndefined();
  });

  test("a long key's entry cannot be reached through its shortened form", async () => {
    const cache = make();
    const long = `user:${'x'.repeat(5_000)}`;
    const shortened = `${long.slice(0, 64)}#${createHash('sha256').update(long).digest('base64url')}`;
    await cache.set(long, 'owner');
    expect(await cache.get(shortened)).toBeUndefined();
    await cache.set(shortened, 'forged');
    expect(await cache.get(long)).toBe('owner');
    expect(await cache.get(shortened)).toBe('forged');
  });

  test('keys are namespaced by prefix and cache name', async () => {
    const a = make({ name: 'a' });
    const b = make({ name: 'b' });
    await a.set('same', 'from a');
    await b.set('same', 'from b');
    expect(await a.get('same')).toBe('from a');
    expect(await b.get('same')).toBe('from b');
    expect(await redis.exists([`${prefix}a:e:{same}`, `${prefix}b:e:{same}`])).toBe(2);
  });

  test('keys with braces, spaces, unicode and glob characters round-trip', async () => {
    const cache = make();
    const ks = ['a{b}c', '}{', 'with space', 'ü-日本', 'a*b?[c]', ''];
    for (const [i, k] of ks.entries()) await cache.set(k, i);
    for (const [i, k] of ks.entries()) expect(await cache.get(k)).toBe(i);
  });
});

describe('consistency between the tiers and with get()', () => {
  it('mset with one key given twice (tagged, then untagged): last write wins in both L1 and Redis', async () => {
    const cache = make({ l1: true, pubsub: false });
    const direct = make(); // no L1: reads Redis
    await cache.mset([
      { key: 'k', value: 'first', tags: ['t'] },
      { key: 'k', value: 'second' },
    ]);
    expect(await cache.get('k')).toBe('second'); // L1
    expect(await direct.get('k')).toBe('second'); // Redis
    // The last write was untagged: invalidating the first write's tag does not drop it.
    await direct.invalidateTags(['t']);
    expect(await direct.get('k')).toBe('second');
  });

  it('has() on a key holding another Redis type counts it as corrupt and deletes it, as get() does', async () => {
    const cache = make();
    await redis.lPush(entryKey('l'), 'x');
    expect(await cache.has('l')).toBe(false);
    expect(cache.stats().corrupt).toBe(1);
    expect(await redis.exists(entryKey('l'))).toBe(0);
    expect(cache.stats().redis.breaker).toBe('closed');
    // A foreign string entry too.
    await redis.set(entryKey('f'), 'hello from another app');
    expect(await cache.has('f')).toBe(false);
    expect(cache.stats().corrupt).toBe(2);
    expect(await redis.exists(entryKey('f'))).toBe(0);
  });

  it('loads and reads still running when close() is called do not refill L1', async () => {
    const cache = make({ l1: true, pubsub: false });
    const writer = make();
    await writer.set('r', 'from redis');
    const g = gate<string>();
    const loading = cache.getOrSet('g', () => g.promise);
    const reading = cache.get('r'); // its GET is in flight
    await new Promise((r) => setImmediate(r));
    await cache.close();
    g.open('loaded');
    expect(await loading).toBe('loaded');
    expect(await reading).toBe('from redis');
    expect(cache.stats().l1?.entries).toBe(0);
  });
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
    const raw = (await redis.keys(`${prefix}safe:e:*`))[0] as string;
    const shortened = raw.slice(`${prefix}safe:e:{`.length, -1);
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
