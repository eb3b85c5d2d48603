import { type Cache, createCache } from '@mem0-stack/cache';
import { presets } from '@mem0-stack/resilience';
import { type RedisServer, startRedisServer, waitFor } from '@mem0-stack/testkit';
import { type Client, connect, sleep } from './helpers';

let server: RedisServer;
let redis: Client;
let admin: Client;
const caches: Cache[] = [];

function make(opts: Partial<Parameters<typeof createCache>[0]> = {}): Cache {
  const c = createCache({
    redis: redis as never,
    name: 'deg',
    defaultTtl: 60_000,
    jitter: 0,
    commandTimeout: 100,
    logger: { warn: () => {}, debug: () => {} },
    ...opts,
  });
  caches.push(c);
  return c;
}

beforeAll(async () => {
  server = await startRedisServer();
  redis = await connect(server.url, { socket: { reconnectStrategy: () => 50 } });
  admin = await connect(server.url, { socket: { reconnectStrategy: () => 50 } });
});
afterEach(async () => {
  await Promise.all(caches.splice(0).map((c) => c.close()));
});
jest.setTimeout(60_000);

afterAll(async () => {
  redis.destroy();
  admin.destroy();
  await server.stop();
});

/** Callers hammering 20 keys until `stop`; every result is checked against the "database". */
function workload(cache: Cache, stop: { done: boolean }) {
  const db = new Map<string, string>();
  for (let i = 0; i < 20; i++) db.set(`k${i}`, `v${i}`);
  const r = { calls: 0, failed: 0, wrong: 0, loads: 0 };
  const worker = async () => {
    while (!stop.done) {
      const k = `k${Math.floor(Math.random() * 20)}`;
      try {
        const v = await cache.getOrSet(k, async () => {
          r.loads++;
          return db.get(k);
        });
        if (v !== db.get(k)) r.wrong++;
      } catch {
        r.failed++;
      }
      r.calls++;
      await sleep(1);
    }
  };
  return { r, done: Promise.all(Array.from({ length: 20 }, worker)) };
}

test('Redis stopped mid-run: 0 failed calls, the loader answers, the breaker recovers by itself', async () => {
  // The breaker's own transitions: the state stats() reports reads "disconnected" while the
  // client is down, which hides "open", and polling can miss an open that lasts milliseconds.
  const policy = presets.redis({ name: 'cache.deg', retry: false, timeoutMs: 100 });
  const transitions: string[] = [];
  policy.breaker?.onStateChange((s) => transitions.push(s));
  const cache = make({ policy });
  const stop = { done: false };
  const w = workload(cache, stop);
  const states = new Set<string>();
  const poll = setInterval(() => states.add(cache.stats().redis.breaker), 10);
  let loadsDuringOutage = 0;
  try {
    await waitFor(() => cache.stats().l2Hits > 200, { timeoutMs: 10_000, what: 'warm cache' });

    await server.stop();
    const errorsBefore = cache.stats().errors;
    const loadsBefore = w.r.loads;
    await waitFor(() => cache.stats().errors > errorsBefore + 300, {
      timeoutMs: 10_000,
      what: 'calls during the outage',
    });
    loadsDuringOutage = w.r.loads - loadsBefore;

    await server.start();
    await waitFor(() => redis.isReady, { timeoutMs: 10_000, what: 'client reconnect' });
    const hitsAfter = cache.stats().l2Hits;
    await waitFor(() => cache.stats().l2Hits > hitsAfter + 200 && cache.stats().redis.breaker === 'closed', {
      timeoutMs: 15_000,
      what: 'hits again with a closed breaker',
    });
  } finally {
    clearInterval(poll);
    stop.done = true;
    await w.done;
  }

  // While the client is down calls skip Redis without touching the breaker; whether the few
  // commands in flight when Redis died were enough to open it depends on the machine's speed
  // (the CLIENT PAUSE test below opens it for sure). Either way it must end closed by itself.
  expect(states).toContain('disconnected');
  expect(transitions.at(-1) ?? 'closed').toBe('closed');
  expect(w.r.failed).toBe(0);
  expect(w.r.wrong).toBe(0);
  expect(w.r.calls).toBeGreaterThan(1000);
  expect(loadsDuringOutage).toBeGreaterThan(20); // the outage really went to the loader
  expect(cache.stats().redis).toEqual({ ready: true, breaker: 'closed' });
});

test('Redis slow (CLIENT PAUSE): calls time out to the loader, the breaker opens, then closes', async () => {
  const states: string[] = [];
  const cache = make({ name: 'slow' });
  const stop = { done: false };
  const w = workload(cache, stop);
  const poll = setInterval(() => states.push(cache.stats().redis.breaker), 20);
  try {
    await waitFor(() => cache.stats().l2Hits > 100, { timeoutMs: 10_000, what: 'warm cache' });
    await admin.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
    await sleep(1600);
    const hitsAfter = cache.stats().l2Hits;
    await waitFor(() => cache.stats().l2Hits > hitsAfter + 100 && cache.stats().redis.breaker === 'closed', {
      timeoutMs: 15_000,
      what: 'recovery after the pause',
    });
  } finally {
    clearInterval(poll);
    stop.done = true;
    await w.done;
  }
  expect(w.r.failed).toBe(0);
  expect(w.r.wrong).toBe(0);
  expect(states).toContain('open');
  expect(cache.stats().errors).toBeGreaterThan(0);
});

test('an invalidation made while Redis is unreachable is replayed; stale entries are not served meanwhile', async () => {
  const cache = make({ name: 'pending' });
  let db = 'old';
  await cache.getOrSet('user:1', async () => db, { tags: ['user:1'] });
  // Redis stops answering (paused), so the invalidation cannot reach it.
  await admin.sendCommand(['CLIENT', 'PAUSE', '800', 'ALL']);
  db = 'new';
  expect(await cache.invalidateTags(['user:1'])).toBe(false);
  expect(cache.stats().pendingInvalidations).toBe(1);
  await sleep(900);
  // The old entry is still in Redis, yet never served.
  await waitFor(() => cache.stats().redis.breaker !== 'open', { timeoutMs: 5_000, what: 'breaker probe' });
  expect(await cache.getOrSet('user:1', async () => db, { tags: ['user:1'] })).toBe('new');
  await waitFor(() => cache.stats().pendingInvalidations === 0, { timeoutMs: 5_000, what: 'replay' });
  expect(await cache.getOrSet('user:1', async () => 'loader again', { tags: ['user:1'] })).toBe('new');
});

test('a client that is not connected: every call goes to the loader without waiting', async () => {
  const { createClient } = await import('redis');
  const never = createClient({ url: 'redis://127.0.0.1:1' });
  const cache = createCache({
    redis: never as never,
    name: 'nc',
    defaultTtl: 1000,
    logger: { warn: () => {}, debug: () => {} },
  });
  caches.push(cache);
  const t = Date.now();
  for (let i = 0; i < 100; i++) expect(await cache.getOrSet('k', async () => i)).toBe(i);
  expect(Date.now() - t).toBeLessThan(2_000); // wide bound: 100 calls never wait on Redis
  // Single-flight holds while degraded: concurrent callers of one key share one loader call.
  const loader = jest.fn(async () => {
    await sleep(20);
    return 'shared';
  });
  const all = await Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('hot', loader)));
  expect(all.every((v) => v === 'shared')).toBe(true);
  expect(loader).toHaveBeenCalledTimes(1);
  expect(await cache.set('k', 1)).toBe(false);
  expect(await cache.get('k')).toBeUndefined();
  expect(cache.stats().errors).toBe(201);
});

test('created while Redis is down: the loader answers (L1 keeps its results), then Redis takes over', async () => {
  await server.stop();
  const { createClient } = await import('redis');
  const late = createClient({ url: server.url, socket: { reconnectStrategy: () => 50 } });
  late.on('error', () => {});
  const connecting = late.connect().catch(() => undefined);
  const cache = createCache({
    redis: late as never,
    name: 'late',
    defaultTtl: 60_000,
    l1: { ttl: 200 },
    logger: { warn: () => {}, debug: () => {} },
  });
  caches.push(cache);
  try {
    let loads = 0;
    const loader = async () => ++loads;
    expect(await cache.getOrSet('k', loader)).toBe(1);
    expect(await cache.getOrSet('k', loader)).toBe(1); // L1 copy of the loader's result
    expect(cache.stats()).toMatchObject({ errors: 1, l1Hits: 1 });
    await server.start();
    await connecting;
    await waitFor(() => late.isReady, { timeoutMs: 10_000, what: 'late client connected' });
    await cache.ready();
    await sleep(250); // the L1 copy expires
    expect(await cache.getOrSet('k', loader)).toBe(2); // a real miss, now written to Redis
    expect(await late.exists('cache:late:e:{k}')).toBe(1);
  } finally {
    late.destroy();
  }
});
