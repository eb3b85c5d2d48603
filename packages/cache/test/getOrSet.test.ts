import { type Cache, createCache } from '@mem0-stack/cache';
import { type Client, cleanup, connect, gate, sleep, uniquePrefix } from './helpers';

// The shared preset's testTimeout is a global jest option, ignored per project: set it here.
jest.setTimeout(30_000);

let redis: Client;
let prefix: string;
const caches: Cache[] = [];

function make(opts: Partial<Parameters<typeof createCache>[0]> = {}): Cache {
  const c = createCache({
    redis: redis as never,
    name: 'users',
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

describe('getOrSet: hit, miss, expiry', () => {
  test('a miss loads and stores; the next call is an L2 hit without loading', async () => {
    const cache = make();
    const loader = jest.fn(async () => ({ id: 42, name: 'Ada' }));
    expect(await cache.getOrSet('user:42', loader)).toEqual({ id: 42, name: 'Ada' });
    expect(await cache.getOrSet('user:42', loader)).toEqual({ id: 42, name: 'Ada' });
    expect(loader).toHaveBeenCalledTimes(1);
    const s = cache.stats();
    expect([s.misses, s.l2Hits, s.hitRatio]).toEqual([1, 1, 0.5]);
    // The value really is in Redis, under the namespaced, hash-tagged key.
    expect(await redis.get(`${prefix}users:e:{user:42}`)).toMatch(/^m1\|.*\{"id":42,"name":"Ada"\}$/);
  });

  test('an entry expires after its TTL and is loaded again', async () => {
    const cache = make();
    let n = 0;
    const loader = async () => ++n;
    expect(await cache.getOrSet('k', loader, { ttl: 150 })).toBe(1);
    expect(await cache.getOrSet('k', loader, { ttl: 150 })).toBe(1);
    await sleep(250);
    expect(await cache.getOrSet('k', loader, { ttl: 150 })).toBe(2);
    // Physical expiry in Redis matches the logical TTL when there is no grace window.
    const pttl = await redis.pTTL(`${prefix}users:e:{k}`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(150);
  });

  test('1,000 concurrent getOrSet of one cold key call the loader exactly once', async () => {
    const cache = make();
    const loader = jest.fn(async () => {
      await sleep(50);
      return { v: 'cold' };
    });
    const results = await Promise.all(Array.from({ length: 1000 }, () => cache.getOrSet('cold', loader)));
    expect(loader).toHaveBeenCalledTimes(1);
    expect(results.every((r) => r.v === 'cold')).toBe(true);
    expect(cache.stats().loads).toBe(1);
  });

  test('a loader error reaches every waiting caller and is not cached', async () => {
    const cache = make();
    const boom = jest.fn(async () => {
      await sleep(10);
      throw new Error('db down');
    });
    const all = await Promise.allSettled(Array.from({ length: 20 }, () => cache.getOrSet('e', boom)));
    expect(all.every((r) => r.status === 'rejected' && (r.reason as Error).message === 'db down')).toBe(true);
    expect(boom).toHaveBeenCalledTimes(1);
    expect(await cache.getOrSet('e', async () => 'ok')).toBe('ok');
  });

  test('null is a value; undefined is "not found", cached for negativeTtl only', async () => {
    const cache = make({ negativeTtl: 150 });
    const nul = jest.fn(async () => null);
    expect(await cache.getOrSet('n', nul)).toBeNull();
    expect(await cache.getOrSet('n', nul)).toBeNull();
    expect(nul).toHaveBeenCalledTimes(1);
    expect(await cache.getEntry('n')).toEqual({ value: null, negative: false, stale: false });

    const missing = jest.fn(async () => undefined);
    expect(await cache.getOrSet('u', missing)).toBeUndefined();
    expect(await cache.getOrSet('u', missing)).toBeUndefined();
    expect(missing).toHaveBeenCalledTimes(1);
    expect(await cache.getEntry('u')).toEqual({ value: undefined, negative: true, stale: false });
    expect(await cache.getEntry('absent')).toBeUndefined();
    expect(await redis.pTTL(`${prefix}users:e:{u}`)).toBeLessThanOrEqual(150);
    await sleep(200);
    expect(await cache.getOrSet('u', async () => 'now exists')).toBe('now exists');
  });

  test('jitter shortens TTLs by up to the given fraction, never lengthens them', async () => {
    const cache = make({ jitter: 0.5 });
    const ttls: number[] = [];
    for (let i = 0; i < 40; i++) {
      await cache.getOrSet(`j${i}`, async () => i, { ttl: 10_000 });
      ttls.push(await redis.pTTL(`${prefix}users:e:{j${i}}`));
    }
    expect(Math.max(...ttls)).toBeLessThanOrEqual(10_000);
    expect(Math.min(...ttls)).toBeGreaterThanOrEqual(4_900);
    // 40 draws from U(5 000, 10 000): all within 250 ms of each other would be a broken jitter.
    expect(Math.max(...ttls) - Math.min(...ttls)).toBeGreaterThan(250);
  });
});

describe('stale-while-revalidate and grace', () => {
  test('within staleWhileRevalidate the old value is served at once and refreshed in the background', async () => {
    const cache = make();
    let v = 0;
    const g = gate();
    const loader = jest.fn(async () => {
      v++;
      if (v === 2) await g.promise;
      return v;
    });
    expect(await cache.getOrSet('s', loader, { ttl: 100, staleWhileRevalidate: 10_000 })).toBe(1);
    await sleep(150);
    // Stale: answered immediately with 1 while the refresh (held by the gate) runs.
    expect(await cache.getOrSet('s', loader, { ttl: 100, staleWhileRevalidate: 10_000 })).toBe(1);
    expect(await cache.getOrSet('s', loader, { ttl: 100, staleWhileRevalidate: 10_000 })).toBe(1);
    expect(loader).toHaveBeenCalledTimes(2); // one background refresh, not one per call
    g.open();
    await sleep(50);
    expect(await cache.getOrSet('s', loader, { ttl: 100, staleWhileRevalidate: 10_000 })).toBe(2);
    expect(cache.stats().stale).toBe(2);
  });

  test('when the loader fails inside the grace window the old value is served, counted, with backoff', async () => {
    const cache = make({ graceBackoff: 10_000 });
    expect(await cache.getOrSet('g', async () => 'v1', { ttl: 100, grace: 60_000 })).toBe('v1');
    await sleep(150);
    const failing = jest.fn(async () => {
      throw new Error('db down');
    });
    expect(await cache.getOrSet('g', failing, { ttl: 100, grace: 60_000 })).toBe('v1');
    expect(await cache.getOrSet('g', failing, { ttl: 100, grace: 60_000 })).toBe('v1');
    // Backoff: the second call did not hammer the failing loader.
    expect(failing).toHaveBeenCalledTimes(1);
    const s = cache.stats();
    expect(s.stale).toBe(2);
    expect(s.loadErrors).toBe(1);
  });

  test('past the grace window a failing loader fails the call', async () => {
    const cache = make();
    await cache.getOrSet('g2', async () => 'v1', { ttl: 50, grace: 50 });
    await sleep(150);
    await expect(
      cache.getOrSet('g2', async () => {
        throw new Error('db down');
      }),
    ).rejects.toThrow('db down');
  });

  test('the loader receives the stale value when refreshing', async () => {
    const cache = make();
    await cache.getOrSet('c', async () => 1, { ttl: 50, grace: 10_000 });
    await sleep(100);
    const seen: unknown[] = [];
    await cache.getOrSet(
      'c',
      async ({ stale }) => {
        seen.push(stale);
        return 2;
      },
      { ttl: 50, grace: 10_000 },
    );
    expect(seen).toEqual([1]);
  });
});

describe('L1', () => {
  test('an L1 hit does not touch Redis', async () => {
    const cache = make({ l1: true });
    await cache.getOrSet('a', async () => 'A');
    await redis.del(`${prefix}users:e:{a}`); // gone from Redis, still in L1
    expect(await cache.getOrSet('a', async () => 'reloaded')).toBe('A');
    expect(cache.stats().l1Hits).toBe(1);
  });

  test('L1 copies live at most l1.ttl, then Redis is asked again', async () => {
    const cache = make({ l1: { ttl: 100 } });
    await cache.getOrSet('a', async () => 'A');
    await redis.del(`${prefix}users:e:{a}`);
    await sleep(150);
    expect(await cache.getOrSet('a', async () => 'reloaded')).toBe('reloaded');
  });

  test('L1 is bounded by entries (LRU order) and by bytes', async () => {
    const cache = make({ l1: { maxEntries: 3 } });
    for (const k of ['a', 'b', 'c']) await cache.getOrSet(k, async () => k);
    await cache.getOrSet('a', async () => 'x'); // a becomes most recently used
    await cache.getOrSet('d', async () => 'd'); // evicts b, the least recently used
    const l1 = cache.stats().l1;
    expect(l1?.entries).toBe(3);
    expect(l1?.evictions).toBe(1);
    await redis.del([`${prefix}users:e:{a}`, `${prefix}users:e:{b}`]);
    expect(await cache.getOrSet('a', async () => 'reloaded')).toBe('a'); // still in L1
    expect(await cache.getOrSet('b', async () => 'reloaded')).toBe('reloaded'); // was evicted

    const small = make({ name: 'small', l1: { maxBytes: 2_000 } });
    for (let i = 0; i < 10; i++) await small.getOrSet(`big${i}`, async () => 'x'.repeat(500));
    const s = small.stats().l1;
    expect(s?.bytes).toBeLessThanOrEqual(2_000);
    expect(s?.entries).toBeLessThan(10);
  });
});

describe('get / set / has / mget / mset', () => {
  test('set then get, has, mget; set(undefined) stores "not found"', async () => {
    const cache = make();
    expect(await cache.set('a', { n: 1 })).toBe(true);
    expect(await cache.get('a')).toEqual({ n: 1 });
    expect(await cache.has('a')).toBe(true);
    expect(await cache.has('zz')).toBe(false);
    expect(
      await cache.mset([
        { key: 'b', value: 2 },
        { key: 'c', value: [3] },
      ]),
    ).toBe(true);
    expect(await cache.mget(['a', 'b', 'c', 'missing'])).toEqual([{ n: 1 }, 2, [3], undefined]);
    await cache.set('nf', undefined);
    expect(await cache.getEntry('nf')).toEqual({ value: undefined, negative: true, stale: false });
  });

  test('get returns undefined past the TTL, the stale value with allowStale inside grace', async () => {
    const cache = make();
    await cache.set('a', 'old', { ttl: 50, grace: 10_000 });
    await sleep(100);
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('a', { allowStale: true })).toBe('old');
  });

  test('fractional durations (ms) are stored: Redis PX takes integers only', async () => {
    // Durations computed from config (e.g. `ttl / 3`, seconds × 1000) are often not integers.
    const cache = make({ tombstoneTtl: 60_000.5, versionTtl: 3_600_000.5, lock: { ttl: 1_000.5 } });
    expect(await cache.set('a', 1, { staleWhileRevalidate: 1_000.5 })).toBe(true);
    expect(await cache.get('a')).toBe(1);
    expect(await cache.set('b', 2, { grace: 1_000.25, tags: ['t'] })).toBe(true);
    expect(await cache.get('b')).toBe(2);
    const loader = jest.fn(async () => 'v');
    await cache.getOrSet('c', loader, { staleWhileRevalidate: 333.3, grace: 666.6 });
    await cache.getOrSet('c', loader);
    expect(loader).toHaveBeenCalledTimes(1);
    expect(await cache.delete('a')).toBe(true);
    expect(await cache.invalidateTags(['t'])).toBe(true);
    expect(await cache.clear()).toBe(true);
    expect(cache.stats().pendingInvalidations).toBe(0);
  });

  test('set replaces a value and getOrSet sees the new one', async () => {
    const cache = make();
    await cache.getOrSet('k', async () => 'v1');
    await cache.set('k', 'v2');
    expect(await cache.getOrSet('k', async () => 'v3')).toBe('v2');
  });

  test('calls after close are rejected with CACHE_CLOSED; non-string keys with CACHE_KEY_INVALID', async () => {
    const cache = make();
    await expect(cache.getOrSet(42 as unknown as string, async () => 1)).rejects.toMatchObject({
      code: 'CACHE_KEY_INVALID',
    });
    await cache.close();
    await expect(cache.getOrSet('k', async () => 1)).rejects.toMatchObject({ code: 'CACHE_CLOSED' });
  });
});

describe('configuration', () => {
  test.each([
    [{ name: 'bad name' }, /name/],
    [{ defaultTtl: 0 }, /defaultTtl/],
    [{ defaultTtl: Number.NaN }, /defaultTtl/],
    [{ prefix: 'a{b}' }, /prefix/],
    [{ jitter: 2 }, /jitter/],
    [{ redis: {} }, /redis/],
  ])('%j is rejected with CACHE_CONFIG_INVALID', (bad, msg) => {
    expect(() =>
      createCache({ redis: redis as never, name: 'ok', defaultTtl: 1000, ...(bad as object) }),
    ).toThrow(msg);
    try {
      createCache({ redis: redis as never, name: 'ok', defaultTtl: 1000, ...(bad as object) });
    } catch (err) {
      expect((err as { code: string }).code).toBe('CACHE_CONFIG_INVALID');
    }
  });
});

describe("node-redis' per-command timer", () => {
  // node-redis arms an AbortSignal.timeout for every command (5 s by default). Under the default
  // policy the cache's own, shorter timeout bounds each command, so the cache sends its commands
  // without node-redis' timer; with any other policy it must keep it.
  async function timersArmed(cache: Cache): Promise<number> {
    await cache.getOrSet('t', async () => 'v');
    const spy = jest.spyOn(AbortSignal, 'timeout');
    try {
      for (let i = 0; i < 20; i++) expect(await cache.getOrSet('t', async () => 'other')).toBe('v');
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  }

  test('default policy: L2 hits arm no node-redis timer; the client keeps its own', async () => {
    expect(await timersArmed(make())).toBe(0);
    const spy = jest.spyOn(AbortSignal, 'timeout');
    try {
      await redis.get(`${prefix}unrelated`);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  test('policy: false keeps node-redis’ timer on every command', async () => {
    expect(await timersArmed(make({ policy: false }))).toBe(20);
  });
});
