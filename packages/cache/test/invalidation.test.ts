import { type Cache, createCache } from '@mem0-stack/cache';
import { waitFor } from '@mem0-stack/testkit';
import { type Client, cleanup, connect, gate, holdReplies, sleep, uniquePrefix } from './helpers';

// The shared preset's testTimeout is a global jest option, ignored per project: set it here.
jest.setTimeout(30_000);

let redis: Client;
let prefix: string;
const caches: Cache[] = [];

function make(opts: Partial<Parameters<typeof createCache>[0]> = {}): Cache {
  const c = createCache({
    redis: redis as never,
    name: 'inv',
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

describe('invalidation by key, tag and prefix', () => {
  test('delete removes the entry; the next call loads again', async () => {
    const cache = make();
    await cache.getOrSet('a', async () => 1);
    expect(await cache.delete('a')).toBe(true);
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.getOrSet('a', async () => 2)).toBe(2);
  });

  test('invalidateTags removes every entry carrying the tag and nothing else', async () => {
    const cache = make();
    await cache.getOrSet('user:1', async () => 'u1', { tags: ['user:1', 'users'] });
    await cache.getOrSet('user:1:posts', async () => 'p1', { tags: ['user:1'] });
    await cache.getOrSet('user:2', async () => 'u2', { tags: ['user:2', 'users'] });
    await cache.set('user:3', 'u3', { tags: ['user:3'] });
    expect(await cache.invalidateTags(['user:1'])).toBe(true);
    expect(await cache.mget(['user:1', 'user:1:posts', 'user:2', 'user:3'])).toEqual([
      undefined,
      undefined,
      'u2',
      'u3',
    ]);
    await cache.invalidateTags(['users']);
    expect(await cache.get('user:2')).toBeUndefined();
    expect(await cache.get('user:3')).toBe('u3');
    expect(cache.stats().invalidations).toBe(2);
  });

  test('clear(prefix) removes matching keys with SCAN; clear() removes the whole cache only', async () => {
    const cache = make();
    const other = make({ name: 'other' });
    for (let i = 0; i < 30; i++) await cache.set(`user:${i}:x`, i);
    await cache.set('org:1', 'o');
    await cache.set('user*[weird]', 'glob chars are literal');
    await other.set('user:1:x', 'other cache');
    expect(await cache.clear('user:')).toBe(true);
    expect(await cache.get('user:5:x')).toBeUndefined();
    expect(await cache.get('org:1')).toBe('o');
    expect(await cache.get('user*[weird]')).toBe('glob chars are literal');
    expect(await other.get('user:1:x')).toBe('other cache');
    await cache.clear();
    expect(await cache.get('org:1')).toBeUndefined();
    expect(await other.get('user:1:x')).toBe('other cache');
  });
});

describe('across processes: two cache instances with L1 and pub/sub', () => {
  test('tag invalidation in one instance drops the L1 copy in the other', async () => {
    const a = make({ l1: true });
    const b = make({ l1: true });
    await Promise.all([a.ready(), b.ready()]);
    let db = 'v1';
    const loader = async () => db;
    expect(await a.getOrSet('user:7', loader, { tags: ['user:7'] })).toBe('v1');
    expect(await b.getOrSet('user:7', loader, { tags: ['user:7'] })).toBe('v1');
    expect(await b.getOrSet('user:7', loader, { tags: ['user:7'] })).toBe('v1');
    expect(b.stats().l1Hits).toBe(1);
    db = 'v2';
    await a.invalidateTags(['user:7']);
    await waitFor(async () => (await b.getOrSet('user:7', loader, { tags: ['user:7'] })) === 'v2', {
      timeoutMs: 2000,
      what: 'b to drop its L1 copy',
    });
    expect(b.stats().l1?.entries).toBe(1);
  });

  test('without the bus the other L1 keeps serving the old value (what pub/sub fixes)', async () => {
    const a = make({ l1: true });
    const b = make({ l1: { ttl: 60_000 }, pubsub: false });
    await Promise.all([a.ready(), b.ready()]);
    let db = 'v1';
    await b.getOrSet('k', async () => db, { tags: ['t'] });
    db = 'v2';
    await a.invalidateTags(['t']);
    await sleep(200);
    expect(await b.getOrSet('k', async () => db, { tags: ['t'] })).toBe('v1');
  });

  test('close() before the bus has subscribed leaves no subscriber connection behind', async () => {
    const c = createCache({ redis: redis as never, name: 'inv', defaultTtl: 60_000, prefix, l1: true });
    await c.close(); // its duplicate connection is still connecting
    await sleep(300);
    const numsub = (await redis.sendCommand(['PUBSUB', 'NUMSUB', `${prefix}inv:bus`])) as unknown[];
    expect(Number(numsub[1])).toBe(0);
  });

  test('delete, set and clear also reach the other L1', async () => {
    const a = make({ l1: true });
    const b = make({ l1: true });
    await Promise.all([a.ready(), b.ready()]);
    await b.getOrSet('x', async () => 'old');
    await b.getOrSet('p:1', async () => 'old');
    await b.getOrSet('s', async () => 'old');
    await a.delete('x');
    await a.clear('p:');
    await a.set('s', 'new');
    await waitFor(() => b.stats().l1?.entries === 0, { timeoutMs: 2000, what: 'b L1 empty' });
    expect(await b.getOrSet('s', async () => 'loader')).toBe('new');
  });
});

describe('an invalidation replayed after an outage reaches the other L1', () => {
  // Only a's policy fails (its breaker open, its link down): b keeps working from L1. When a
  // replays the invalidation, b must hear of it, or it serves the old value until its L1 TTL.
  function flaky() {
    const state = { down: false };
    const policy = {
      execute: <T>(fn: () => Promise<T>) => (state.down ? Promise.reject(new Error('down')) : fn()),
    };
    return { state, a: make({ l1: true, policy: policy as never }) };
  }

  test.each([
    ['tag', (c: Cache) => c.invalidateTags(['t'])],
    ['key', (c: Cache) => c.delete('k')],
    ['prefix', (c: Cache) => c.clear('k')],
  ] as const)('by %s', async (_kind, invalidate) => {
    const { state, a } = flaky();
    const b = make({ l1: { ttl: 60_000 } });
    await Promise.all([a.ready(), b.ready()]);
    let db = 'v1';
    const loader = async () => db;
    expect(await b.getOrSet('k', loader, { tags: ['t'] })).toBe('v1');
    state.down = true;
    db = 'v2';
    expect(await invalidate(a)).toBe(false);
    state.down = false;
    await a.getOrSet('other', loader); // Redis answers again: the replay starts
    await waitFor(() => a.stats().pendingInvalidations === 0, { what: 'replay' });
    await waitFor(async () => (await b.getOrSet('k', loader, { tags: ['t'] })) === 'v2', {
      timeoutMs: 2000,
      what: 'b to drop its L1 copy',
    });
  });
});

describe('a bus message that overtakes a reply never leaves an old value in L1', () => {
  // Instance a's reply is held after Redis has run its command; meanwhile b writes a newer
  // value and its bus message reaches a first. a must then not copy what its reply carries
  // into L1, or a serves it until the L1 TTL ends while Redis holds b's value.
  async function pair() {
    const slow = holdReplies(redis);
    const a = make({ redis: slow.client as never, l1: { ttl: 60_000 } });
    const b = make({ l1: { ttl: 60_000 } });
    await Promise.all([a.ready(), b.ready()]);
    return { slow, a, b };
  }
  /** Holds a's replies, starts `op` on a, and waits until Redis has answered it. */
  async function heldOp<T>(slow: ReturnType<typeof holdReplies>, op: () => Promise<T>) {
    slow.hold();
    const pending = op();
    await waitFor(() => slow.held > 0, { what: "a's reply" });
    return { pending }; // wrapped: an async function returning a promise would wait for it
  }

  test('get: a read answered before a newer set elsewhere', async () => {
    const { slow, a, b } = await pair();
    await b.set('k', 'old');
    const { pending } = await heldOp(slow, () => a.get('k'));
    await b.set('k', 'new');
    await sleep(50); // b's bus message reaches a
    slow.release();
    expect(await pending).toBe('old'); // true when Redis answered
    expect(await a.get('k')).toBe('new');
    expect(await b.get('k')).toBe('new');
  });

  test('set: a write overtaken by a newer set elsewhere', async () => {
    const { slow, a, b } = await pair();
    const { pending } = await heldOp(slow, () => a.set('k', 'old'));
    await b.set('k', 'new');
    await sleep(50);
    slow.release();
    expect(await pending).toBe(true);
    expect(await a.get('k')).toBe('new');
  });

  test('writeThrough: a refresh overtaken by a newer write-through elsewhere', async () => {
    const { slow, a, b } = await pair();
    const opts = { tags: ['list'] };
    await b.getOrSet('list', async () => [1], opts);
    const append = (n: number) => ({
      refresh: [{ key: 'list', ...opts, update: (v: number[]) => [...v, n] }],
    });
    // a's snapshot is answered at once; the reply of its commit is the one held.
    const pending = a.writeThrough(async () => {
      slow.hold();
      return 2;
    }, append(2));
    await waitFor(() => slow.held > 0, { what: "a's commit reply" });
    await b.writeThrough(async () => 3, append(3));
    await sleep(50);
    slow.release();
    expect(await pending).toBe(2);
    expect(await b.get('list')).toEqual([1, 2, 3]);
    expect(await a.get('list')).toEqual([1, 2, 3]);
  });
});

describe('invalidation racing a slow loader never leaves stale data', () => {
  // The loader reads the "database" before the write and returns after the invalidation. Without
  // versioning its late write would put the old value back for a whole TTL.
  async function race(invalidate: (c: Cache) => Promise<unknown>, opts: { tags?: string[] } = {}) {
    const cache = make({ l1: true });
    const other = make({ l1: true });
    await Promise.all([cache.ready(), other.ready()]);
    let db = 'old';
    const g = gate();
    const started = gate();
    const slow = cache.getOrSet(
      'user:1',
      async () => {
        const seen = db;
        started.open();
        await g.promise;
        return seen;
      },
      opts,
    );
    await started.promise; // the loader has read 'old'
    db = 'new';
    await invalidate(other);
    g.open();
    expect(await slow).toBe('old'); // that caller asked before the write: fine
    const raw = await redis.get(`${prefix}inv:e:{user:1}`);
    expect(raw === null || !raw.includes('"old"')).toBe(true);
    expect(await cache.getOrSet('user:1', async () => db, opts)).toBe('new');
    expect(await other.getOrSet('user:1', async () => db, opts)).toBe('new');
    expect(cache.stats().writesRefused).toBe(1);
  }

  test('by tag', () => race((c) => c.invalidateTags(['user:1']), { tags: ['user:1'] }));
  test('by a tag derived from the value (tagsOf)', () =>
    race((c) => c.invalidateTags(['row:old']), { tagsOf: (v: string) => [`row:${v}`] } as never));
  test('by key', () => race((c) => c.delete('user:1')));
  test('by prefix', () => race((c) => c.clear('user:')));

  test('randomised: 150 rounds of loads and writes+invalidations on two instances end consistent', async () => {
    const a = make({ l1: true, lock: false });
    const b = make({ l1: true, lock: false });
    await Promise.all([a.ready(), b.ready()]);
    let db = 0;
    const loader = async () => {
      const seen = db;
      await sleep(Math.random() * 8);
      return seen;
    };
    const opts = { tags: ['row'] };
    for (let round = 0; round < 150; round++) {
      const writer = (async () => {
        await sleep(Math.random() * 6);
        db++;
        await (Math.random() < 0.5 ? a : b).invalidateTags(['row']);
      })();
      await Promise.all([
        a.getOrSet('row', loader, opts),
        b.getOrSet('row', loader, opts),
        sleep(Math.random() * 4).then(() => a.getOrSet('row', loader, opts)),
        writer,
      ]);
      // Once writes and invalidations settle, both instances must see the database's value.
      await waitFor(
        async () =>
          (await a.getOrSet('row', loader, opts)) === db && (await b.getOrSet('row', loader, opts)) === db,
        { timeoutMs: 2000, intervalMs: 5, what: `round ${round}: caches agree with db=${db}` },
      );
    }
  });
});

describe('tags derived from the value (tagsOf)', () => {
  type Page = { items: Array<{ id: number; v: string }> };
  const rows = (p: Page) => p.items.map((r) => `row:${r.id}`);

  test('invalidating a derived tag drops exactly the entries whose value holds that row', async () => {
    const cache = make();
    let loads = 0;
    const page = (ids: number[]) => async (): Promise<Page> => {
      loads++;
      return { items: ids.map((id) => ({ id, v: `v${id}` })) };
    };
    await cache.getOrSet('list:a', page([1, 2]), { tags: ['lists'], tagsOf: rows });
    await cache.getOrSet('list:b', page([3]), { tags: ['lists'], tagsOf: rows });
    expect(loads).toBe(2);
    await cache.invalidateTags(['row:2']);
    expect(await cache.get('list:a')).toBeUndefined();
    expect(await cache.get<Page>('list:b')).toEqual({ items: [{ id: 3, v: 'v3' }] });
    // The static tags still work as before.
    await cache.invalidateTags(['lists']);
    expect(await cache.get('list:b')).toBeUndefined();
  });

  test("a derived-tag invalidation in one instance drops the other's L1 copy", async () => {
    const a = make({ l1: true });
    const b = make({ l1: true });
    await Promise.all([a.ready(), b.ready()]);
    let v = 'v1';
    const load = async (): Promise<Page> => ({ items: [{ id: 9, v }] });
    await b.getOrSet('list', load, { tagsOf: rows });
    await b.getOrSet('list', load, { tagsOf: rows });
    expect(b.stats().l1Hits).toBe(1);
    v = 'v2';
    await a.invalidateTags(['row:9']);
    await waitFor(async () => (await b.getOrSet('list', load, { tagsOf: rows })).items[0]?.v === 'v2', {
      timeoutMs: 2000,
      what: 'b to drop its L1 copy',
    });
  });

  test('an unrelated invalidation during the load does not refuse the write', async () => {
    const cache = make();
    const g = gate();
    const started = gate();
    const slow = cache.getOrSet(
      'list',
      async (): Promise<Page> => {
        started.open();
        await g.promise;
        return { items: [{ id: 1, v: 'a' }] };
      },
      { tagsOf: rows },
    );
    await started.promise;
    await cache.invalidateTags(['row:2']);
    g.open();
    await slow;
    expect(cache.stats().writesRefused).toBe(0);
    expect(await cache.getOrSet('list', async () => ({ items: [] }) as Page, { tagsOf: rows })).toEqual({
      items: [{ id: 1, v: 'a' }],
    });
  });

  test('tagsOf throwing: the value is returned, not cached, and nothing throws', async () => {
    const cache = make({ logger: { warn: () => {}, debug: () => {} } });
    let loads = 0;
    const opts = {
      tagsOf: (): string[] => {
        throw new Error('boom');
      },
    };
    expect(await cache.getOrSet('k', async () => ++loads, opts)).toBe(1);
    expect(await cache.getOrSet('k', async () => ++loads, opts)).toBe(2);
  });
});
