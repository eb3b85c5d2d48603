import type { Pool } from 'pg';
import { generateMemories } from './dataset';

/**
 * Bulk-inserts the synthetic dataset with multi-row INSERTs (fast enough for 10k+ rows in
 * a few seconds), replacing whatever memories the database held.
 * @example await seedDatabase(pool, { count: 10_000, users: 500 });
 */
export async function seedDatabase(
  pool: Pool,
  opts: { count: number; users: number; seed?: number; batch?: number },
) {
  const batch = opts.batch ?? 500;
  await pool.query('TRUNCATE memories');
  let rows: unknown[] = [];
  let placeholders: string[] = [];
  const flush = async () => {
    if (rows.length === 0) return;
    await pool.query(
      `INSERT INTO memories (user_id, content, metadata) VALUES ${placeholders.join(',')}`,
      rows,
    );
    rows = [];
    placeholders = [];
  };
  for (const m of generateMemories(opts)) {
    const n = rows.length;
    placeholders.push(`($${n + 1}, $${n + 2}, $${n + 3})`);
    rows.push(m.user_id, m.content, m.metadata);
    if (placeholders.length >= batch) await flush();
  }
  await flush();
  await pool.query('ANALYZE memories');
}
