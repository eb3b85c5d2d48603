import type { Pool } from 'pg';
import { createMemoryRepository, type Memory, withNewMemory } from '../src/memoryRepository';
import { openSchemaPool } from './helpers';

// withNewMemory recomputes a cached first page after an insert (the POST write-through). It must
// give exactly what repo.list returns from PostgreSQL afterwards, wherever the new row sorts:
// created_at is the insert's clock, so a slow insert can commit below rows already listed.
const SCHEMA = `list_page_${process.pid}`;
let schema: Awaited<ReturnType<typeof openSchemaPool>> | undefined;
let pool: Pool;
let repo: ReturnType<typeof createMemoryRepository>;

beforeAll(async () => {
  schema = await openSchemaPool(SCHEMA);
  pool = schema.pool;
  repo = createMemoryRepository(pool);
}, 60_000);

afterAll(async () => {
  await schema?.drop();
});

const BASE = Date.parse('2024-05-01T10:00:00Z');
let users = 0;

/** Inserts a memory and moves its created_at to `at` (ms, fractions become microseconds). */
async function insertAt(user: string, at: number): Promise<Memory> {
  const { memory } = await repo.create(user, `content ${at}`, {});
  await pool.query('UPDATE memories SET created_at = $2::timestamptz WHERE id = $1', [
    memory.id,
    new Date(at).toISOString().replace('Z', `${String(Math.round((at % 1) * 1000)).padStart(3, '0')}Z`),
  ]);
  return (await repo.get(memory.id)) as Memory;
}

const LIMIT = 3;
// Existing rows at BASE + i s; where the new row goes, relative to them.
const positions: Array<[string, (n: number) => number]> = [
  ['newest', (n) => BASE + (n + 10) * 1000],
  ['just below the newest', (n) => BASE + (n - 1) * 1000 - 0.5],
  ['in the middle', (n) => BASE + Math.floor(n / 2) * 1000 + 0.25],
  ['the same created_at as the 2nd newest (id decides)', (n) => BASE + (n - 2) * 1000],
  ['oldest', () => BASE - 1000],
];

describe.each([0, 1, 2, 3, 4, 6])('%i rows before, page size 3', (n) => {
  test.each(positions)('the new row %s: withNewMemory equals repo.list afterwards', async (_name, at) => {
    const user = `lp-${process.pid}-${++users}`;
    for (let i = 0; i < n; i++) await insertAt(user, BASE + i * 1000);
    const before = await repo.list(user, LIMIT);
    const memory = await insertAt(user, at(n));
    expect(withNewMemory(before, memory, LIMIT)).toEqual(await repo.list(user, LIMIT));
  });
});

test('a page that already holds the memory is kept as it is; one that is not a first page of that size is dropped', async () => {
  const user = `lp-${process.pid}-${++users}`;
  for (let i = 0; i < 4; i++) await insertAt(user, BASE + i * 1000);
  const page = await repo.list(user, LIMIT);
  const held = page.items[0] as Memory;
  expect(withNewMemory(page, held, LIMIT)).toBe(page);
  const other = await insertAt(user, BASE + 9000);
  expect(withNewMemory(page, other, 2)).toBeUndefined(); // more items than the size
  expect(withNewMemory({ items: page.items.slice(0, 2), next_cursor: page.next_cursor }, other, LIMIT)).toBe(
    undefined,
  ); // a short page cannot have a next one
  expect(withNewMemory({ items: 'bad' } as never, other, LIMIT)).toBeUndefined();
});
