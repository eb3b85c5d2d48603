import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { userId } from '../src/dataset';
import { statements } from '../src/memoryRepository';
import { seedDatabase } from '../src/seed';
import { openSchemaPool } from './helpers';

// Plans are checked on a realistically sized table in a schema of its own, so the
// planner's choice reflects the indexes rather than a tiny table it would scan anyway.
const SCHEMA = `explain_${process.pid}`;
let schema: Awaited<ReturnType<typeof openSchemaPool>> | undefined;
let pool: Pool;
let sampleId: string;

type PlanNode = { 'Node Type': string; 'Index Name'?: string; 'Relation Name'?: string; Plans?: PlanNode[] };

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

async function explain(text: string, values: unknown[]): Promise<PlanNode[]> {
  const r = await pool.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
  return nodes(r.rows[0]['QUERY PLAN'][0].Plan);
}

beforeAll(async () => {
  schema = await openSchemaPool(SCHEMA);
  pool = schema.pool;
  await seedDatabase(pool, { count: 20_000, users: 500 });
  sampleId = (await pool.query('SELECT id FROM memories LIMIT 1')).rows[0].id;
}, 120_000);

afterAll(async () => {
  await schema?.drop();
});

const cursor = ['2100-01-01T00:00:00.000000Z', '00000000-0000-4000-8000-000000000000'];

// For a user with thousands of rows the page must come straight off the composite index
// (no Sort); for a user with a handful, sorting those few rows is the planner's cheaper pick.
test.each([
  ['get', () => [statements.get, [sampleId]], 'memories_pkey', true],
  ['update', () => [statements.update, [sampleId, 'x', null]], 'memories_pkey', true],
  ['delete', () => [statements.delete, [sampleId]], 'memories_pkey', true],
  ['listFirst (hot user)', () => [statements.listFirst, [userId(0), 21]], 'memories_user_created_idx', true],
  [
    'listFirst (tail user)',
    () => [statements.listFirst, [userId(400), 21]],
    'memories_user_created_idx',
    false,
  ],
  [
    'listAfter (hot user)',
    () => [statements.listAfter, [userId(0), ...cursor, 21]],
    'memories_user_created_idx',
    true,
  ],
] as Array<[string, () => [string, unknown[]], string, boolean]>)(
  '%s uses %s and no seq scan',
  async (_name, q, index, noSort) => {
    const [text, values] = q();
    const plan = await explain(text, values);
    expect(plan.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
    if (noSort) expect(plan.filter((n) => n['Node Type'] === 'Sort')).toEqual([]);
    expect(plan.map((n) => n['Index Name']).filter(Boolean)).toContain(index);
  },
);

test.each([
  ['hot user', 0],
  ['tail user', 400],
])('search (%s) uses an index, never a seq scan', async (_name, rank) => {
  const plan = await explain(statements.search, [userId(rank), 'green tea', 10]);
  expect(plan.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
  const used = plan.map((n) => n['Index Name']).filter(Boolean);
  expect(used.some((i) => i === 'memories_content_tsv_idx' || i === 'memories_user_created_idx')).toBe(true);
});

test('the insert is a plain insert (no trigger or sub-plan scans)', async () => {
  const plan = await explain(statements.insert, ['u', 'c', {}, randomUUID()]);
  expect(plan[0]?.['Node Type']).toBe('ModifyTable');
  expect(plan.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
});

test('the search plan touches no table', async () => {
  const plan = await explain(statements.searchPlan, ['green tea -coffee']);
  expect(plan.filter((n) => n['Relation Name'] !== undefined)).toEqual([]);
});

test('every statement of the repository is covered above', () => {
  expect(Object.keys(statements).sort()).toEqual([
    'delete',
    'get',
    'insert',
    'listAfter',
    'listFirst',
    'search',
    'searchPlan',
    'update',
  ]);
});
