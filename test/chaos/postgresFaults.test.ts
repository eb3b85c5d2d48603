// PostgreSQL faults under load: the service's backends are terminated every few seconds
// (pg_terminate_backend on its application_name, in its own database), a trigger fails a share
// of writes with a serialization failure (SQLSTATE 40001, the transaction did not take effect),
// and a marked write always fails with a check violation (23514, not retryable). Counters that
// survive rollbacks (sequences) tell how often each statement was really attempted.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Client } from 'pg';
import { type ChaosStack, startChaosStack } from './helpers/chaosStack';
import { bodyScanner, parseStdout, responseProblems } from './helpers/checks';
import { type LoadHandle, type Outcome, send, startLoad, summarize } from './helpers/load';
import { mib, scenario, seconds } from './helpers/results';
import { droppedBySignal, latestByAttribute } from './helpers/telemetry';

const DURATION_S = seconds('CHAOS_PG_SECONDS', 30);
const KILL_EVERY_S = seconds('CHAOS_PG_KILL_EVERY_SECONDS', 3);
const SERIALIZATION_RATE = Number(process.env.CHAOS_PG_SERIALIZATION_RATE ?? 0.2);
const RATE = seconds('CHAOS_PG_RATE', 80);
const REJECT_MARK = 'chaos-reject';

const sc = scenario(
  'postgres-faults',
  4,
  'PostgreSQL faults',
  `${RATE} req/s, 16 connections, ${DURATION_S} s (create, patch, list, search, get) + 1 non-retryable write/s`,
  `backends terminated every ${KILL_EVERY_S} s; ${Math.round(SERIALIZATION_RATE * 100)} % of writes fail with 40001; marked writes fail with 23514`,
);

let stack: ChaosStack;
let admin: Client;
let outcomes: Outcome[] = [];
let probes: Outcome[] = [];
let terminated = 0;
let killRounds = 0;
let scan: ReturnType<typeof bodyScanner>;
const createMarks = new Map<string, Outcome | undefined>();

jest.setTimeout(300_000);

beforeAll(async () => {
  stack = await startChaosStack({ scenario: 'postgres-faults' });
  scan = bodyScanner(stack.needles());
  admin = await stack.db.admin();
  // The service has migrated: add the fault triggers. SECURITY DEFINER: the app role needs no
  // rights on the counters.
  await admin.query(`
    DROP SEQUENCE IF EXISTS chaos_serialization_failures, chaos_reject_attempts;
    CREATE SEQUENCE chaos_serialization_failures;
    CREATE SEQUENCE chaos_reject_attempts;
    CREATE OR REPLACE FUNCTION chaos_faults() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
    BEGIN
      IF NEW.content LIKE '%${REJECT_MARK}%' THEN
        PERFORM nextval('chaos_reject_attempts');
        RAISE EXCEPTION 'chaos: content refused' USING ERRCODE = 'check_violation';
      END IF;
      IF random() < coalesce(nullif(current_setting('chaos.serialization_rate', true), ''), '0')::float THEN
        PERFORM nextval('chaos_serialization_failures');
        RAISE EXCEPTION 'chaos: could not serialize access' USING ERRCODE = 'serialization_failure';
      END IF;
      RETURN NEW;
    END $$;
    DROP TRIGGER IF EXISTS chaos_faults ON memories;
    CREATE TRIGGER chaos_faults BEFORE INSERT OR UPDATE ON memories FOR EACH ROW EXECUTE FUNCTION chaos_faults();
  `);
  await admin.query(`ALTER DATABASE ${stack.db.name} SET chaos.serialization_rate = '0'`);
}, 120_000);

afterAll(async () => {
  sc.write();
  await admin?.end().catch(() => {});
  await stack?.stop();
}, 60_000);

/** Failures after which the statement provably did not take effect (safe to send again). */
const NOT_APPLIED = new Set(['40001', '40P01', '55P03', '57014', '57P03', '08001', '08004', 'not-sent']);

/**
 * Every INSERT/UPDATE the service sent, per trace, in order, with how it ended: the SQLSTATE, 'ok',
 * or what the client saw. Read from the collector tap (pg spans carry the exception).
 */
function writeAttempts(tapFile: string): Map<string, Array<{ start: bigint; code: string }>> {
  const out = new Map<string, Array<{ start: bigint; code: string }>>();
  for (const line of readFileSync(tapFile, 'utf8').split('\n')) {
    // biome-ignore lint/suspicious/noExplicitAny: OTLP/JSON read ad hoc
    let doc: any;
    try {
      doc = JSON.parse(line);
    } catch {
      continue;
    }
    for (const rs of doc.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const sp of ss.spans ?? []) {
          if (!/^pg\.query:mem_(insert|update) /.test(sp.name)) continue;
          const traceId =
            sp.traceId.length === 32 ? sp.traceId : Buffer.from(sp.traceId, 'base64').toString('hex');
          const exc = JSON.stringify(sp.events ?? []);
          const code =
            /\(code: ([0-9A-Z]{5})\)/.exec(exc)?.[1] ??
            (sp.status?.code === 2
              ? /not queryable/.test(sp.status?.message ?? '')
                ? 'not-sent'
                : (sp.status?.message ?? 'error')
              : 'ok');
          const list = out.get(traceId) ?? [];
          list.push({ start: BigInt(sp.startTimeUnixNano), code });
          out.set(traceId, list);
        }
  }
  for (const list of out.values()) list.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return out;
}

/** How many times nextval() ran on a counter (rolled-back transactions included). */
async function sequenceCount(name: string): Promise<number> {
  const r = await admin.query(`SELECT last_value, is_called FROM ${name}`);
  return r.rows[0].is_called ? Number(r.rows[0].last_value) : 0;
}

async function killBackends(): Promise<number> {
  const r = await admin.query(
    `SELECT count(*)::int AS n FROM (
       SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'memory-service' AND datname = $1 AND pid <> pg_backend_pid()) t`,
    [stack.db.name],
  );
  return r.rows[0].n as number;
}

sc.test(
  `≥ 95 % of requests succeed while backends die every ${KILL_EVERY_S} s and writes fail with 40001`,
  async () => {
    const base = stack.service.url;
    const json = { 'content-type': 'application/json' };
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await send(base, {
        method: 'POST',
        path: '/v1/memories',
        headers: { ...json, ...stack.clientHeaders },
        body: JSON.stringify({ user_id: `p${i % 10}`, content: `postgres scenario memory ${i} about jazz` }),
      });
      expect(r.status).toBe(201);
      ids.push(JSON.parse(r.raw?.toString() ?? '{}').id);
    }
    // New sessions read the rate at connect: kill the pool's sessions so they pick it up.
    await admin.query(
      `ALTER DATABASE ${stack.db.name} SET chaos.serialization_rate = '${SERIALIZATION_RATE}'`,
    );
    await killBackends();
    const rssBefore = stack.service.rssKiB();
    const run = randomBytes(3).toString('hex');
    let load: LoadHandle | undefined;
    let probeLoad: LoadHandle | undefined;
    const killer = setInterval(() => {
      killRounds++;
      void killBackends().then(
        (n) => {
          terminated += n;
        },
        () => {},
      );
    }, KILL_EVERY_S * 1000);
    try {
      load = startLoad({
        base,
        connections: 16,
        rate: RATE,
        durationMs: DURATION_S * 1000,
        headers: stack.clientHeaders,
        onBody: (o, b) => scan.scan(o, b),
        next: (i) => {
          const k = i % 10;
          if (k < 3) {
            const mark = `m-${run}-${i}`;
            createMarks.set(mark, undefined);
            return {
              method: 'POST',
              path: '/v1/memories',
              headers: json,
              body: JSON.stringify({ user_id: `p${i % 10}`, content: `${mark} load ${i} jazz piano` }),
              tag: `create ${mark}`,
            };
          }
          if (k === 3)
            return {
              method: 'PATCH',
              path: `/v1/memories/${ids[i % ids.length]}`,
              headers: json,
              body: JSON.stringify({ metadata: { n: i } }),
              tag: 'patch',
            };
          if (k < 6) return { method: 'GET', path: `/v1/memories?user_id=p${i % 10}&limit=5`, tag: 'list' };
          if (k === 6)
            return { method: 'GET', path: `/v1/memories/search?user_id=p${i % 10}&q=jazz`, tag: 'search' };
          return { method: 'GET', path: `/v1/memories/${ids[i % ids.length]}`, tag: 'get' };
        },
      });
      // Non-retryable writes, one a second, alongside.
      probeLoad = startLoad({
        base,
        connections: 1,
        rate: 1,
        durationMs: DURATION_S * 1000,
        headers: stack.clientHeaders,
        next: (i) => ({
          method: 'POST',
          path: '/v1/memories',
          headers: json,
          body: JSON.stringify({ user_id: 'probe', content: `${REJECT_MARK} ${i}` }),
          tag: 'reject',
        }),
      });
      outcomes = (await load.done).outcomes;
      probes = (await probeLoad.done).outcomes;
    } finally {
      clearInterval(killer);
      load?.stop();
      probeLoad?.stop();
    }
    await admin.query(`ALTER DATABASE ${stack.db.name} SET chaos.serialization_rate = '0'`);
    for (const o of outcomes) if (o.tag.startsWith('create ')) createMarks.set(o.tag.slice(7), o);
    sc.result.rssBeforeMiB = mib(rssBefore);
    sc.result.rssAfterMiB = mib(stack.service.rssKiB());
    const ok = outcomes.filter((o) => o.status !== undefined && o.status < 400);
    sc.result.requests = outcomes.length + probes.length;
    sc.result.failed = outcomes.length - ok.length;
    const injected = await sequenceCount('chaos_serialization_failures');
    sc.figure('backends terminated (rounds)', `${terminated} (${killRounds})`);
    sc.figure('serialization failures injected', injected);
    sc.figure('success ratio', (ok.length / outcomes.length).toFixed(4));
    sc.figure('failures by status', JSON.stringify(summarize(outcomes.filter((o) => !ok.includes(o)))));
    expect(terminated).toBeGreaterThan(0);
    expect(injected).toBeGreaterThan(0);
    expect(ok.length / outcomes.length).toBeGreaterThanOrEqual(0.95);
  },
);

sc.test(
  'every failure is a correct problem+json: retryable 503/504 for the faults, never a 500',
  async () => {
    expect(outcomes.length).toBeGreaterThan(0);
    const failures = outcomes.filter((o) => o.status === undefined || o.status >= 400);
    expect(failures.filter((o) => o.status === undefined).map((o) => o.error)).toEqual([]);
    expect(outcomes.flatMap((o) => responseProblems(o).map((p) => `${o.method} ${o.path}: ${p}`))).toEqual(
      [],
    );
    const shapes = failures.map((o) => {
      const p = JSON.parse(o.body ?? '{}');
      return `${o.status} ${p.code} ${p.category} retryable=${p.retryable}`;
    });
    sc.figure('failure kinds', [...new Set(shapes)].join('; ') || 'none');
    // A fault of the database is the server's problem and worth retrying by the client.
    expect(
      shapes.filter((s) => !/^(503|504) DB_[A-Z_]+ (unavailable|database|timeout) retryable=true$/.test(s)),
    ).toEqual([]);
  },
);

sc.test('non-retryable errors surface as 400 DB_CHECK_VIOLATION and are attempted exactly once', async () => {
  expect(probes.length).toBeGreaterThan(DURATION_S * 0.5);
  const attempts = await sequenceCount('chaos_reject_attempts');
  // The probes that reached the trigger; one may have died with its backend before reaching it.
  const answered = probes.filter((o) => o.status === 400);
  const unavailable = probes.filter((o) => o.status === 503);
  sc.figure(
    'non-retryable writes sent / answered 400 / attempts in PostgreSQL',
    `${probes.length} / ${answered.length} / ${attempts}`,
  );
  expect(answered.length + unavailable.length).toBe(probes.length);
  for (const o of answered) {
    const p = JSON.parse(o.body ?? '{}');
    expect({ code: p.code, category: p.category, retryable: p.retryable, status: p.status }).toEqual({
      code: 'DB_CHECK_VIOLATION',
      category: 'validation',
      retryable: false,
      status: 400,
    });
    // The database's own message stays inside.
    expect(o.body).not.toContain('chaos: content refused');
  }
  expect(probes.flatMap((o) => responseProblems(o))).toEqual([]);
  // Never retried: one attempt per answered probe (a 503 one may or may not have reached it).
  expect(attempts).toBeGreaterThanOrEqual(answered.length);
  expect(attempts).toBeLessThanOrEqual(probes.length);
});

sc.test(
  'nothing retried that should not be: every write landed at most once, every 201 exactly once',
  async () => {
    const rows = await admin.query<{ mark: string; n: number }>(
      `SELECT substring(content from '^(m-[0-9a-f]+-[0-9]+) ') AS mark, count(*)::int AS n
     FROM memories WHERE content LIKE 'm-%' GROUP BY 1`,
    );
    expect(createMarks.size).toBeGreaterThan(0);
    const landed = new Map(rows.rows.map((r) => [r.mark, r.n]));
    const duplicates = [...landed.entries()].filter(([, n]) => n > 1);
    const created = [...createMarks.entries()].filter(([, o]) => o?.status === 201);
    const lostCreates = created.filter(([m]) => landed.get(m) !== 1);
    const failedButLanded = [...createMarks.entries()].filter(([m, o]) => o?.status !== 201 && landed.has(m));
    sc.figure(
      'creates answered 201 / failed / failed but committed (maybe-sent)',
      `${created.length} / ${createMarks.size - created.length} / ${failedButLanded.length}`,
    );
    expect(duplicates).toEqual([]);
    expect(lostCreates).toEqual([]);
    // Each trace shows every time a write statement was sent and how it failed. After a failure
    // that may have taken effect (backend terminated mid-statement) or that is not retryable
    // (check violation), the statement must not be sent again; after one that did not take effect
    // (serialization failure) it may be.
    const attempts = writeAttempts(stack.tap.spans.path);
    const violations: string[] = [];
    let retriedWrites = 0;
    for (const [traceId, list] of attempts) {
      if (list.length > 1) retriedWrites++;
      list.slice(0, -1).forEach((a, i) => {
        if (!NOT_APPLIED.has(a.code))
          violations.push(
            `${traceId}: ${list.map((x) => x.code).join(' → ')} (retry after ${a.code} at #${i + 1})`,
          );
      });
    }
    sc.figure('writes sent more than once (all after a failure that did not take effect)', retriedWrites);
    expect(attempts.size).toBeGreaterThan(0);
    expect(violations).toEqual([]);
    expect(retriedWrites).toBeGreaterThan(0);
    // …while serialization failures (the statement did not take effect) were retried and mostly recovered.
    const metrics = stack.tap.metrics.items();
    const retries = latestByAttribute(metrics, 'resilience.retry.attempts', 'resilience.name').postgres ?? 0;
    const recovered = latestByAttribute(metrics, 'resilience.recovered', 'resilience.name').postgres ?? 0;
    sc.figure('PostgreSQL retries / calls recovered by a retry', `${retries} / ${recovered}`);
    expect(retries).toBeGreaterThan(0);
    expect(recovered).toBeGreaterThan(0);
  },
);

sc.test('telemetry is unaffected and no planted secret leaks', async () => {
  expect(outcomes.length).toBeGreaterThan(0);
  const dropped = droppedBySignal(stack.tap.metrics.items());
  sc.result.telemetryLost = `${dropped.traces} spans, ${dropped.logs} log records, ${dropped.metrics} metric points`;
  expect(dropped).toEqual({ traces: 0, logs: 0, metrics: 0 });
  expect(parseStdout(stack.service.stdoutLines()).invalid).toEqual([]);
  expect([...scan.hits, ...stack.sweepSecrets()]).toEqual([]);
});
