import type { Logger } from '@mem0-stack/logging';
import { startTimer } from '@mem0-stack/logging';
import { type PresetPolicy, presets, resilientPool, timeout } from '@mem0-stack/resilience';
import { Pool, type PoolConfig, type QueryResultRow } from 'pg';
import type { Queryable } from './memoryRepository';

const SLOW_LINES_PER_SECOND = 20;

/** The pool plus what the service measures about it. */
export type Database = {
  /** The pool, wrapped by `resilientPool` (retry → breaker → timeout per call). */
  pool: Pool;
  /** The resilience policy around every call; `breaker.state` feeds /readyz. */
  policy: PresetPolicy;
  /** Counts every statement and logs the slow ones; the repository queries through it. */
  db: Queryable;
  /** Statements run since start (the bench's fallback when pg_stat_statements is off). */
  queryCount(): number;
  check(): Promise<void>;
  close(): Promise<void>;
};

/**
 * Literals out, placeholders kept: the slow-query log must never carry user content.
 * @example sanitizeSql("SELECT 1 FROM t WHERE a = 'x'") // 'SELECT ? FROM t WHERE a = ?'
 */
export function sanitizeSql(sql: string): string {
  return sql
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/(?<![$\w])\d+(\.\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 1000);
}

/**
 * Opens a bounded pool behind `resilientPool` with the `presets.database()` policy: reads are
 * retried on transient failures, a failing database opens the breaker (fast 503s instead of a
 * queue), and a call past `timeoutMs` is cancelled on the server. Every statement is timed
 * (`operation.duration{operation="db.query"}` and a debug line); one slower than `slowQueryMs`
 * also gets a `db.slow_query` warn line with the sanitized statement, the trace id and the
 * pool queue it met (at most 20 such lines a second, then a count).
 * @example const database = createDatabase({ url, max: 10, slowQueryMs: 200, timeoutMs: 5000, logger });
 */
export function createDatabase(opts: {
  url: string;
  max: number;
  slowQueryMs: number;
  timeoutMs: number;
  logger: Logger;
  pool?: Partial<PoolConfig>;
}): Database {
  const raw = new Pool({
    connectionString: opts.url,
    max: opts.max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    // The server-side limit backs up the client-side deadline if the cancel request is lost.
    statement_timeout: opts.timeoutMs * 2,
    application_name: 'memory-service',
    ...opts.pool,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  raw.on('error', (err) => opts.logger.warn('pg.pool.error', { 'error.message': err.message }));
  const policy = presets.database({ name: 'postgres', timeoutMs: opts.timeoutMs });
  const probe = timeout(1000);
  const pool = resilientPool(raw, { policy, logger: opts.logger });
  let count = 0;
  // Statements are a fixed set: sanitize each text once, not on every call.
  const sanitized = new Map<string, string>();
  // Per-statement timing at debug (dropped before formatting unless enabled) and the
  // operation.duration metric; slow statements get their own warn line below.
  const timerOptions = { logger: opts.logger, level: 'debug', errorLevel: 'debug' };
  // When everything is slow (an overloaded database), one warn line per statement would become
  // a log storm that slows the service further: at most SLOW_LINES_PER_SECOND, then a count.
  let slowBudget = SLOW_LINES_PER_SECOND;
  let suppressed = 0;
  const refill = setInterval(() => {
    if (suppressed > 0)
      opts.logger.warn('db.slow_query_suppressed', {
        count: suppressed,
        'db.slow_query.threshold_ms': opts.slowQueryMs,
      });
    suppressed = 0;
    slowBudget = SLOW_LINES_PER_SECOND;
  }, 1000);
  refill.unref();
  const sanitizedText = (text: string) => {
    let s = sanitized.get(text);
    if (s === undefined) {
      s = sanitizeSql(text);
      if (sanitized.size < 1000) sanitized.set(text, s);
    }
    return s;
  };
  const db: Queryable = {
    async query<R extends QueryResultRow>(q: { name: string; text: string; values: unknown[] }) {
      count++;
      // Requests already queued for a connection when this one started: a slow statement with
      // a queue in front of it is a pool-size problem, not a query-plan problem.
      const queued = raw.waitingCount;
      const t = startTimer('db.query', { 'db.query.name': q.name }, timerOptions);
      try {
        const r = await pool.query<R>(q);
        const ms = t.done({ 'db.response.returned_rows': r.rowCount ?? r.rows.length });
        if (ms >= opts.slowQueryMs) {
          if (slowBudget > 0) {
            slowBudget--;
            opts.logger.warn('db.slow_query', {
              'db.query.name': q.name,
              'db.query.text': sanitizedText(q.text),
              duration_ms: Math.round(ms * 1000) / 1000,
              'db.client.connections.pending_requests': queued,
              'db.response.returned_rows': r.rowCount ?? r.rows.length,
            });
          } else suppressed++;
        }
        return r;
      } catch (err) {
        t.fail(err);
        throw err;
      }
    },
  };
  return {
    pool,
    policy,
    db,
    queryCount: () => count,
    // A probe answers fast or fails: no retries, one second at most (a load balancer's probe
    // gives up sooner than the retry policy would).
    async check() {
      await probe.execute(() => raw.query('SELECT 1'));
    },
    async close() {
      clearInterval(refill);
      await raw.end();
    },
  };
}
