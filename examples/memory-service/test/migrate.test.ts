import { createTestDatabase } from '@mem0-stack/testkit';
import { Pool } from 'pg';
import { migrate, migrations } from '../src/migrate';

const SCHEMA = `migrate_${process.pid}`;
let pool: Pool;

beforeAll(async () => {
  const url = await createTestDatabase('mem0_memory_test');
  const admin = new Pool({ connectionString: url, max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
  await admin.end();
  pool = new Pool({ connectionString: url, max: 6, options: `-c search_path=${SCHEMA}` });
});
afterAll(async () => {
  await pool?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await pool?.end();
});

test('concurrent first runs apply each migration exactly once; later runs are no-ops', async () => {
  const results = await Promise.all([migrate(pool), migrate(pool), migrate(pool)]);
  const applied = results.flat().sort();
  expect(applied).toEqual(migrations.map((m) => m.version).sort());
  expect(await migrate(pool)).toEqual([]);
  const rows = (await pool.query('SELECT version FROM schema_migrations ORDER BY version')).rows;
  expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
  const idx = (
    await pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'memories'`, [
      SCHEMA,
    ])
  ).rows.map((r) => r.indexname);
  expect(idx).toEqual(
    expect.arrayContaining(['memories_pkey', 'memories_user_created_idx', 'memories_content_tsv_idx']),
  );
});

test('a failing migration rolls back entirely and is not recorded', async () => {
  const bad = [
    ...migrations,
    { version: 999, name: 'broken', sql: 'CREATE TABLE half_done (x int); SELECT * FROM no_such_table' },
  ];
  await expect(migrate(pool, bad)).rejects.toThrow(/no_such_table/);
  const r = await pool.query(
    `SELECT to_regclass('${SCHEMA}.half_done') AS t, (SELECT count(*) FROM schema_migrations WHERE version = 999)::int AS n`,
  );
  expect(r.rows[0]).toEqual({ t: null, n: 0 });
});
