// Soak: moderate, steady load with a realistic mix (cache hits and misses, writes that
// invalidate, searches, 4xx paths, incoming trace context and baggage) for SOAK_MINUTES. Heap and
// RSS must not trend upwards (no leak in context propagation, caches or exporters) and the p95
// must not drift.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHAOS_DIR, type ChaosStack, startChaosStack } from './helpers/chaosStack';
import { bodyScanner, parseStdout, responseProblems } from './helpers/checks';
import { type LoadHandle, type Outcome, percentile, send, startLoad, summarize } from './helpers/load';
import { scenario } from './helpers/results';
import { droppedBySignal } from './helpers/telemetry';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 1.5);
const RATE = Number(process.env.SOAK_RATE ?? 100);
/** Stated bounds, over the part of the run after the first third (warm-up). */
const HEAP_SLOPE_MIB_PER_MIN = 4;
const RSS_SLOPE_MIB_PER_MIN = 8;
/** p95 of the last window may exceed the first window's by this factor (+ 10 ms for a noisy machine). */
const P95_DRIFT = 2;

const sc = scenario(
  'soak',
  5,
  'Soak',
  `${RATE} req/s, 20 connections, ${MINUTES} min (reads, writes, searches, 4xx, trace context + baggage)`,
  'none (steady state)',
);

const MEMORY_FILE = join(CHAOS_DIR, 'soak', 'memory.jsonl');

let stack: ChaosStack;
let outcomes: Outcome[] = [];
let t0 = 0;
let scan: ReturnType<typeof bodyScanner>;

jest.setTimeout((MINUTES * 60 + 240) * 1000);

beforeAll(async () => {
  stack = await startChaosStack({
    scenario: 'soak',
    // The probe writes process.memoryUsage() every second and the live heap after a full GC
    // every 10 s: a leak shows in the post-GC heap, not in the sawtooth of a busy heap.
    nodeArgs: ['--expose-gc', '--require', join(__dirname, 'fixtures', 'memoryProbe.js')],
    serviceEnv: { CHAOS_MEMORY_FILE: MEMORY_FILE, CHAOS_MEMORY_GC_EVERY: '10' },
  });
  scan = bodyScanner(stack.needles());
}, 120_000);

afterAll(async () => {
  sc.write();
  await stack?.stop();
}, 60_000);

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 3) return Number.NaN;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

sc.test(`${MINUTES} min of steady load: every request answered as expected`, async () => {
  const base = stack.service.url;
  const json = { 'content-type': 'application/json' };
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) {
    const r = await send(base, {
      method: 'POST',
      path: '/v1/memories',
      headers: { ...json, ...stack.clientHeaders },
      body: JSON.stringify({ user_id: `s${i % 25}`, content: `soak memory ${i} about tea and jazz` }),
    });
    expect(r.status).toBe(201);
    ids.push(JSON.parse(r.raw?.toString() ?? '{}').id);
  }
  t0 = Date.now();
  let load: LoadHandle | undefined;
  try {
    load = startLoad({
      base,
      connections: 20,
      rate: RATE,
      durationMs: MINUTES * 60_000,
      headers: stack.clientHeaders,
      onBody: (o, b) => scan.scan(o, b),
      next: (i) => {
        const k = i % 20;
        // Half the requests arrive with a caller's trace context and baggage of their own.
        const ctx: Record<string, string> =
          i % 2 === 0
            ? {
                baggage: `tenant=t${i % 7},req=${randomBytes(4).toString('hex')}`,
                tracestate: `vendor=${randomBytes(4).toString('hex')}`,
              }
            : {};
        const tag = (t: string) => t;
        if (k < 2)
          return {
            method: 'POST',
            path: '/v1/memories',
            headers: { ...json, ...ctx },
            // Users come and go: cache keys keep changing, as in production.
            body: JSON.stringify({ user_id: `s${i % 500}`, content: `soak write ${i} tea` }),
            tag: tag('create'),
          };
        if (k === 2)
          return {
            method: 'PATCH',
            path: `/v1/memories/${ids[i % ids.length]}`,
            headers: { ...json, ...ctx },
            body: JSON.stringify({ metadata: { i } }),
            tag: 'patch',
          };
        if (k < 6)
          return {
            method: 'GET',
            path: `/v1/memories?user_id=s${i % 500}&limit=10`,
            headers: ctx,
            tag: 'list',
          };
        if (k < 8)
          return {
            method: 'GET',
            path: `/v1/memories/search?user_id=s${i % 25}&q=${i % 3 ? 'tea' : 'jazz -tea'}`,
            headers: ctx,
            tag: 'search',
          };
        if (k === 8)
          return { method: 'GET', path: `/v1/memories/${randomUUID()}`, headers: ctx, tag: 'missing' };
        if (k === 9)
          return { method: 'GET', path: `/v1/memories?user_id=bad user ${i}`, headers: ctx, tag: 'invalid' };
        return { method: 'GET', path: `/v1/memories/${ids[i % ids.length]}`, headers: ctx, tag: 'get' };
      },
    });
    outcomes = (await load.done).outcomes;
  } finally {
    load?.stop();
  }
  sc.result.requests = outcomes.length;
  const expected = (o: Outcome) =>
    o.tag === 'missing' ? o.status === 404 : o.tag === 'invalid' ? o.status === 400 : (o.status ?? 0) < 300;
  const bad = outcomes.filter((o) => !expected(o));
  sc.result.failed = bad.length;
  sc.figure('outcomes', JSON.stringify(summarize(outcomes)));
  expect(summarize(bad)).toEqual({});
  expect(outcomes.flatMap((o) => responseProblems(o))).toEqual([]);
  expect(outcomes.length).toBeGreaterThan(MINUTES * 60 * RATE * 0.8);
});

sc.test(
  `live heap and RSS do not trend upwards (slopes after warm-up ≤ ${HEAP_SLOPE_MIB_PER_MIN} and ${RSS_SLOPE_MIB_PER_MIN} MiB/min)`,
  async () => {
    expect(existsSync(MEMORY_FILE)).toBe(true);
    const samples = readFileSync(MEMORY_FILE, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { t: number; afterGc: boolean; rss: number; heapUsed: number })
      .filter((x) => x.t >= t0 && x.t <= t0 + MINUTES * 60_000);
    const from = MINUTES / 3;
    const at = (x: { t: number }) => (x.t - t0) / 60_000;
    const rssPoints = samples
      .filter((x) => at(x) >= from)
      .map((x): [number, number] => [at(x), x.rss / 2 ** 20]);
    const heap = samples
      .filter((x) => x.afterGc && at(x) >= from)
      .map((x): [number, number] => [at(x), x.heapUsed / 2 ** 20]);
    const rssSlope = slope(rssPoints);
    const heapSlope = slope(heap);
    sc.result.rssBeforeMiB = Math.round((rssPoints[0]?.[1] ?? 0) * 10) / 10;
    sc.result.rssAfterMiB = Math.round((rssPoints[rssPoints.length - 1]?.[1] ?? 0) * 10) / 10;
    sc.figure('RSS slope after warm-up (MiB/min)', rssSlope.toFixed(2));
    sc.figure('live heap (after full GC) slope after warm-up (MiB/min)', heapSlope.toFixed(2));
    sc.figure(
      'live heap after warm-up: first / last (MiB)',
      `${heap[0]?.[1].toFixed(1)} / ${heap[heap.length - 1]?.[1].toFixed(1)}`,
    );
    expect(heap.length).toBeGreaterThanOrEqual(3);
    expect(rssSlope).toBeLessThanOrEqual(RSS_SLOPE_MIB_PER_MIN);
    expect(heapSlope).toBeLessThanOrEqual(HEAP_SLOPE_MIB_PER_MIN);
  },
);

sc.test('the preload exports runtime metrics (heap, event loop) to the collector', async () => {
  const names = new Set(stack.tap.metrics.items().map((m) => m.name));
  const runtime = [...names].filter((n) => n.startsWith('v8js.') || n.startsWith('nodejs.'));
  sc.figure('runtime metrics at the collector', runtime.join(', ') || 'none');
  expect(runtime).toEqual(expect.arrayContaining(['v8js.memory.heap.used', 'nodejs.eventloop.delay.p99']));
});

sc.test(`p95 is stable (last window ≤ ${P95_DRIFT} × first window + 10 ms)`, async () => {
  const windows = Math.max(3, Math.round(MINUTES * 2));
  const span = (MINUTES * 60_000) / windows;
  const p95s: number[] = [];
  for (let w = 0; w < windows; w++) {
    const inside = outcomes.filter((o) => o.startedAt >= t0 + w * span && o.startedAt < t0 + (w + 1) * span);
    p95s.push(
      percentile(
        inside.map((o) => o.ms),
        95,
      ),
    );
  }
  sc.figure('p95 per window (ms)', p95s.map((p) => p.toFixed(1)).join(', '));
  const first = p95s[0] as number;
  const last = p95s[p95s.length - 1] as number;
  expect(last).toBeLessThanOrEqual(first * P95_DRIFT + 10);
});

sc.test('no telemetry lost, every log line one JSON object, no planted secret anywhere', async () => {
  const dropped = droppedBySignal(stack.tap.metrics.items());
  sc.result.telemetryLost = `${dropped.traces} spans, ${dropped.logs} log records, ${dropped.metrics} metric points`;
  expect(dropped).toEqual({ traces: 0, logs: 0, metrics: 0 });
  expect(parseStdout(stack.service.stdoutLines()).invalid).toEqual([]);
  expect([...scan.hits, ...stack.sweepSecrets()]).toEqual([]);
});
