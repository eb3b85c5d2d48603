import { Client } from 'pg';

/** Base connection string: DATABASE_URL or the local trust-auth server. */
export const PG_BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Creates (if missing) a database of its own for one package's tests, so parallel
 * suites never see each other's tables. Returns its connection string.
 * @example const url = await createTestDatabase('mem0_errors_test');
 */
export async function createTestDatabase(name: string): Promise<string> {
  if (!/^[a-z0-9_]{1,60}$/.test(name)) throw new Error(`createTestDatabase: bad name ${name}`);
  const admin = new URL(PG_BASE_URL);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } catch (err) {
        // Two suites racing to create the same database: the loser's error is harmless.
        if ((err as { code?: string }).code !== '42P04' && (err as { code?: string }).code !== '23505')
          throw err;
      }
    }
  } finally {
    await client.end();
  }
  const url = new URL(PG_BASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
