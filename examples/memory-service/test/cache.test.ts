import { call, deleteKeys, startTestService, uniqueUser } from './helpers';

let on: Awaited<ReturnType<typeof startTestService>>;
let off: Awaited<ReturnType<typeof startTestService>>;

beforeAll(async () => {
  on = await startTestService();
  off = await startTestService({ MEM0_CACHE: 'off' });
});
afterAll(async () => {
  await on?.svc.close();
  await off?.svc.close();
  await deleteKeys(on.config.redisUrl, on.config.cachePrefix);
});

async function create(base: string, user: string, content: string) {
  const r = await call(base, 'POST', '/v1/memories', { body: { user_id: user, content } });
  expect(r.status).toBe(201);
  return r.json as { id: string };
}

test('a repeated read is served by the cache: no query, a hit counted', async () => {
  const base = on.svc.url;
  const user = uniqueUser('hit');
  const m = await create(base, user, 'espresso after lunch');
  for (const path of [
    `/v1/memories?user_id=${user}`,
    `/v1/memories/search?user_id=${user}&q=espresso`,
    `/v1/memories/${m.id}`,
  ]) {
    const first = await call(base, 'GET', path);
    expect(first.status).toBe(200);
    const queries = on.svc.database.queryCount();
    const hits = on.svc.cache?.stats().hits ?? 0;
    const second = await call(base, 'GET', path);
    expect(second.status).toBe(200);
    expect(second.json).toEqual(first.json);
    expect(on.svc.database.queryCount()).toBe(queries);
    expect(on.svc.cache?.stats().hits).toBe(hits + 1);
  }
});

test('POST, PATCH and DELETE invalidate the user’s cached list and search by tag', async () => {
  const base = on.svc.url;
  const user = uniqueUser('tag');
  const other = uniqueUser('tag-other');
  const a = await create(base, user, 'jazz concerts on weekends');
  await create(base, other, 'jazz for someone else');
  const list = `/v1/memories?user_id=${user}`;
  const search = `/v1/memories/search?user_id=${user}&q=jazz`;
  const otherList = `/v1/memories?user_id=${other}`;
  expect((await call(base, 'GET', list)).json.items).toHaveLength(1);
  expect((await call(base, 'GET', search)).json.items).toHaveLength(1);
  await call(base, 'GET', otherList);

  const b = await create(base, user, 'more jazz in december');
  expect((await call(base, 'GET', list)).json.items.map((m: { id: string }) => m.id)).toEqual([b.id, a.id]);
  expect((await call(base, 'GET', search)).json.items).toHaveLength(2);

  // Another user's entries are untouched by this user's writes: still a hit.
  const hits = on.svc.cache?.stats().hits ?? 0;
  await call(base, 'GET', otherList);
  expect(on.svc.cache?.stats().hits).toBe(hits + 1);

  await call(base, 'PATCH', `/v1/memories/${a.id}`, { body: { content: 'piano lessons' } });
  expect((await call(base, 'GET', search)).json.items).toHaveLength(1);
  expect((await call(base, 'GET', `/v1/memories/${a.id}`)).json.content).toBe('piano lessons');

  await call(base, 'DELETE', `/v1/memories/${b.id}`);
  expect((await call(base, 'GET', search)).json.items).toEqual([]);
  expect((await call(base, 'GET', list)).json.items.map((m: { id: string }) => m.id)).toEqual([a.id]);
});

test('a POST invalidates only the searches its content can change (lexemes, stemming, negations)', async () => {
  const base = on.svc.url;
  const user = uniqueUser('lex');
  await create(base, user, 'takes piano lessons');
  const piano = `/v1/memories/search?user_id=${user}&q=piano`;
  const flights = `/v1/memories/search?user_id=${user}&q=flights`;
  const negated = `/v1/memories/search?user_id=${user}&q=${encodeURIComponent('tea -coffee')}`;
  const read = async (path: string) => (await call(base, 'GET', path)).json.items.length as number;
  expect(await read(piano)).toBe(1);
  expect(await read(flights)).toBe(0);
  expect(await read(negated)).toBe(0);

  // Unrelated content: the piano and flights searches stay cached (no query); the negated one
  // must be recomputed (any content can match "not coffee").
  await create(base, user, 'drinks green tea');
  const q0 = on.svc.database.queryCount();
  expect(await read(piano)).toBe(1);
  expect(await read(flights)).toBe(0);
  expect(on.svc.database.queryCount()).toBe(q0);
  expect(await read(negated)).toBe(1);
  expect(on.svc.database.queryCount()).toBe(q0 + 1);

  // "flight" stems like "flights": that search must see the new memory.
  await create(base, user, 'booked a flight to berlin');
  expect(await read(flights)).toBe(1);
  expect(await read(piano)).toBe(1);

  // A long content (more lexemes than tags are worth) invalidates all the user's searches.
  const long = Array.from({ length: 40 }, (_, i) => `word${i}x`).join(' ');
  await create(base, user, `${long} piano`);
  expect(await read(piano)).toBe(2);
});

test('PATCH of one user’s memory leaves other users’ cached searches alone', async () => {
  const base = on.svc.url;
  const a = uniqueUser('pa');
  const b = uniqueUser('pb');
  const ma = await create(base, a, 'yoga classes');
  await create(base, b, 'yoga classes too');
  const searchB = `/v1/memories/search?user_id=${b}&q=yoga`;
  await call(base, 'GET', searchB);
  await call(base, 'PATCH', `/v1/memories/${ma.id}`, { body: { content: 'pilates now' } });
  const q0 = on.svc.database.queryCount();
  expect((await call(base, 'GET', searchB)).json.items).toHaveLength(1);
  expect(on.svc.database.queryCount()).toBe(q0);
  expect((await call(base, 'GET', `/v1/memories/search?user_id=${a}&q=yoga`)).json.items).toEqual([]);
});

test('PATCH and DELETE drop only the cached pages and results that hold the memory', async () => {
  const base = on.svc.url;
  const user = uniqueUser('item');
  const tea = await create(base, user, 'green tea every morning');
  const coffee = await create(base, user, 'coffee after lunch');
  const newest = `/v1/memories?user_id=${user}&limit=1`; // holds coffee only
  const teaSearch = `/v1/memories/search?user_id=${user}&q=tea`;
  const coffeeSearch = `/v1/memories/search?user_id=${user}&q=coffee`;
  for (const p of [newest, teaSearch, coffeeSearch]) await call(base, 'GET', p);

  // A metadata edit of the tea memory: its search is recomputed and shows the edit; the page
  // and the search that do not hold it stay cached (no query).
  await call(base, 'PATCH', `/v1/memories/${tea.id}`, { body: { metadata: { mood: 'calm' } } });
  const q0 = on.svc.database.queryCount();
  expect((await call(base, 'GET', newest)).json.items.map((m: { id: string }) => m.id)).toEqual([coffee.id]);
  expect((await call(base, 'GET', coffeeSearch)).json.items).toHaveLength(1);
  expect(on.svc.database.queryCount()).toBe(q0);
  expect((await call(base, 'GET', teaSearch)).json.items[0].metadata).toEqual({ mood: 'calm' });
  expect(on.svc.database.queryCount()).toBe(q0 + 1);

  // Deleting the coffee memory drops the page and the search that held it.
  await call(base, 'DELETE', `/v1/memories/${coffee.id}`);
  expect((await call(base, 'GET', newest)).json.items.map((m: { id: string }) => m.id)).toEqual([tea.id]);
  expect((await call(base, 'GET', coffeeSearch)).json.items).toEqual([]);
});

test('a user id with ":" never shares a cached search with another user (cache keys are unambiguous)', async () => {
  const base = on.svc.url;
  // user_id may contain ":", as may q: "search:<user>:<limit>:<q>" would make user X's search
  // for "5:tea" (limit 20) and user "X:20"'s search for "tea" (limit 5) one cache entry.
  const x = uniqueUser('colon');
  const xColon = `${x}:20`;
  const secret = await create(base, xColon, 'tea with the private diary');
  const own = await call(base, 'GET', `/v1/memories/search?user_id=${xColon}&q=tea&limit=5`);
  expect(own.json.items.map((m: { id: string }) => m.id)).toEqual([secret.id]);
  // Another user, whose own search finds nothing, must not be served the first user's memory.
  const r = await call(
    base,
    'GET',
    `/v1/memories/search?user_id=${x}&q=${encodeURIComponent('5:tea')}&limit=20`,
  );
  expect(r.status).toBe(200);
  expect(r.json.items).toEqual([]);
  expect(r.json.items).toEqual(
    (
      await call(
        off.svc.url,
        'GET',
        `/v1/memories/search?user_id=${x}&q=${encodeURIComponent('5:tea')}&limit=20`,
      )
    ).json.items,
  );
});

test('ETag on a cached list: 304 while unchanged, 200 with a new ETag after a write', async () => {
  const base = on.svc.url;
  const user = uniqueUser('etag');
  await create(base, user, 'first');
  const r1 = await call(base, 'GET', `/v1/memories?user_id=${user}`);
  const etag = r1.headers.get('etag') as string;
  expect(etag).toBeTruthy();
  const r2 = await call(base, 'GET', `/v1/memories?user_id=${user}`, { headers: { 'if-none-match': etag } });
  expect(r2.status).toBe(304);
  await create(base, user, 'second');
  const r3 = await call(base, 'GET', `/v1/memories?user_id=${user}`, { headers: { 'if-none-match': etag } });
  expect(r3.status).toBe(200);
  expect(r3.headers.get('etag')).not.toBe(etag);
  expect(r3.json.items).toHaveLength(2);
});

test('MEM0_CACHE=off: every read goes to PostgreSQL and stats say the cache is off', async () => {
  const base = off.svc.url;
  const user = uniqueUser('off');
  await create(base, user, 'uncached');
  const q0 = off.svc.database.queryCount();
  await call(base, 'GET', `/v1/memories?user_id=${user}`);
  await call(base, 'GET', `/v1/memories?user_id=${user}`);
  expect(off.svc.database.queryCount()).toBe(q0 + 2);
  const stats = await call(base, 'GET', '/internal/stats');
  expect(stats.json.cache).toEqual({ enabled: false });
  expect(stats.json.db.queries).toBe(off.svc.database.queryCount());
});

describe('write-through: a write keeps the entries it changes fresh instead of dropping them', () => {
  /** The same request through the cache-off service: what the database says. */
  const truth = async (path: string) => (await call(off.svc.url, 'GET', path)).json;

  test('after a POST the first page is a cache hit equal to the database (items, order, next_cursor)', async () => {
    const base = on.svc.url;
    const user = uniqueUser('wt-list');
    for (let i = 0; i < 21; i++) await create(base, user, `note number ${i}`);
    const list = `/v1/memories?user_id=${user}`; // the default page size
    const explicit = `/v1/memories?user_id=${user}&limit=20`; // the same entry
    const small = `/v1/memories?user_id=${user}&limit=2`; // another size: invalidated as before
    for (const p of [list, small]) await call(base, 'GET', p);
    const first = await call(base, 'GET', list);
    expect(first.json.next_cursor).not.toBeNull();
    const second = await call(base, 'GET', `/v1/memories?user_id=${user}&cursor=${first.json.next_cursor}`);

    const created = await create(base, user, 'the newest note');
    const q0 = on.svc.database.queryCount();
    const hits = on.svc.cache?.stats().hits ?? 0;
    const after = await call(base, 'GET', list);
    expect(on.svc.database.queryCount()).toBe(q0);
    expect(on.svc.cache?.stats().hits).toBe(hits + 1);
    expect(after.json).toEqual(await truth(list));
    expect(after.json.items[0].id).toBe(created.id);
    expect(after.json.items).toHaveLength(20);
    expect(after.json.next_cursor).not.toBe(first.json.next_cursor); // the old 20th moved to page 2
    expect((await call(base, 'GET', explicit)).json).toEqual(after.json);
    expect(on.svc.database.queryCount()).toBe(q0);
    // Other page sizes and cursor pages are recomputed, and match the database too.
    expect((await call(base, 'GET', small)).json).toEqual(await truth(small));
    expect(on.svc.database.queryCount()).toBe(q0 + 1);
    const page2 = `/v1/memories?user_id=${user}&cursor=${after.json.next_cursor}`;
    expect((await call(base, 'GET', page2)).json).toEqual(await truth(page2));
    expect(second.json.items).toHaveLength(1);

    // The new memory itself was written through: a hit.
    const item = await call(base, 'GET', `/v1/memories/${created.id}`);
    expect(item.json).toEqual(await truth(`/v1/memories/${created.id}`));
    expect(on.svc.database.queryCount()).toBe(q0 + 2);
  });

  test('a first page with room left, and the first memory of a new user', async () => {
    const base = on.svc.url;
    const user = uniqueUser('wt-room');
    const list = `/v1/memories?user_id=${user}`;
    expect((await call(base, 'GET', list)).json).toEqual({ items: [], next_cursor: null });
    await create(base, user, 'first');
    await create(base, user, 'second');
    const q0 = on.svc.database.queryCount();
    const r = await call(base, 'GET', list);
    expect(on.svc.database.queryCount()).toBe(q0);
    expect(r.json).toEqual(await truth(list));
    expect(r.json.items.map((m: { content: string }) => m.content)).toEqual(['second', 'first']);
    expect(r.json.next_cursor).toBeNull();
  });

  test('concurrent POSTs (and reads) for one user on two instances never leave a stale first page', async () => {
    const other = await startTestService({ MEM0_CACHE_PREFIX: on.config.cachePrefix });
    try {
      const bases = [on.svc.url, other.svc.url];
      const user = uniqueUser('wt-race');
      const list = `/v1/memories?user_id=${user}`;
      for (let i = 0; i < 18; i++) await create(on.svc.url, user, `seed ${i}`);
      for (let round = 0; round < 5; round++) {
        await Promise.all(bases.map((b) => call(b, 'GET', list)));
        await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            i % 3 === 2
              ? call(bases[i % 2] as string, 'GET', list)
              : create(bases[i % 2] as string, user, `round ${round} post ${i}`),
          ),
        );
        const want = await truth(list);
        // Both instances: their L1, and Redis behind it (the other instance's L1 copy is dropped
        // by the bus message, which may still be in flight).
        for (const b of bases) {
          let got: unknown;
          for (let t = 0; t < 50; t++) {
            got = (await call(b, 'GET', list)).json;
            if (JSON.stringify(got) === JSON.stringify(want)) break;
            await new Promise((r) => setTimeout(r, 20));
          }
          expect({ round, got }).toEqual({ round, got: want });
        }
      }
      expect(on.svc.cache?.stats().writeThroughStored).toBeGreaterThan(0);
    } finally {
      await other.svc.close();
    }
  });

  test('PATCH then GET by id is a hit with the new value', async () => {
    const base = on.svc.url;
    const user = uniqueUser('wt-patch');
    const m = await create(base, user, 'tea in the morning');
    const item = `/v1/memories/${m.id}`;
    await call(base, 'GET', item);
    const patched = await call(base, 'PATCH', item, { body: { metadata: { mood: 'calm' } } });
    expect(patched.status).toBe(200);
    const q0 = on.svc.database.queryCount();
    const hits = on.svc.cache?.stats().hits ?? 0;
    const r = await call(base, 'GET', item);
    expect(on.svc.database.queryCount()).toBe(q0);
    expect(on.svc.cache?.stats().hits).toBe(hits + 1);
    expect(r.json).toEqual(patched.json);
    expect(r.json).toEqual(await truth(item));
    expect(r.json.metadata).toEqual({ mood: 'calm' });
    // A PATCH of an unknown id is still a 404.
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await call(base, 'PATCH', `/v1/memories/${missing}`, { body: { metadata: {} } })).status).toBe(
      404,
    );
    expect((await call(base, 'GET', `/v1/memories/${missing}`)).status).toBe(404);
  });
});

test('a closed cache never fails a write: POST and PATCH run uncached and answer', async () => {
  const closed = await startTestService();
  try {
    await closed.svc.cache?.close();
    const base = closed.svc.url;
    const user = uniqueUser('closed');
    const m = await create(base, user, 'written without a cache');
    const patched = await call(base, 'PATCH', `/v1/memories/${m.id}`, { body: { metadata: { a: 1 } } });
    expect(patched.status).toBe(200);
    expect((await call(off.svc.url, 'GET', `/v1/memories/${m.id}`)).json.metadata).toEqual({ a: 1 });
  } finally {
    await closed.svc.close();
  }
});

test('with the cache off there is no Redis client: /readyz does not depend on Redis', async () => {
  const r = await call(off.svc.url, 'GET', '/readyz');
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'disabled' } });
});
