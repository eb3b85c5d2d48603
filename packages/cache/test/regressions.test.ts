import { type Cache, createCache } from '@mem0-stack/cache';
import { type Client, cleanup, connect, gate, uniquePrefix } from './helpers';

// The shared preset's testTimeout is a global jest option, ignored per project: set it here.
jest.setTimeout(30_000);

let redis: Client;
let prefix: string;
const caches: Cache[] = [];
const logger = { warn: () => {}, debug: () => {} };

function make(opts: Partial<Parameters<typeof createCache>[0]> = {}): Cache {
  const c = createCache({
    redis: redis as never,
    name: 'reg',
    defaultTtl: 60_000,
    prefix,
    jitter: 0,
    logger,
    ...opts,
  });
  caches.push(c);
  return c;
}
const entryKey = (k: string) => `${prefix}reg:e:{${k}}`;

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

test('mset with one key given twice (tagged, then untagged): last write wins in both L1 and Redis', async () => {
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

test('has() on a key holding another Redis type counts it as corrupt and deletes it, as get() does', async () => {
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

test('loads and reads still running when close() is called do not refill L1', async () => {
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
