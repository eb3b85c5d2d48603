import { Client, type Pool } from 'pg';

/** The database the benchmarks seed and run the service against. */
export const BENCH_DB_NAME = 'mem0_memory_bench';

/**
 * Creates the benchmark database when missing and returns its URL (same server and credentials
 * as `DATABASE_URL`, default the local `test` database's).
 * @example const url = await ensureBenchDatabase();
 */
export async function ensureBenchDatabase(): Promise<string> {
  const base = new URL(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test');
  base.pathname = '/postgres';
  const admin = new Client({ connectionString: base.toString() });
  await admin.connect();
  try {
    const r = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DB_NAME]);
    if (r.rowCount === 0) await admin.query(`CREATE DATABASE ${BENCH_DB_NAME}`);
  } finally {
    await admin.end();
  }
  base.pathname = `/${BENCH_DB_NAME}`;
  return base.toString();
}

/**
 * The ids of the seeded memories by user, for the request mix (GET and PATCH by id).
 * @example const ids = await memoryIdsByUser(pool);
 */
export async function memoryIdsByUser(pool: Pool): Promise<Map<string, string[]>> {
  const ids = new Map<string, string[]>();
  for (const r of (await pool.query<{ user_id: string; id: string }>('SELECT user_id, id FROM memories'))
    .rows) {
    const list = ids.get(r.user_id);
    if (list === undefined) ids.set(r.user_id, [r.id]);
    else list.push(r.id);
  }
  return ids;
}
