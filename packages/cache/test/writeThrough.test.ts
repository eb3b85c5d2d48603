import { type Cache, createCache } from '@mem0-stack/cache';
import { type RedisServer, startRedisServer, waitFor } from '@mem0-stack/testkit';
import { type Client, cleanup, connect, gate, sleep, uniquePrefix } from './helpers';

// The shared preset's testTimeout is a global jest option, ignored per project: set it here.
jest.setTimeout(60_000);

let redis: Client;
let prefix: string;
const caches: Cache[] = [];
const warnings: string[] = [];
const logger = { warn: (m: string) => warnings.push(m), debug: () => {} };

function make(opts: Partial<Parameters<typeof createCache>[0]> = {}): Cache {
  const c = createCache({
    redis: redis as never,
    name: 'wt',
    defaultTtl: 60_000,
    prefix,
    jitter: 0,
    logger,
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
  warnings.length = 0;
});
afterEach(async () => {
  await Promise.all(caches.splice(0).map((c) => c.close()));
  await cleanup(redis, prefix);
});
afterAll(async () => {
  await redis.quit();
});

// A small "database": rows of users, listed newest first by (at, id) in pages of LIMIT, with a
// flag telling whether more rows follow (the memory service's limit + 1 trick).
type Row = { id: string; user: string; at: number; v: string };
type Page = { items: Row[]; more: boolean };
const LIMIT = 3;
const newestFirst = (a: Row, b: Row) => b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

function createDb() {
  const rows = new Map<string, Row>();
  let clock = 0;
  let seq = 0;
  return {
    rows,
    /** Like now() in an INSERT: the sort key is taken when the write starts, not when it commits. */
    stamp: () => ++clock,
    newId: () => `r${(++seq).toString().padStart(4, '0')}`,
    page(user: string): Page {
      const mine = [...rows.values()].filter((r) => r.user === user).sort(newestFirst);
      return { items: mine.slice(0, LIMIT).map((r) => ({ ...r })), more: mine.length > LIMIT };
    },
    row: (id: string): Row | undefined => {
      const r = rows.get(id);
      return r && { ...r };
    },
  };
}

/** The first page once `row` is inserted: at its sort position, trimmed, `more` recomputed. */
function withNew(page: Page, row: Row): Page | undefined {
  if (page.items.some((r) => r.id === row.id)) return undefined;
  const all = [...page.items, row].sort(newestFirst);
  return { items: all.slice(0, LIMIT), more: page.more || all.length > LIMIT };
}

/** withNew made idempotent, as `retry` requires: a page already holding the row is kept as it is. */
function withNewIdempotent(page: Page, row: Row): Page | undefined {
  return page.items.some((r) => r.id === row.id) ? page : withNew(page, row);
}

const listTags = (u: string) => [`u:${u}`];
const rowTags = (p: Page) => p.items.map((r) => `r:${r.id}`);
const pageOpts = (u: string) => ({ tags: listTags(u), tagsOf: rowTags });
const rowOpts = (id: string) => ({ tags: [`r:${id}`] });

/** POST: insert a row, keep the user's first page fresh, write the row through. */
function insert(
  cache: Cache,
  db: ReturnType<typeof createDb>,
  user: string,
  v: string,
  hold?: Promise<void>,
  o: { retry?: boolean; afterWrite?: () => Promise<void> } = {},
) {
  const at = db.stamp();
  const id = db.newId();
  const update = o.retry ? withNewIdempotent : withNew;
  return cache.writeThrough(
    async () => {
      await hold;
      const row = { id, user, at, v };
      db.rows.set(id, row);
      await o.afterWrite?.();
      return { ...row };
    },
    {
      invalidate: listTags(user),
      refresh: [
        {
          key: `list:${user}`,
          ...pageOpts(user),
          update: (p: Page, r: Row) => update(p, r),
          ...(o.retry ? { retry: true } : {}),
        },
      ],
      set: [{ key: `row:${id}`, ...rowOpts(id), value: (r: Row) => r }],
    },
  );
}

/** PATCH: change a row, write it through; the pages holding it are dropped (their r:<id> tag). */
function update(cache: Cache, db: ReturnType<typeof createDb>, id: string, v: string, hold?: Promise<void>) {
  return cache.writeThrough(
    async () => {
      const r = db.rows.get(id);
      if (r) r.v = v;
      const returning = r && { ...r };
      await hold;
      return returning;
    },
    {
      invalidate: [`r:${id}`],
      set: [{ key: `row:${id}`, ...rowOpts(id), value: (r: Row | undefined) => r }],
    },
  );
}

describe('writeThrough: the happy path', () => {
  test('a new row keeps the cached first page fresh (a hit equal to the database) and is written through', async () => {
    const db = createDb();
    const cache = make();
    const other = make({ name: 'wt' });
    for (const v of ['a', 'b', 'c', 'd'])
      db.rows.set(`x${v}`, { id: `x${v}`, user: 'u1', at: db.stamp(), v });
    const loads = jest.fn(async () => db.page('u1'));
    expect(await cache.getOrSet('list:u1', loads, pageOpts('u1'))).toEqual(db.page('u1'));
    // Another page of the same user, tagged u:u1 too: dropped by the insert's invalidation.
    await cache.getOrSet('list:u1:older', async () => 'older', { tags: listTags('u1') });

    const row = await insert(cache, db, 'u1', 'e');
    expect(row.v).toBe('e');
    // The refreshed page survived this call's own invalidation of u:u1 and equals a fresh load.
    expect(await other.getOrSet('list:u1', loads, pageOpts('u1'))).toEqual(db.page('u1'));
    expect(loads).toHaveBeenCalledTimes(1);
    expect(db.page('u1').items[0]?.id).toBe(row.id);
    expect(db.page('u1').more).toBe(true);
    expect(await other.get('list:u1:older')).toBeUndefined();
    expect(await other.getOrSet(`row:${row.id}`, async () => 'loader', rowOpts(row.id))).toEqual(row);
    expect(cache.stats()).toMatchObject({ writeThroughStored: 2, writeThroughRefused: 0 });

    // The stored page carries the new row's tag: editing that row drops it.
    await update(cache, db, row.id, 'e2');
    expect(await other.get('list:u1')).toBeUndefined();
    expect(await other.getOrSet(`row:${row.id}`, async () => 'loader', rowOpts(row.id))).toEqual({
      ...row,
      v: 'e2',
    });
  });

  test('a refresh keeps the expiry of the value it was computed from', async () => {
    const db = createDb();
    const cache = make();
    await cache.getOrSet('list:u1', async () => db.page('u1'), { ...pageOpts('u1'), ttl: 300 });
    await insert(cache, db, 'u1', 'a');
    expect(await cache.get('list:u1')).toEqual(db.page('u1'));
    expect(await redis.pTTL(`${prefix}wt:e:{list:u1}`)).toBeLessThanOrEqual(300);
    await sleep(350);
    expect(await cache.get('list:u1')).toBeUndefined();
  });

  test('nothing cached to recompute from: the entry is dropped, not created', async () => {
    const db = createDb();
    const cache = make();
    await insert(cache, db, 'u1', 'a');
    expect(await cache.get('list:u1')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ writeThroughStored: 1, writeThroughRefused: 0 }); // the row only
  });

  test('update returning undefined, or a callback throwing, drops the entry; the write still resolves', async () => {
    const cache = make();
    await cache.set('a', 1);
    await cache.set('b', 2);
    const r = await cache.writeThrough(async () => 'done', {
      refresh: [
        { key: 'a', update: () => undefined },
        {
          key: 'b',
          update: () => {
            throw new Error('bug');
          },
        },
      ],
    });
    expect(r).toBe('done');
    expect(await cache.mget(['a', 'b'])).toEqual([undefined, undefined]);
    expect(warnings.some((w) => w.includes('writeThrough callback threw'))).toBe(true);
  });

  test('an invalidate() that throws drops the entries and their tags, and the write still resolves', async () => {
    const cache = make();
    await cache.set('page', [1], { tags: ['lists'] });
    await cache.set('page:2', [0], { tags: ['lists'] });
    const r = await cache.writeThrough(async () => 2, {
      invalidate: () => {
        throw new Error('bug');
      },
      refresh: [{ key: 'page', tags: ['lists'], update: (l: number[], n: number) => [n, ...l] }],
    });
    expect(r).toBe(2);
    expect(await cache.mget(['page', 'page:2'])).toEqual([undefined, undefined]);
    expect(warnings.some((w) => w.includes('invalidate() threw'))).toBe(true);
  });

  test('misuse throws before the write runs', async () => {
    const cache = make();
    const write = jest.fn(async () => 1);
    await expect(
      cache.writeThrough(write, {
        set: [{ key: 'k', value: () => 1 }],
        refresh: [{ key: 'k', update: () => 1 }],
      }),
    ).rejects.toMatchObject({ code: 'CACHE_CONFIG_INVALID' });
    await expect(
      cache.writeThrough(write, { set: [{ key: 42 as never, value: () => 1 }] }),
    ).rejects.toMatchObject({
      code: 'CACHE_KEY_INVALID',
    });
    await expect(cache.writeThrough(write, { refresh: [{ key: 'k' } as never] })).rejects.toMatchObject({
      code: 'CACHE_CONFIG_INVALID',
    });
    expect(write).not.toHaveBeenCalled();
  });
});

describe('writeThrough races: the new value is stored only if nothing else changed the entry', () => {
  test('two concurrent inserts refreshing the same page: never a page missing one of them', async () => {
    const db = createDb();
    const a = make({ l1: true });
    const b = make({ l1: true });
    await Promise.all([a.ready(), b.ready()]);
    await a.getOrSet('list:u1', async () => db.page('u1'), pageOpts('u1'));
    // Both snapshot the cached page; b commits first; a then recomputes from the old page.
    const holdA = gate();
    const holdB = gate();
    const first = insert(a, db, 'u1', 'from a', holdA.promise);
    const second = insert(b, db, 'u1', 'from b', holdB.promise);
    await sleep(30);
    holdB.open();
    await second;
    holdA.open();
    await first;
    expect(db.page('u1').items).toHaveLength(2);
    const read = (c: Cache) => c.getOrSet('list:u1', async () => db.page('u1'), pageOpts('u1'));
    expect(await read(a)).toEqual(db.page('u1'));
    // b kept its own result in L1 until a's bus message drops it.
    await waitFor(async () => JSON.stringify(await read(b)) === JSON.stringify(db.page('u1')), {
      timeoutMs: 2_000,
      what: 'b to serve both rows',
    });
    expect(a.stats().writeThroughRefused).toBe(1);
  });

  test('retry: two concurrent inserts into one page both end in it, without a reload', async () => {
    const db = createDb();
    const a = make();
    const b = make();
    await a.getOrSet('list:u1', async () => db.page('u1'), pageOpts('u1'));
    // Same interleaving as above: b commits first, a's snapshot is then stale.
    const holdA = gate();
    const holdB = gate();
    const first = insert(a, db, 'u1', 'from a', holdA.promise, { retry: true });
    const second = insert(b, db, 'u1', 'from b', holdB.promise, { retry: true });
    await sleep(30);
    holdB.open();
    await second;
    holdA.open();
    await first;
    const loads = jest.fn(async () => db.page('u1'));
    expect(await b.getOrSet('list:u1', loads, pageOpts('u1'))).toEqual(db.page('u1'));
    expect(db.page('u1').items).toHaveLength(2);
    expect(loads).not.toHaveBeenCalled();
    expect(a.stats()).toMatchObject({
      writeThroughRetries: 1,
      writeThroughRefused: 0,
      writeThroughStored: 2,
    });
  });

  test('retry: recomputing from a page a load stored after the write (it already holds the row) keeps it', async () => {
    const db = createDb();
    const a = make();
    const b = make();
    await a.getOrSet('list:u1', async () => db.page('u1'), pageOpts('u1'));
    // After a's write, another process drops the page and loads it again: the new page holds
    // a's row, and a's snapshot no longer matches the entry.
    const row = await insert(a, db, 'u1', 'x', undefined, {
      retry: true,
      afterWrite: async () => {
        await b.invalidateTags(['u:u1']);
        await b.getOrSet('list:u1', async () => db.page('u1'), pageOpts('u1'));
      },
    });
    const loads = jest.fn(async () => db.page('u1'));
    const page = (await a.getOrSet('list:u1', loads, pageOpts('u1'))) as Page;
    expect(page).toEqual(db.page('u1'));
    expect(page.items.filter((r) => r.id === row.id)).toHaveLength(1);
    expect(loads).not.toHaveBeenCalled();
    expect(a.stats().writeThroughRetries).toBe(1);
  });

  test('retry: a set entry keeps the first snapshot’s guard: a newer value written meanwhile stays', async () => {
    const db = createDb();
    const a = make();
    const b = make();
    const existing = await insert(b, db, 'u2', 'r0');
    await a.getOrSet('list:u1', async () => db.page('u1'), pageOpts('u1'));
    await a.getOrSet(`row:${existing.id}`, async () => db.row(existing.id), rowOpts(existing.id));
    // One write inserts a row (its page refresh may retry) and also changes `existing`, which it
    // writes through. After its database change, another process inserts into the same page (a
    // retry follows) and writes a newer value of `existing` through.
    const at = db.stamp();
    const id = db.newId();
    await a.writeThrough(
      async () => {
        const row = { id, user: 'u1', at, v: 'n' };
        db.rows.set(id, row);
        const mine = { ...(db.rows.get(existing.id) as Row), v: 'older' };
        db.rows.set(existing.id, { ...mine });
        await insert(b, db, 'u1', 'y');
        await update(b, db, existing.id, 'newer');
        return { row: { ...row }, mine };
      },
      {
        invalidate: listTags('u1'),
        refresh: [
          {
            key: 'list:u1',
            ...pageOpts('u1'),
            retry: true,
            update: (p: Page, r: { row: Row }) => withNewIdempotent(p, r.row),
          },
        ],
        set: [{ key: `row:${existing.id}`, ...rowOpts(existing.id), value: (r: { mine: Row }) => r.mine }],
      },
    );
    expect(a.stats().writeThroughRetries).toBe(1);
    // Read through a new instance: what Redis holds, not an L1 copy.
    const fresh = make();
    const fromDb = jest.fn(async () => db.row(existing.id));
    expect(await fresh.getOrSet(`row:${existing.id}`, fromDb, rowOpts(existing.id))).toEqual({
      ...existing,
      v: 'newer',
    });
    expect(await fresh.getOrSet('list:u1', async () => db.page('u1'), pageOpts('u1'))).toEqual(db.page('u1'));
  });

  test('an invalidation of a tag the cached value carries, during the write, drops the entry', async () => {
    const db = createDb();
    const cache = make();
    const other = make();
    db.rows.set('x1', { id: 'x1', user: 'u1', at: db.stamp(), v: 'old' });
    await cache.getOrSet('list:u1', async () => db.page('u1'), pageOpts('u1'));
    const hold = gate();
    const inserting = insert(cache, db, 'u1', 'new', hold.promise);
    await sleep(30);
    // Meanwhile row x1 is edited elsewhere: its tag drops the page that holds it.
    (db.rows.get('x1') as Row).v = 'edited';
    await other.invalidateTags(['r:x1']);
    hold.open();
    await inserting;
    expect(await cache.getOrSet('list:u1', async () => db.page('u1'), pageOpts('u1'))).toEqual(db.page('u1'));
    expect(cache.stats().writeThroughRefused).toBe(1);
  });

  test('an invalidation of the new value’s own tag during the write (a delete) drops it', async () => {
    const db = createDb();
    const cache = make();
    const other = make();
    db.rows.set('x1', { id: 'x1', user: 'u1', at: db.stamp(), v: 'v1' });
    const hold = gate();
    const patching = update(cache, db, 'x1', 'v2', hold.promise);
    await sleep(30);
    // The row is deleted after the update committed, and its tag invalidated, before the cache is.
    db.rows.delete('x1');
    await other.invalidateTags(['r:x1']);
    hold.open();
    expect((await patching)?.v).toBe('v2');
    expect(await cache.getOrSet('row:x1', async () => db.row('x1'), rowOpts('x1'))).toBeUndefined();
  });

  test('an invalidation of a tag derived from the new value (tagsOf) during the write drops it', async () => {
    const cache = make();
    const other = make();
    let owner = 'ann';
    const hold = gate();
    const writing = cache.writeThrough(
      async () => {
        const seen = owner;
        await hold.promise;
        return seen;
      },
      {
        set: [
          {
            key: 'doc:1',
            value: (o: string) => ({ owner: o }),
            tagsOf: (d: { owner: string }) => [`owner:${d.owner}`],
          },
        ],
      },
    );
    await sleep(30);
    owner = 'bob';
    await other.invalidateTags(['owner:ann']);
    hold.open();
    await writing;
    expect(await cache.getOrSet('doc:1', async () => ({ owner }))).toEqual({ owner: 'bob' });
  });

  test('clear() during the write drops the entries', async () => {
    const cache = make();
    const other = make();
    let db = 'v1';
    const hold = gate();
    const writing = cache.writeThrough(
      async () => {
        const seen = db;
        await hold.promise;
        return seen;
      },
      { set: [{ key: 'k', value: (v: string) => v }] },
    );
    await sleep(30);
    db = 'v2';
    await other.clear();
    hold.open();
    await writing;
    expect(await cache.getOrSet('k', async () => db)).toBe('v2');
  });

  test('a loader racing the write cannot store what it read before the write', async () => {
    const cache = make();
    const other = make({ lock: false });
    let db = 'old';
    const loaded = gate();
    const release = gate();
    // A load of `k` reads the database before the write and stores after it.
    const slow = other.getOrSet('k', async () => {
      const seen = db;
      loaded.open();
      await release.promise;
      return seen;
    });
    await loaded.promise;
    await cache.writeThrough(
      async () => {
        db = 'new';
        return db;
      },
      // Nothing cached to refresh from: the entry gets a tombstone, which refuses the late write.
      { refresh: [{ key: 'k', update: (_: string, v: string) => v }] },
    );
    release.open();
    expect(await slow).toBe('old');
    expect(await cache.getOrSet('k', async () => db)).toBe('new');
  });

  test('the write throws: the entries and tags are still invalidated, then the error is rethrown', async () => {
    const db = createDb();
    const cache = make();
    await cache.getOrSet('list:u1', async () => db.page('u1'), pageOpts('u1'));
    await cache.getOrSet('list:u1:older', async () => 'older', { tags: listTags('u1') });
    await cache.set('other', 'kept');
    const boom = new Error('insert failed');
    await expect(
      cache.writeThrough(
        async () => {
          throw boom;
        },
        {
          refresh: [{ key: 'list:u1', ...pageOpts('u1'), update: (p: Page, r: Row) => withNew(p, r) }],
          invalidate: (r: Row) => [`u:${r.user}`],
        },
      ),
    ).rejects.toBe(boom);
    expect(await cache.mget(['list:u1', 'list:u1:older', 'other'])).toEqual([undefined, undefined, 'kept']);
  });
});

describe('writeThrough with L1 and the bus', () => {
  test('the writer keeps the new value in L1; other instances drop theirs and read it from Redis', async () => {
    const db = createDb();
    const a = make({ l1: true });
    const b = make({ l1: true });
    await Promise.all([a.ready(), b.ready()]);
    const loads = jest.fn(async () => db.page('u1'));
    await a.getOrSet('list:u1', loads, pageOpts('u1'));
    await b.getOrSet('list:u1', loads, pageOpts('u1'));
    expect(b.stats().l2Hits).toBe(1);
    await insert(a, db, 'u1', 'new');
    await waitFor(() => b.stats().l1?.entries === 0, { timeoutMs: 2_000, what: 'b drops its L1 copy' });
    expect(await b.getOrSet('list:u1', loads, pageOpts('u1'))).toEqual(db.page('u1')); // from Redis
    expect(loads).toHaveBeenCalledTimes(1);
    await redis.del(`${prefix}wt:e:{list:u1}`); // only the L1 copies can answer now
    expect(await a.getOrSet('list:u1', loads, pageOpts('u1'))).toEqual(db.page('u1'));
    expect(a.stats().l1Hits).toBe(1);
    await insert(a, db, 'u1', 'newer'); // nothing in Redis to recompute from: dropped everywhere
    await waitFor(() => b.stats().l1?.entries === 0, { timeoutMs: 2_000, what: 'b drops its L1 copy' });
    expect(await b.getOrSet('list:u1', loads, pageOpts('u1'))).toEqual(db.page('u1'));
    expect(await a.getOrSet('list:u1', loads, pageOpts('u1'))).toEqual(db.page('u1'));
    expect(loads).toHaveBeenCalledTimes(2);
  });
});

describe('writeThrough while Redis is unreachable', () => {
  let server: RedisServer;
  let own: Client;
  let admin: Client;
  beforeAll(async () => {
    server = await startRedisServer();
    own = await connect(server.url, { socket: { reconnectStrategy: () => 50 } });
    admin = await connect(server.url, { socket: { reconnectStrategy: () => 50 } });
  });
  afterAll(async () => {
    own.destroy();
    admin.destroy();
    await server.stop();
  });

  test('a plain invalidation, replayed when Redis answers; stale entries are never served meanwhile', async () => {
    const db = createDb();
    const cache = make({ redis: own as never, name: 'down', commandTimeout: 100 });
    const page = async () => db.page('u1');
    await cache.getOrSet('list:u1', page, pageOpts('u1'));
    await admin.sendCommand(['CLIENT', 'PAUSE', '800', 'ALL']);
    const row = await insert(cache, db, 'u1', 'while paused');
    expect(row.v).toBe('while paused');
    expect(cache.stats().pendingInvalidations).toBeGreaterThan(0);
    await sleep(900);
    await waitFor(() => cache.stats().redis.breaker !== 'open', { timeoutMs: 5_000, what: 'breaker probe' });
    // The page cached before the write (no rows) is in Redis still, and never served.
    expect(await cache.getOrSet('list:u1', page, pageOpts('u1'))).toEqual(db.page('u1'));
    await waitFor(() => cache.stats().pendingInvalidations === 0, { timeoutMs: 5_000, what: 'replay' });
    expect(await cache.getOrSet('list:u1', page, pageOpts('u1'))).toEqual(db.page('u1'));
    expect(db.page('u1').items).toHaveLength(1);
  });
});

test('randomised: concurrent inserts, updates, deletes and reads on three instances end consistent', async () => {
  const db = createDb();
  const instances = [make({ l1: true }), make({ l1: true, lock: false }), make({ lock: false })];
  await Promise.all(instances.map((c) => c.ready()));
  const users = ['u1', 'u2'];
  const ids: string[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
  const jitter = () => sleep(Math.random() * 6);
  const pageLoader = (u: string) => async () => {
    const p = db.page(u);
    await jitter();
    return p;
  };
  const rowLoader = (id: string) => async () => {
    const r = db.row(id);
    await jitter();
    return r;
  };
  const op = async () => {
    const c = pick(instances);
    const r = Math.random();
    if (r < 0.2) {
      const row = await insert(c, db, pick(users), `v${Math.random()}`, jitter(), {
        retry: Math.random() < 0.5,
      });
      ids.push(row.id);
    } else if (r < 0.3 && ids.length > 0) {
      await update(c, db, pick(ids), `v${Math.random()}`, jitter());
    } else if (r < 0.35 && ids.length > 0) {
      const id = pick(ids);
      await jitter();
      db.rows.delete(id);
      await c.invalidateTags([`r:${id}`]);
    } else if (r < 0.75) {
      const u = pick(users);
      await c.getOrSet(`list:${u}`, pageLoader(u), pageOpts(u));
    } else if (ids.length > 0) {
      const id = pick(ids);
      await c.getOrSet(`row:${id}`, rowLoader(id), rowOpts(id));
    }
  };
  for (let round = 0; round < 30; round++) {
    await Promise.all(Array.from({ length: 25 }, op));
    // At quiescence every instance (its L1 and Redis) answers what a fresh load returns.
    await sleep(20); // bus messages in flight
    for (const [instance, c] of instances.entries()) {
      for (const u of users)
        expect({
          round,
          instance,
          key: u,
          v: await c.getOrSet(`list:${u}`, pageLoader(u), pageOpts(u)),
        }).toEqual({ round, instance, key: u, v: db.page(u) });
      for (const id of ids)
        expect({
          round,
          instance,
          key: id,
          v: await c.getOrSet(`row:${id}`, rowLoader(id), rowOpts(id)),
        }).toEqual({ round, instance, key: id, v: db.row(id) });
    }
  }
  const stats = instances.map((c) => c.stats());
  // The run exercised both outcomes.
  expect(stats.reduce((n, s) => n + s.writeThroughStored, 0)).toBeGreaterThan(20);
  expect(stats.reduce((n, s) => n + s.writeThroughRefused, 0)).toBeGreaterThan(0);
  expect(stats.reduce((n, s) => n + s.writeThroughRetries, 0)).toBeGreaterThan(0);
});
