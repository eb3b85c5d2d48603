import type { Pool } from 'pg';

/** One schema change, applied once and recorded in `schema_migrations`. */
export type Migration = { version: number; name: string; sql: string };

/**
 * The schema: the composite (user_id, created_at, id) index serves keyset pagination
 * without a sort; the GIN index on the stored tsvector serves full-text search.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'memories',
    sql: `
      CREATE TABLE IF NOT EXISTS memories (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id text NOT NULL,
        content text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED
      );
      CREATE INDEX IF NOT EXISTS memories_user_created_idx ON memories (user_id, created_at DESC, id DESC);
      CREATE INDEX IF NOT EXISTS memories_content_tsv_idx ON memories USING gin (content_tsv);
    `,
  },
];

// Any constant works; it only has to be the same for every instance of the service.
const MIGRATION_LOCK = 0x6d656d30;

/**
 * Applies pending migrations inside one transaction under an advisory lock, so two
 * instances starting together neither race nor fail; running it again is a no-op.
 * @example await migrate(pool); // on every start
 */
export async function migrate(pool: Pool, list: readonly Migration[] = migrations): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    for (const m of list) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
