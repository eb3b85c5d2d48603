import { type Cache, createCache, wrapQuery } from '@mem0-stack/cache';
import { createTestDatabase } from '@mem0-stack/testkit';
import { Pool } from 'pg';
import { type Client, cleanup, connect, uniquePrefix } from './helpers';

// The shared preset's testTimeout is a global jest option, ignored per project: set it here.
jest.setTimeout(30_000);

let redis: Client;
let pool: Pool;
let prefix: string;
let cache: Cache;
let queries = 0;
// Counts statements reaching PostgreSQL, to prove hits never touch it.
const counted = {
  query: (text: string, values?: unknown[]) => {
    queries++;
    return pool.query(text, values);
  },
};

beforeAll(async () => {
  redis = await connect();
  pool = new Pool({ connectionString: await createTestDatabase('mem0_cache_test'), max: 4 });
  await pool.query('DROP TABLE IF EXISTS cache_users');
  await pool.query(
    'CREATE TABLE cache_users (id int PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL, avatar bytea, balance numeric, big bigint)',
  );
  await pool.query(
    "INSERT INTO cache_users SELECT g, 'user ' || g, timestamptz '2024-01-02 03:04:05.678+00' + g * interval '1 day', '\\x00ff'::bytea, 12.5, 9007199254740993 FROM generate_series(1, 50) g",
  );
});
beforeEach(() => {
  prefix = uniquePrefix();
  queries = 0;
  cache = createCache({ redis: redis as never, name: 'q', prefix, defaultTtl: 60_000, jitter: 0 });
});
afterEach(async () => {
  await cache.close();
  await cleanup(redis, prefix);
});
afterAll(async () => {
  await pool.query('DROP TABLE IF EXISTS cache_users');
  await pool.end();
  await redis.quit();
});

test('a repeated query is served from the cache; rows keep their types (Date, Buffer)', async () => {
  const q = cache.wrapQuery(counted, { ttl: 30_000 });
  const first = await q.cachedQuery<{ id: number; name: string; created_at: Date; avatar: Buffer }>(
    'SELECT * FROM cache_users WHERE id = $1',
    [7],
  );
  const second = await q.cachedQuery<{ id: number; name: string; created_at: Date; avatar: Buffer }>(
    'SELECT * FROM cache_users WHERE id = $1',
    [7],
  );
  expect(queries).toBe(1);
  expect(second).toEqual(first);
  expect(second.rowCount).toBe(1);
  const row = second.rows[0];
  expect(row?.created_at).toBeInstanceOf(Date);
  expect(row?.created_at.toISOString()).toBe('2024-01-09T03:04:05.678Z');
  expect(Buffer.isBuffer(row?.avatar)).toBe(true);
  expect(cache.stats().l2Hits).toBe(1);
});

test('the key is stable across formatting, comments and keyword case, and differs by parameters', async () => {
  const q = wrapQuery(cache, counted);
  const a = q.keyFor('SELECT name FROM cache_users WHERE id = $1', [1]);
  expect(q.keyFor('select   name\n  from cache_users -- by id\n where id = $1;', [1])).toBe(a);
  expect(q.keyFor('/* hello */ SELECT name FROM cache_users WHERE id = $1', [1])).toBe(a);
  expect(q.keyFor('SELECT name FROM cache_users WHERE id = $1', [2])).not.toBe(a);
  expect(q.keyFor('SELECT name FROM cache_users WHERE id = $1', ['1'])).not.toBe(a); // types matter
  // Literals and quoted identifiers are not normalised: different text, different key.
  expect(q.keyFor("SELECT 'A  B'")).not.toBe(q.keyFor("SELECT 'a b'"));
  expect(q.keyFor('SELECT "Name" FROM t')).not.toBe(q.keyFor('SELECT "name" FROM t'));
  await q.cachedQuery('SELECT name FROM cache_users WHERE id = $1', [1]);
  await q.cachedQuery('select name from cache_users where id = $1', [1]);
  expect(queries).toBe(1);
});

test('writes and locking reads always go to the database and are never cached', async () => {
  const q = wrapQuery(cache, counted);
  const stmts = [
    ["UPDATE cache_users SET name = 'x' WHERE id = $1 RETURNING name", [50]],
    ['SELECT * FROM cache_users WHERE id = $1 FOR UPDATE', [1]],
    ["WITH d AS (UPDATE cache_users SET name = 'y' WHERE id = $1 RETURNING id) SELECT * FROM d", [49]],
    ["SELECT nextval('pg_catalog.pg_class_oid_seq'::regclass) WHERE false", []],
  ] as const;
  for (const [sql, params] of stmts) {
    await q.cachedQuery(sql, params).catch(() => undefined);
    await q.cachedQuery(sql, params).catch(() => undefined);
  }
  expect(queries).toBe(stmts.length * 2);
  expect(cache.stats().requests).toBe(0);
  // A SELECT merely mentioning an update in a literal is still cacheable.
  await q.cachedQuery("SELECT 'please update me' AS s");
  await q.cachedQuery("SELECT 'please update me' AS s");
  expect(queries).toBe(stmts.length * 2 + 1);
});

test('tag invalidation after a write makes the next read fresh', async () => {
  const q = wrapQuery(cache, counted, { tags: ['cache_users'] });
  const read = () =>
    q.cachedQuery<{ name: string }>('SELECT name FROM cache_users WHERE id = $1', [3], { tags: ['user:3'] });
  expect((await read()).rows[0]?.name).toBe('user 3');
  await pool.query("UPDATE cache_users SET name = 'renamed' WHERE id = 3");
  expect((await read()).rows[0]?.name).toBe('user 3'); // still cached
  await cache.invalidateTags(['user:3']);
  expect((await read()).rows[0]?.name).toBe('renamed');
  await pool.query("UPDATE cache_users SET name = 'user 3' WHERE id = 3");
  await cache.invalidateTags(['cache_users']);
  expect((await read()).rows[0]?.name).toBe('user 3');
});

test('clear("q:") drops every cached query; bypass skips the cache', async () => {
  const q = wrapQuery(cache, counted);
  await q.cachedQuery('SELECT count(*) FROM cache_users');
  await cache.clear('q:');
  await q.cachedQuery('SELECT count(*) FROM cache_users');
  await q.cachedQuery('SELECT count(*) FROM cache_users', [], { bypass: true });
  expect(queries).toBe(3);
});

test('a failing query is not cached and its error reaches the caller', async () => {
  const q = wrapQuery(cache, counted);
  await expect(q.cachedQuery('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
  await expect(q.cachedQuery('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
  expect(queries).toBe(2);
});
