import { type Cache, createCache } from '@mem0-stack/cache';
import { type RedisServer, startRedisServer, waitFor } from '@mem0-stack/testkit';
import { type Client, connect, sleep } from './helpers';

// Under the OTel preload every Redis command is a client span, and each one is a round of work
// for Redis: these tests count the commands a miss and an invalidation send, read with MONITOR
// on a redis-server of their own (MONITOR sees every client of a server).
jest.setTimeout(30_000);

let server: RedisServer;
let redis: Client;
let monitor: Client;
let addr: string;
const lines: string[] = [];
const caches: Cache[] = [];
let marks = 0;

beforeAll(async () => {
  server = await startRedisServer();
  redis = await connect(server.url);
  monitor = await connect(server.url);
  addr = /addr=(\S+)/.exec(String(await redis.sendCommand(['CLIENT', 'INFO'])))?.[1] ?? '';
  expect(addr).not.toBe('');
  await monitor.monitor((line) => lines.push(line));
});
afterAll(async () => {
  await Promise.all(caches.map((c) => c.close()));
  redis.destroy();
  monitor.destroy();
  await server.stop();
});

function make(opts: Partial<Parameters<typeof createCache>[0]> = {}): Cache {
  const c = createCache({ redis: redis as never, name: 'cmd', defaultTtl: 60_000, jitter: 0, ...opts });
  caches.push(c);
  return c;
}

/** The commands `fn` sent on the cache's connection, in order, and those its scripts ran inside Redis. */
async function commandsOf(fn: () => Promise<unknown>): Promise<{ sent: string[]; inScripts: string[] }> {
  // MONITOR lines arrive asynchronously: markers sent on the cache's connection bound the window.
  const mark = async () => {
    const m = `mark-${marks++}`;
    await redis.sendCommand(['ECHO', m]);
    await waitFor(() => lines.some((l) => l.includes(m)), { timeoutMs: 5_000, what: 'monitor marker' });
    return lines.findIndex((l) => l.includes(m));
  };
  const from = await mark();
  await fn();
  // Background commands (an unlock) leave within a tick or two.
  await sleep(50);
  const upTo = await mark();
  const window = lines.slice(from + 1, upTo);
  const name = (l: string) => /\] "([A-Za-z]+)"/.exec(l)?.[1]?.toUpperCase() ?? '?';
  return {
    sent: window.filter((l) => l.includes(`[0 ${addr}]`)).map(name),
    inScripts: window.filter((l) => l.includes('[0 lua]')).map(name),
  };
}

/** Runs a miss, a failed load and an invalidation first, so the scripts are loaded (no NOSCRIPT round). */
async function warm(cache: Cache): Promise<void> {
  await cache.getOrSet('warm', async () => 1, { tags: ['warm'], tagsOf: () => ['warm:row'] });
  await cache
    .getOrSet('warm:fail', async () => {
      throw new Error('no value');
    })
    .catch(() => undefined);
  await cache.invalidateTags(['warm']);
}

test('a miss sends GET + one snapshot script + one write script (which also releases the lock)', async () => {
  const cache = make();
  await warm(cache);
  const miss = await commandsOf(() =>
    cache.getOrSet('user:1', async () => ({ id: 1 }), { tags: ['user:1'] }),
  );
  expect(miss.sent).toEqual(['GET', 'EVALSHA', 'EVALSHA']);
  // Inside: the entry re-read, the lock, the epoch and the tag's version; then the write's checks,
  // the write, its tag registration and the unlock.
  expect(miss.inScripts.filter((c) => c === 'SET')).toHaveLength(2); // lock + entry
  expect(miss.inScripts.filter((c) => c === 'DEL')).toHaveLength(1); // unlock
  expect(await cache.getOrSet('user:1', async () => ({ id: 2 }))).toEqual({ id: 1 });
  expect(await redis.keys('cache:cmd:l:*')).toEqual([]); // the lock is released

  // Derived tags need the server clock: read inside the same snapshot script.
  const derived = await commandsOf(() =>
    cache.getOrSet('list:1', async () => [7], {
      tags: ['lists'],
      tagsOf: (ids: number[]) => ids.map(String),
    }),
  );
  expect(derived.sent).toEqual(['GET', 'EVALSHA', 'EVALSHA']);
  expect(derived.inScripts).toContain('TIME');

  // Without the lock: no SET NX, and nothing to release.
  const noLock = await commandsOf(() => cache.getOrSet('user:2', async () => 2, { lock: false }));
  expect(noLock.sent).toEqual(['GET', 'EVALSHA', 'EVALSHA']);
  expect(noLock.inScripts.filter((c) => c === 'SET')).toHaveLength(1);
});

test('a hit is one GET; a load that does not write still releases its lock (separate UNLOCK)', async () => {
  const cache = make({ maxValueBytes: 100 });
  await warm(cache);
  await cache.getOrSet('h', async () => 'v');
  expect((await commandsOf(() => cache.getOrSet('h', async () => 'other'))).sent).toEqual(['GET']);
  // Too large to cache: no write, so the lock goes back with its own script.
  const big = await commandsOf(() => cache.getOrSet('big', async () => 'x'.repeat(200)));
  expect(big.sent).toEqual(['GET', 'EVALSHA', 'EVALSHA']);
  expect(await redis.keys('cache:cmd:l:*')).toEqual([]);
});

test('an invalidation is one script: new versions, members unlinked and the bus message published', async () => {
  const cache = make();
  const other = make({ l1: true });
  await other.ready();
  await warm(cache);
  await cache.getOrSet('a', async () => 'a', { tags: ['t1'] });
  await cache.getOrSet('b', async () => 'b', { tags: ['t1', 't2'] });
  await other.getOrSet('b', async () => 'b', { tags: ['t1', 't2'] }); // an L1 copy in the other instance
  const inv = await commandsOf(() => cache.invalidateTags(['t1', 't2']));
  expect(inv.sent).toEqual(['EVALSHA']);
  expect(inv.inScripts).toEqual(expect.arrayContaining(['UNLINK', 'PUBLISH']));
  expect(await redis.exists(['cache:cmd:e:{a}', 'cache:cmd:e:{b}'])).toBe(0);
  // The message reached the other instance: its L1 copy is gone, so it reads Redis again.
  await waitFor(() => other.stats().l1?.entries === 0, { timeoutMs: 2_000, what: 'L1 copy dropped' });
  expect(await other.getOrSet('b', async () => 'b2', { tags: ['t1'] })).toBe('b2');

  // pubsub: false publishes nothing.
  const quiet = make({ name: 'quiet', pubsub: false });
  await warm(quiet);
  await quiet.getOrSet('a', async () => 'a', { tags: ['t1'] });
  const q = await commandsOf(() => quiet.invalidateTags(['t1']));
  expect(q.sent).toEqual(['EVALSHA']);
  expect(q.inScripts).not.toContain('PUBLISH');
  expect(q.inScripts).toContain('UNLINK');
});

test('after SCRIPT FLUSH each script is sent once with EVAL (NOSCRIPT), then EVALSHA again', async () => {
  const cache = make({ name: 'flush' });
  await warm(cache);
  await redis.sendCommand(['SCRIPT', 'FLUSH']);
  const first = await commandsOf(() => cache.getOrSet('k', async () => 1, { tags: ['t'] }));
  expect(first.sent).toEqual(['GET', 'EVALSHA', 'EVAL', 'EVALSHA', 'EVAL']);
  const inv = await commandsOf(() => cache.invalidateTags(['t']));
  expect(inv.sent).toEqual(['EVALSHA', 'EVAL']);
  expect(await cache.get('k')).toBeUndefined();
  const again = await commandsOf(() => cache.getOrSet('k', async () => 2, { tags: ['t'] }));
  expect(again.sent).toEqual(['GET', 'EVALSHA', 'EVALSHA']);
  expect(await cache.get('k')).toBe(2);
});

test('a writeThrough sends two scripts: its snapshot before the write, its commit after', async () => {
  const cache = make({ name: 'through' });
  const opts = {
    invalidate: ['lists'],
    refresh: [{ key: 'page', tags: ['lists'], update: (l: number[], r: number) => [r, ...l] }],
    set: [{ key: 'item', tags: ['items'], value: (r: number) => r }],
  };
  await cache.writeThrough(async () => 0, opts); // loads the scripts
  await cache.getOrSet('page', async () => [1], { tags: ['lists'] });
  const wt = await commandsOf(() => cache.writeThrough(async () => 2, opts));
  expect(wt.sent).toEqual(['EVALSHA', 'EVALSHA']);
  expect(wt.inScripts).toContain('PUBLISH');
  expect(await cache.get('page')).toEqual([2, 1]);
  expect(await cache.get('item')).toBe(2);
});
