import { isCacheableSql, normalizeSql, queryKey } from './sql';

describe('normalizeSql', () => {
  test.each([
    ['SELECT  *\n FROM\tt ;', 'select * from t'],
    ['select * from t -- trailing comment', 'select * from t'],
    ['select /* a /* nested */ comment */ 1', 'select 1'],
    ["SELECT 'Keep  THIS' FROM T", "select 'Keep  THIS' from t"],
    ["select 'it''s' ", "select 'it''s'"],
    ['SELECT "MixedCase" FROM "T"', 'select "MixedCase" from "T"'],
    ['select $$ Dollar  BODY $$', 'select $$ Dollar  BODY $$'],
    ['select $tag$ a -- not a comment $tag$', 'select $tag$ a -- not a comment $tag$'],
    ['SELECT a.b, c-1 FROM t WHERE x=$1', 'select a.b, c-1 from t where x=$1'],
    ["select E'a\\'b' ", "select e'a\\'b'"], // E'' and e'' are the same
  ])('%j → %j', (input, out) => {
    expect(normalizeSql(input)).toBe(out);
  });
});

describe('isCacheableSql', () => {
  test.each([
    ['select * from t', true],
    ['with x as (select 1) select * from x', true],
    ['values (1)', true],
    ["select 'delete from t'", true],
    ['select created_at, offset_x from t', true],
    ['insert into t values (1)', false],
    ['update t set a = 1', false],
    ['with d as (delete from t returning *) select * from d', false],
    ['select * from t for update', false],
    ['select * from t for no key update', false],
    ['select * from t for share', false],
    ["select nextval('s')", false],
    ['begin', false],
    ['set search_path = x', false],
  ])('%j → %s', (sql, ok) => {
    expect(isCacheableSql(normalizeSql(sql))).toBe(ok);
  });
});

test('queryKey distinguishes parameter types and is order-insensitive for object keys', () => {
  const n = 'select $1';
  expect(queryKey(n, [1])).not.toBe(queryKey(n, ['1']));
  expect(queryKey(n, [null])).toBe(queryKey(n, [undefined]));
  expect(queryKey(n, [new Date(0)])).not.toBe(queryKey(n, ['1970-01-01T00:00:00.000Z']));
  expect(queryKey(n, [{ a: 1, b: 2 }])).toBe(queryKey(n, [{ b: 2, a: 1 }]));
  expect(queryKey(n, [Buffer.from('a')])).not.toBe(queryKey(n, ['a']));
  expect(queryKey(n, [1n])).not.toBe(queryKey(n, [1]));
  expect(queryKey(n, [])).toMatch(/^q:[A-Za-z0-9_-]{43}$/);
});
