import { Pool, type PoolConfig, type QueryResultRow } from 'pg';
import type { AppLogger } from './app';
import type { Queryable } from './memoryRepository';

/** The pool plus what the service measures about it. */
export type Database = {
  pool: Pool;
  /** Counts every statement and logs the slow ones; the repository queries through it. */
  db: Queryable;
  /** Statements run since start (the bench's fallback when pg_stat_statements is off). */
  queryCount(): number;
  check(): Promise<void>;
  close(): Promise<void>;
};

// Literals out, placeholders kept: the slow-query log must never carry user content.
function sanitize(sql: string): string {
  return sql
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\b\d+(\.\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 1000);
}

/**
 * Opens a bounded pool: a fixed maximum, connect and statement timeouts so a stuck
 * database fails requests fast instead of queueing them forever.
 * @example const database = createDatabase({ url, max: 10, slowQueryMs: 200, log });
 */
export function createDatabase(opts: {
  url: string;
  max: number;
  slowQueryMs: number;
  log: AppLogger;
  pool?: Partial<PoolConfig>;
}): Database {
  const pool = new Pool({
    connectionString: opts.url,
    max: opts.max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    statement_timeout: 10_000,
    query_timeout: 12_000,
    application_name: 'memory-service',
    ...opts.pool,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', (err) => opts.log.warn('pg.pool.error', { 'error.message': err.message }));
  let count = 0;
  const db: Queryable = {
    async query<R extends QueryResultRow>(q: { name: string; text: string; values: unknown[] }) {
      count++;
      const started = performance.now();
      const r = await pool.query<R>(q);
      const ms = performance.now() - started;
      if (ms >= opts.slowQueryMs) {
        opts.log.warn('db.slow_query', {
          'db.query.name': q.name,
          'db.query.text': sanitize(q.text),
          'db.duration_ms': Math.round(ms * 10) / 10,
        });
      }
      return r;
    },
  };
  return {
    pool,
    db,
    queryCount: () => count,
    async check() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}
