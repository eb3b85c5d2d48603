// Collector outage: the collector is stopped mid-load and started again. Requests never notice,
// memory stays bounded, and every span and log record is accounted for: what the collector
// received plus what the SDK counted in telemetry.dropped equals what the service produced.
//
// Only the http instrumentation is on here, so the number of spans produced is known exactly
// (one server span per answered request); log records produced = stdout lines.
import { waitFor } from '@mem0-stack/testkit';
import { type ChaosStack, startChaosStack } from './helpers/chaosStack';
import { bodyScanner, parseStdout, responseProblems } from './helpers/checks';
import { type LoadHandle, type Outcome, percentile, send, startLoad, summarize } from './helpers/load';
import { mib, scenario, seconds } from './helpers/results';
import { droppedBySignal } from './helpers/telemetry';

const WARM_S = seconds('CHAOS_OUTAGE_WARM_SECONDS', 10);
const OUTAGE_S = seconds('CHAOS_OUTAGE_SECONDS', 30);
const RECOVERY_S = seconds('CHAOS_OUTAGE_RECOVERY_SECONDS', 15);
// When the collector comes back, the exporter may be in its retry backoff (capped at 5 s, ±20 %
// jitter) with a full queue, so spans of the next few seconds are dropped (and counted) until
// the backlog drains (reported as a figure below).
// "Resumes by itself" is asserted for requests after this grace.
const RESUME_GRACE_MS = 8000;
const RATE = seconds('CHAOS_OUTAGE_RATE', 100);
/** Stated bound: RSS during the outage may exceed the pre-outage peak by at most this much. */
const RSS_BOUND_MIB = 64;

const sc = scenario(
  'collector-outage',
  2,
  'Collector outage',
  `${RATE} req/s, 20 connections, ${WARM_S + OUTAGE_S + RECOVERY_S} s (create / list / get)`,
  `collector stopped for ${OUTAGE_S} s mid-load, then started again`,
);

let stack: ChaosStack;
let outcomes: Outcome[] = [];
let stoppedAt = 0;
let restartedAt = 0;
const rss: Array<{ t: number; kib: number }> = [];
let scan: ReturnType<typeof bodyScanner>;

jest.setTimeout(300_000);

beforeAll(async () => {
  stack = await startChaosStack({
    scenario: 'collector-outage',
    serviceEnv: { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http' },
  });
  scan = bodyScanner(stack.needles());
}, 120_000);

afterAll(async () => {
  sc.write();
  await stack?.stop();
}, 60_000);

sc.test('requests keep succeeding while the collector is down', async () => {
  const base = stack.service.url;
  const json = { 'content-type': 'application/json' };
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await send(base, {
      method: 'POST',
      path: '/v1/memories',
      headers: { ...json, ...stack.clientHeaders },
      body: JSON.stringify({ user_id: `u${i}`, content: `memory ${i} about coffee` }),
    });
    expect(r.status).toBe(201);
    ids.push(JSON.parse(r.raw?.toString() ?? '{}').id);
  }
  const sampler = setInterval(() => {
    const kib = stack.service.rssKiB();
    if (kib !== undefined) rss.push({ t: Date.now(), kib });
  }, 500);
  let load: LoadHandle | undefined;
  try {
    load = startLoad({
      base,
      connections: 20,
      rate: RATE,
      durationMs: (WARM_S + OUTAGE_S + RECOVERY_S) * 1000,
      headers: stack.clientHeaders,
      onBody: (o, b) => scan.scan(o, b),
      next: (i) => {
        const k = i % 5;
        if (k === 0)
          return {
            method: 'POST',
            path: '/v1/memories',
            headers: json,
            body: JSON.stringify({ user_id: `u${i % 10}`, content: `outage load ${i} tea` }),
            tag: 'create',
          };
        if (k === 1) return { method: 'GET', path: `/v1/memories?user_id=u${i % 10}&limit=10`, tag: 'list' };
        return { method: 'GET', path: `/v1/memories/${ids[i % ids.length]}`, tag: 'get' };
      },
    });
    await new Promise((r) => setTimeout(r, WARM_S * 1000));
    stoppedAt = Date.now();
    await stack.collector.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_S * 1000));
    await stack.collector.start();
    restartedAt = Date.now();
    outcomes = (await load.done).outcomes;
  } finally {
    load?.stop();
    clearInterval(sampler);
  }
  sc.result.requests = outcomes.length;
  const failed = outcomes.filter((o) => o.status === undefined || o.status >= 400);
  sc.result.failed = failed.length;
  const during = outcomes.filter((o) => o.startedAt >= stoppedAt && o.startedAt < restartedAt);
  const before = outcomes.filter((o) => o.startedAt < stoppedAt);
  sc.figure(
    'p95 before / during outage (ms)',
    `${percentile(
      before.map((o) => o.ms),
      95,
    ).toFixed(1)} / ${percentile(
      during.map((o) => o.ms),
      95,
    ).toFixed(1)}`,
  );
  sc.figure('requests during the outage', during.length);
  expect(summarize(failed)).toEqual({});
  expect(outcomes.flatMap((o) => responseProblems(o))).toEqual([]);
  expect(during.length).toBeGreaterThan(OUTAGE_S * RATE * 0.5);
});

sc.test(`RSS stays bounded during the outage (peak ≤ pre-outage peak + ${RSS_BOUND_MIB} MiB)`, async () => {
  const pre = rss.filter((s) => s.t < stoppedAt).map((s) => s.kib);
  const out = rss.filter((s) => s.t >= stoppedAt && s.t < restartedAt).map((s) => s.kib);
  const post = rss.filter((s) => s.t >= restartedAt).map((s) => s.kib);
  expect(pre.length).toBeGreaterThan(0);
  expect(out.length).toBeGreaterThan(0);
  const prePeak = Math.max(...pre);
  const outPeak = Math.max(...out);
  sc.result.rssBeforeMiB = mib(prePeak);
  sc.result.rssAfterMiB = mib(post.length > 0 ? Math.max(...post) : outPeak);
  sc.figure(
    'RSS peak before / during / after outage (MiB)',
    `${mib(prePeak)} / ${mib(outPeak)} / ${sc.result.rssAfterMiB}`,
  );
  expect((outPeak - prePeak) / 1024).toBeLessThanOrEqual(RSS_BOUND_MIB);
});

sc.test('export resumes by itself: every request after the restart reaches the collector', async () => {
  const after = outcomes.filter(
    (o) => o.startedAt >= restartedAt + RESUME_GRACE_MS && o.status !== undefined,
  );
  expect(after.length).toBeGreaterThan(0);
  const seen = await waitFor(
    () => {
      const ids = new Set(stack.tap.spans.items().map((s) => s.traceId));
      return after.every((o) => ids.has(o.traceId as string)) && ids;
    },
    { timeoutMs: 30_000, what: 'spans of the requests sent after the restart at the collector' },
  ).catch(() => new Set(stack.tap.spans.items().map((s) => s.traceId)));
  // How long after the restart spans were still being lost (0 when none were).
  const lostAfterRestart = outcomes.filter(
    (o) => o.startedAt >= restartedAt && o.status !== undefined && !seen.has(o.traceId as string),
  );
  sc.figure(
    'spans lost after the restart (requests; last one started ms after the restart)',
    `${lostAfterRestart.length}; ${Math.max(0, ...lostAfterRestart.map((o) => o.startedAt - restartedAt))}`,
  );
  expect(after.filter((o) => !seen.has(o.traceId as string)).length).toBe(0);
});

sc.test(
  'nothing lost uncounted: received + telemetry.dropped = produced, for spans and log records',
  async () => {
    // Quiet: no new stdout line, collector counts stable, and a metric export after the last line
    // (so telemetry.dropped is final).
    let lines = 0;
    await waitFor(
      async () => {
        const now = stack.service.stdoutLines().length;
        const stable = now === lines;
        lines = now;
        await stack.settle(2500, 30_000);
        return stable;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'the service and the collector to go quiet' },
    );
    const lastLineAt = Date.parse(
      String(parseStdout(stack.service.stdoutLines().slice(-1)).records[0]?.timestamp ?? 0),
    );
    await waitFor(
      () =>
        stack.tap.metrics
          .items()
          .some(
            (m) =>
              m.name === 'log.records' ||
              m.name === 'http.server.request.duration' ||
              m.name === 'telemetry.dropped',
          ) &&
        stack.tap.metrics.documents() > 0 &&
        Date.now() - lastLineAt > 5000,
      { timeoutMs: 30_000, what: 'a metric export after the last log line' },
    );
    const stdout = parseStdout(stack.service.stdoutLines());
    expect(stdout.invalid).toEqual([]);
    const dropped = droppedBySignal(stack.tap.metrics.items());
    const spans = stack.tap.spans.items();
    const logs = stack.tap.logs.items();
    const answered = outcomes.filter((o) => o.status !== undefined).length + 10; // + the seed POSTs
    const uniqueSpans = new Set(spans.map((s) => `${s.traceId}/${s.spanId}`)).size;
    const account = {
      spans: {
        produced: answered,
        received: spans.length,
        dropped: dropped.traces,
        duplicates: spans.length - uniqueSpans,
      },
      logs: { produced: stdout.records.length, received: logs.length, dropped: dropped.logs },
    };
    sc.figure(
      'spans produced / received / dropped',
      `${account.spans.produced} / ${account.spans.received} / ${account.spans.dropped}`,
    );
    sc.figure(
      'log records produced / received / dropped',
      `${account.logs.produced} / ${account.logs.received} / ${account.logs.dropped}`,
    );
    sc.figure('metric data points dropped (counted)', dropped.metrics);
    sc.result.telemetryLost = `${dropped.traces} spans, ${dropped.logs} log records (all counted in telemetry.dropped; uncounted: ${account.spans.produced - account.spans.received - account.spans.dropped} / ${account.logs.produced - account.logs.received - account.logs.dropped})`;
    // Every span at the collector is a server span of a request (the accounting premise).
    expect(spans.filter((s) => s.kind !== 2).map((s) => s.name)).toEqual([]);
    expect(account.spans.duplicates).toBe(0);
    expect(account.spans.received + account.spans.dropped).toBe(account.spans.produced);
    expect(account.logs.received + account.logs.dropped).toBe(account.logs.produced);
    // The outage really cost something, or this scenario proved nothing.
    expect(account.spans.dropped + account.logs.dropped).toBeGreaterThan(0);
    // What the collector received also reached the backends (its queue survived its own restart).
    expect(stack.stored.spans.items().length).toBe(spans.length);
    expect(stack.stored.logs.items().length).toBe(logs.length);
  },
);

sc.test('no planted secret in any output or response body', async () => {
  expect(scan.scanned).toBeGreaterThan(0);
  expect([...scan.hits, ...stack.sweepSecrets()]).toEqual([]);
});
