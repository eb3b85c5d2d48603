// Redis outage (a redis-server of the scenario's own), twice: killed (the client disconnects;
// the cache bypasses Redis while it is not ready) and then hung (connected but not answering:
// commands time out until the cache's breaker opens). Reads are served from PostgreSQL, degraded
// but never an error; the breaker closes once Redis answers again and the hit rate comes back.
// The in-process L1 is off here so that every cached read depends on Redis.
import { waitFor } from '@mem0-stack/testkit';
import { createClient } from 'redis';
import { type ChaosStack, startChaosStack } from './helpers/chaosStack';
import { bodyScanner, parseStdout, responseProblems } from './helpers/checks';
import { type LoadHandle, type Outcome, send, startLoad, summarize } from './helpers/load';
import { mib, scenario, seconds } from './helpers/results';
import { droppedBySignal } from './helpers/telemetry';

const WARM_S = seconds('CHAOS_REDIS_WARM_SECONDS', 8);
const OUTAGE_S = seconds('CHAOS_REDIS_OUTAGE_SECONDS', 12);
const RECOVERY_S = seconds('CHAOS_REDIS_RECOVERY_SECONDS', 10);
const HANG_S = seconds('CHAOS_REDIS_HANG_SECONDS', 8);
const RATE = seconds('CHAOS_REDIS_RATE', 100);
const BREAKER = 'cache.memory-service';

const sc = scenario(
  'redis-outage',
  3,
  'Redis outage',
  `${RATE} req/s, 20 connections, ${WARM_S + OUTAGE_S + HANG_S + 2 * RECOVERY_S} s (70 % get, 15 % list, 15 % create), L1 off`,
  `dedicated redis-server killed for ${OUTAGE_S} s (restarted empty), later hung (CLIENT PAUSE) for ${HANG_S} s`,
);

type Stats = {
  t: number;
  hits: number;
  requests: number;
  errors: number;
  breaker: string;
  queries: number;
  served: number;
};

let stack: ChaosStack;
let outcomes: Outcome[] = [];
let stoppedAt = 0;
let restartedAt = 0;
let pausedAt = 0;
let resumedAt = 0;
const stats: Stats[] = [];
const ready: Array<{ t: number; status: number; body: string }> = [];
let wrongBodies = 0;
let scan: ReturnType<typeof bodyScanner>;

jest.setTimeout(300_000);

beforeAll(async () => {
  stack = await startChaosStack({
    scenario: 'redis-outage',
    dedicatedRedis: true,
    serviceEnv: { MEM0_CACHE_L1: 'off' },
  });
  scan = bodyScanner(stack.needles());
}, 120_000);

afterAll(async () => {
  sc.write();
  await stack?.stop();
}, 60_000);

async function pollStats(base: string): Promise<void> {
  const r = await send(base, { method: 'GET', path: '/internal/stats' });
  if (r.status !== 200 || !r.raw) return;
  const s = JSON.parse(r.raw.toString());
  stats.push({
    t: Date.now(),
    hits: s.cache.hits,
    requests: s.cache.requests,
    errors: s.cache.errors,
    breaker: s.cache.redis?.breaker,
    queries: s.db?.queries ?? 0,
    served: s.http?.requests ?? 0,
  });
  const rd = await send(base, { method: 'GET', path: '/readyz' });
  ready.push({ t: Date.now(), status: rd.status ?? 0, body: rd.raw?.toString() ?? '' });
}

/** Hit ratio and database queries per request between two moments, from the stats samples. */
function window(from: number, to: number) {
  const inside = stats.filter((s) => s.t >= from && s.t <= to);
  const a = inside[0];
  const b = inside[inside.length - 1];
  if (!a || !b || b.requests === a.requests) return { hitRatio: Number.NaN, queriesPerRequest: Number.NaN };
  return {
    hitRatio: (b.hits - a.hits) / (b.requests - a.requests),
    queriesPerRequest: (b.queries - a.queries) / Math.max(1, b.served - a.served),
  };
}

sc.test('no 5xx while Redis is down: reads are served from PostgreSQL', async () => {
  const base = stack.service.url;
  const json = { 'content-type': 'application/json' };
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await send(base, {
      method: 'POST',
      path: '/v1/memories',
      headers: { ...json, ...stack.clientHeaders },
      body: JSON.stringify({ user_id: `r${i % 5}`, content: `redis scenario memory ${i}` }),
    });
    expect(r.status).toBe(201);
    ids.push(JSON.parse(r.raw?.toString() ?? '{}').id);
  }
  const rssBefore = stack.service.rssKiB();
  const poller = setInterval(() => void pollStats(base).catch(() => {}), 500);
  let load: LoadHandle | undefined;
  try {
    load = startLoad({
      base,
      connections: 20,
      rate: RATE,
      durationMs: (WARM_S + OUTAGE_S + HANG_S + 2 * RECOVERY_S) * 1000,
      headers: stack.clientHeaders,
      onBody: (o, b) => {
        scan.scan(o, b);
        if (o.tag === 'get' && o.status === 200) {
          const id = o.path.split('/').pop();
          if (JSON.parse(b.toString()).id !== id) wrongBodies++;
        }
      },
      next: (i) => {
        const k = i % 20;
        if (k < 3)
          return {
            method: 'POST',
            path: '/v1/memories',
            headers: json,
            body: JSON.stringify({ user_id: `r${i % 5}`, content: `redis load ${i}` }),
            tag: 'create',
          };
        if (k < 6) return { method: 'GET', path: `/v1/memories?user_id=r${i % 5}&limit=10`, tag: 'list' };
        return { method: 'GET', path: `/v1/memories/${ids[i % ids.length]}`, tag: 'get' };
      },
    });
    await new Promise((r) => setTimeout(r, WARM_S * 1000));
    stoppedAt = Date.now();
    await stack.redis?.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_S * 1000));
    await stack.redis?.start();
    restartedAt = Date.now();
    await new Promise((r) => setTimeout(r, RECOVERY_S * 1000));
    // Hung, not gone: the connection stays up, every command waits.
    const admin = createClient({ url: stack.redisUrl });
    await admin.connect();
    try {
      await admin.sendCommand(['CLIENT', 'PAUSE', String(HANG_S * 1000), 'ALL']);
    } finally {
      await admin.destroy();
    }
    pausedAt = Date.now();
    await new Promise((r) => setTimeout(r, HANG_S * 1000));
    resumedAt = Date.now();
    outcomes = (await load.done).outcomes;
  } finally {
    load?.stop();
    clearInterval(poller);
  }
  await pollStats(base);
  sc.result.rssBeforeMiB = mib(rssBefore);
  sc.result.rssAfterMiB = mib(stack.service.rssKiB());
  sc.result.requests = outcomes.length;
  const bad = outcomes.filter((o) => o.status === undefined || o.status >= 400);
  sc.result.failed = bad.length;
  const during = outcomes.filter((o) => o.startedAt >= stoppedAt + 1000 && o.startedAt < restartedAt);
  const hung = outcomes.filter((o) => o.startedAt >= pausedAt && o.startedAt < resumedAt);
  sc.figure('requests while Redis was down / hung', `${during.length} / ${hung.length}`);
  sc.figure('max latency while Redis was hung (ms)', Math.round(Math.max(...hung.map((o) => o.ms))));
  expect(summarize(bad)).toEqual({});
  expect(outcomes.flatMap((o) => responseProblems(o))).toEqual([]);
  expect(wrongBodies).toBe(0);
  expect(during.length).toBeGreaterThan(OUTAGE_S * RATE * 0.5);
});

sc.test('degraded, not down: /readyz says "degraded" (200) and reads go to PostgreSQL', async () => {
  const mid = ready.filter(
    (r) => (r.t >= stoppedAt + 3000 && r.t < restartedAt) || (r.t >= pausedAt + 2000 && r.t < resumedAt),
  );
  expect(mid.length).toBeGreaterThan(0);
  expect(mid.map((r) => `${r.status} ${JSON.parse(r.body).status}`)).toContain('200 degraded');
  expect(mid.filter((r) => r.status !== 200)).toEqual([]);
  const warm = window(stoppedAt - WARM_S * 1000 + 3000, stoppedAt);
  const down = window(stoppedAt + 3000, restartedAt);
  const hung = window(pausedAt + 2000, resumedAt);
  sc.figure(
    'PostgreSQL queries per request, warm / Redis down / Redis hung',
    `${warm.queriesPerRequest.toFixed(2)} / ${down.queriesPerRequest.toFixed(2)} / ${hung.queriesPerRequest.toFixed(2)}`,
  );
  // Cached reads cost no query; with Redis gone or hung every read is a query.
  expect(down.queriesPerRequest).toBeGreaterThan(0.6);
  expect(hung.queriesPerRequest).toBeGreaterThan(0.6);
  expect(warm.queriesPerRequest).toBeLessThan(0.4);
  const last = ready[ready.length - 1];
  expect(last && JSON.parse(last.body).status).toBe('ok');
});

sc.test('the cache breaker opened while Redis hung and closed once it answered again', async () => {
  const logs = parseStdout(stack.service.stdoutLines()).records;
  const transitions = logs
    .filter((r) => r['resilience.name'] === BREAKER && r['resilience.circuit.to'] !== undefined)
    .map((r) => ({ t: Date.parse(String(r.timestamp)), to: String(r['resilience.circuit.to']) }));
  const opened = transitions.find((x) => x.to === 'open' && x.t >= pausedAt);
  const closed = transitions.find((x) => x.to === 'closed' && x.t >= resumedAt);
  sc.figure(
    'breaker transitions',
    transitions.map((x) => `${x.to}@${((x.t - stoppedAt) / 1000).toFixed(1)}s`).join(', '),
  );
  expect(opened).toBeDefined();
  expect(closed).toBeDefined();
  sc.figure(
    'breaker opened after the hang began / closed after it ended',
    `${((opened?.t ?? 0) - pausedAt) / 1000} s / ${((closed?.t ?? 0) - resumedAt) / 1000} s`,
  );
  expect(stats.filter((s) => s.t > pausedAt && s.t < resumedAt).map((s) => s.breaker)).toContain('open');
  expect(stats[stats.length - 1]?.breaker).toBe('closed');
});

sc.test('the hit rate recovers after the restart', async () => {
  const warm = window(stoppedAt - WARM_S * 1000 + 3000, stoppedAt);
  const down = window(stoppedAt + 3000, restartedAt);
  const afterRestart = window(restartedAt + (RECOVERY_S * 1000) / 2, pausedAt);
  const hung = window(pausedAt + 2000, resumedAt);
  const end = window(resumedAt + (RECOVERY_S * 1000) / 2, resumedAt + RECOVERY_S * 1000);
  sc.figure(
    'hit ratio warm / down / after restart / hung / end',
    [warm, down, afterRestart, hung, end].map((w) => w.hitRatio.toFixed(2)).join(' / '),
  );
  expect(warm.hitRatio).toBeGreaterThan(0.5);
  expect(down.hitRatio).toBeLessThan(0.2);
  expect(hung.hitRatio).toBeLessThan(0.2);
  expect(afterRestart.hitRatio).toBeGreaterThanOrEqual(warm.hitRatio * 0.9);
  expect(end.hitRatio).toBeGreaterThanOrEqual(warm.hitRatio * 0.9);
});

sc.test('telemetry is unaffected and no planted secret leaks', async () => {
  await waitFor(() => droppedBySignal(stack.tap.metrics.items()) !== undefined, { timeoutMs: 5000 });
  const dropped = droppedBySignal(stack.tap.metrics.items());
  sc.result.telemetryLost = `${dropped.traces} spans, ${dropped.logs} log records, ${dropped.metrics} metric points`;
  expect(dropped).toEqual({ traces: 0, logs: 0, metrics: 0 });
  expect(parseStdout(stack.service.stdoutLines()).invalid).toEqual([]);
  expect([...scan.hits, ...stack.sweepSecrets()]).toEqual([]);
});
