// Fault injection against the real PostgreSQL: backends killed with pg_terminate_backend while
// a workload runs, plus serialization failures forced on ~20 % of statements. Everything goes
// through resilientPool() with the database preset.
import { classify } from '@mem0-stack/errors';
import {
  isPolicyTimeoutError,
  isReadOnlyStatement,
  presets,
  type RetryEvent,
  resilientPool,
} from '@mem0-stack/resilience';
import { createTestDatabase } from '@mem0-stack/testkit';
import { Client, Pool } from 'pg';

const APP = `resilience_fault_${process.pid}`;
const TABLE = `ops_${process.pid}_${Date.now().toString(36)}`;
let url: string;
let admin: Client;

beforeAll(async () => {
  url = await createTestDatabase('mem0_resilience_test');
  admin = new Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE TABLE ${TABLE} (id text PRIMARY KEY, n int NOT NULL)`);
  // Raises SQLSTATE 40001 with probability p: what a busy SERIALIZABLE workload produces.
  await admin.query(`
    CREATE OR REPLACE FUNCTION inject_serialization_failure(p float8) RETURNS boolean
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
      IF random() < p THEN
        RAISE EXCEPTION 'could not serialize access due to concurrent update (injected)'
          USING ERRCODE = 'serialization_failure';
      END IF;
      RETURN true;
    END $$`);
});

afterAll(async () => {
  await admin.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await admin.end();
});

/**
 * Kills one random backend of `app` each time `kill()` is called. The workload calls it every
 * few operations, so the number of kills does not depend on how fast the machine runs them (a
 * timer every 150 ms killed only 6 backends on a fast machine: the workload was over in 1 s).
 */
function createTerminator(app: string) {
  let killed = 0;
  const pending: Array<Promise<void>> = [];
  return {
    kill() {
      pending.push(
        admin
          .query(
            `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
              WHERE application_name = $1 AND pid <> pg_backend_pid() ORDER BY random() LIMIT 1`,
            [app],
          )
          .then((r) => {
            if (r.rows[0]?.ok) killed++;
          }),
      );
    },
    async stop() {
      await Promise.all(pending);
      return killed;
    },
  };
}

describe('resilientPool + presets.database() under injected faults', () => {
  it('≥ 95 % of logical operations succeed with backends terminated and 20 % serialization failures', async () => {
    const retries: RetryEvent[] = [];
    const raw = new Pool({ connectionString: url, max: 8, application_name: APP });
    // Writes carry a client-generated key and ON CONFLICT DO NOTHING, so running one twice is
    // harmless: the app says so, and those are retried even after a maybe-sent failure.
    const idempotentWrite = /ON CONFLICT \(id\) DO NOTHING/i;
    const pool = resilientPool(raw, {
      policy: presets.database({ retry: { onRetry: (e) => retries.push(e) } }),
      idempotent: (sql) => isReadOnlyStatement(sql) || idempotentWrite.test(sql),
    });
    const terminator = createTerminator(APP);
    const OPS = 1_000;
    const KILL_EVERY = 50; // operations between two backend kills: 20 kills per run
    const CONCURRENCY = 8;
    let next = 0;
    type Kind = 'read' | 'upsert' | 'insert';
    const outcomes: Array<{ kind: Kind; ok: boolean; id: string; code?: string }> = [];
    async function worker() {
      while (next < OPS) {
        const i = next++;
        if (i % KILL_EVERY === KILL_EVERY / 2) terminator.kill();
        const id = `op-${i}`;
        // 50 % reads, 40 % idempotent writes, 10 % plain (non-idempotent) inserts.
        const kind: Kind = i % 10 < 5 ? 'read' : i % 10 < 9 ? 'upsert' : 'insert';
        try {
          if (kind === 'read') {
            // A short sleep keeps statements in flight, so terminations hit running queries too.
            await pool.query(
              `SELECT inject_serialization_failure(0.2) AS ok, pg_sleep(0.002),
                      (SELECT count(*) FROM ${TABLE}) AS n`,
            );
          } else if (kind === 'upsert') {
            await pool.query(
              `INSERT INTO ${TABLE} (id, n) SELECT $1, $2 WHERE inject_serialization_failure(0.2)
               ON CONFLICT (id) DO NOTHING`,
              [id, i],
            );
          } else {
            await pool.query(
              `INSERT INTO ${TABLE} (id, n) SELECT $1, $2 WHERE inject_serialization_failure(0.2)`,
              [id, i],
            );
          }
          outcomes.push({ kind, ok: true, id });
        } catch (err) {
          outcomes.push({ kind, ok: false, id, code: classify(err).code });
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const killed = await terminator.stop();
    await raw.end();

    const ok = outcomes.filter((o) => o.ok).length;
    const rate = ok / outcomes.length;
    const failed = outcomes.filter((o) => !o.ok);
    const retriedCodes = retries.map((e) => classify(e.error).code);
    const count = (xs: Array<string | undefined>, c: string) => xs.filter((x) => x === c).length;
    const byKind = (k: Kind) => {
      const of = outcomes.filter((o) => o.kind === k);
      return `${of.filter((o) => o.ok).length}/${of.length}`;
    };
    console.log(
      JSON.stringify({
        ops: outcomes.length,
        succeeded: ok,
        rate,
        reads: byKind('read'),
        idempotentWrites: byKind('upsert'),
        plainInserts: byKind('insert'),
        killed,
        retries: retries.length,
        retriedSerialization: count(retriedCodes, 'DB_SERIALIZATION_FAILURE'),
        retriedConnectionLoss: count(retriedCodes, 'DB_SHUTDOWN') + count(retriedCodes, 'DB_CONNECTION_LOST'),
        failedCodes: failed.map((o) => `${o.kind}:${o.code}`),
      }),
    );
    expect(outcomes).toHaveLength(OPS);
    expect(killed).toBeGreaterThan(10);
    expect(count(retriedCodes, 'DB_SERIALIZATION_FAILURE')).toBeGreaterThan(OPS * 0.1);
    expect(count(retriedCodes, 'DB_SHUTDOWN') + count(retriedCodes, 'DB_CONNECTION_LOST')).toBeGreaterThan(0);
    expect(rate).toBeGreaterThanOrEqual(0.95);
    // No write was retried into its own primary key (a wrong retry of a maybe-sent INSERT), and
    // plain inserts failed only on transient errors (connection loss is not retried for them).
    expect(failed.map((o) => o.code)).not.toContain('DB_UNIQUE_VIOLATION');
    for (const f of failed) {
      expect(['DB_SHUTDOWN', 'DB_CONNECTION_LOST', 'DB_SERIALIZATION_FAILURE']).toContain(f.code);
    }

    // Every write reported successful is stored, exactly once (primary key).
    const rows = await admin.query<{ id: string }>(`SELECT id FROM ${TABLE}`);
    const stored = new Set(rows.rows.map((r) => r.id));
    for (const o of outcomes) if (o.kind !== 'read' && o.ok) expect(stored.has(o.id)).toBe(true);
  }, 120_000);

  it('never retries a unique violation or a syntax error, and they never open the breaker', async () => {
    const retries: RetryEvent[] = [];
    const policy = presets.database({
      retry: { onRetry: (e) => retries.push(e) },
      breaker: { trigger: { kind: 'consecutive', threshold: 3 } },
    });
    const raw = new Pool({ connectionString: url, max: 2 });
    let acquired = 0;
    raw.on('acquire', () => acquired++);
    const pool = resilientPool(raw, { policy });
    await pool.query(`INSERT INTO ${TABLE} (id, n) VALUES ('dup', 1) ON CONFLICT DO NOTHING`);
    acquired = 0;
    for (let i = 0; i < 10; i++) {
      await expect(pool.query(`INSERT INTO ${TABLE} (id, n) VALUES ('dup', 2)`)).rejects.toMatchObject({
        code: '23505',
      });
      await expect(pool.query('SELEC 1')).rejects.toMatchObject({ code: '42601' });
    }
    expect(acquired).toBe(20); // one attempt (one connection checkout) per statement
    expect(retries).toHaveLength(0);
    expect(policy.breaker?.state).toBe('closed');
    await raw.end();
  });

  it('keeps the pg API: callbacks, query configs, results', async () => {
    const raw = new Pool({ connectionString: url, max: 2 });
    const pool = resilientPool(raw);
    const r = await pool.query<{ x: number }>({ text: 'SELECT $1::int AS x', values: [7] });
    expect(r.rows).toEqual([{ x: 7 }]);
    const viaCb = await new Promise<unknown>((resolve, reject) =>
      pool.query('SELECT 1 AS one', (err: Error | undefined, res: { rows: unknown[] }) =>
        err ? reject(err) : resolve(res.rows),
      ),
    );
    expect(viaCb).toEqual([{ one: 1 }]);
    const client = await pool.connect();
    await client.query('SELECT 1');
    client.release();
    expect(pool.totalCount).toBeGreaterThan(0);
    await raw.end();
  });

  it('a timed-out statement is cancelled on the server', async () => {
    const app = `${APP}_cancel`;
    const raw = new Pool({ connectionString: url, max: 2, application_name: app });
    const pool = resilientPool(raw, { policy: presets.database({ timeoutMs: 300 }) });
    const t0 = Date.now();
    const err = await pool.query('SELECT pg_sleep(10)').catch((e: unknown) => e);
    const took = Date.now() - t0;
    expect(isPolicyTimeoutError(err)).toBe(true);
    expect(took).toBeLessThan(2_000);
    // The backend stops running the statement shortly after (pg_cancel_backend).
    let running = 1;
    for (let i = 0; i < 40 && running > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const r = await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE '%pg_sleep(10)%'`,
        [app],
      );
      running = r.rows[0].n;
    }
    expect(running).toBe(0);
    await raw.end();
  }, 30_000);

  it('an idle client killed by the server does not crash the process', async () => {
    const app = `${APP}_idle`;
    const raw = new Pool({ connectionString: url, max: 2, application_name: app });
    const pool = resilientPool(raw);
    await pool.query('SELECT 1');
    const killed = await admin.query(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [app],
    );
    expect(killed.rows[0].n).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    await expect(pool.query('SELECT 2 AS two')).resolves.toMatchObject({ rows: [{ two: 2 }] });
    await raw.end();
  });
});
