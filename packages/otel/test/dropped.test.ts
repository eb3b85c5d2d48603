// Losses are counted: while the collector answers 503 the app keeps serving, and once it is
// back, telemetry.dropped{signal} reports what was lost.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type OtlpSink, type SinkMetric, startOtlpSink, waitFor } from '@mem0-stack/testkit';
import { childEnv, ensureBuilt, startApp } from './helpers';

let sink: OtlpSink;

beforeAll(async () => {
  ensureBuilt();
  sink = await startOtlpSink();
});
afterAll(async () => {
  await sink?.close();
});

type Point = {
  asDouble?: number;
  asInt?: string | number;
  attributes?: Array<{ key: string; value: { stringValue?: string } }>;
};

/** Every telemetry.dropped point of `service` across metric exports, as signal and value. */
function droppedPoints(metrics: SinkMetric[], service: string): Array<{ signal?: string; value: number }> {
  return metrics
    .filter((m) => m.name === 'telemetry.dropped' && m.resource['service.name'] === service)
    .flatMap((m) => ((m.data as { sum?: { dataPoints?: Point[] } }).sum?.dataPoints ?? []) as Point[])
    .map((p) => ({
      signal: p.attributes?.find((a) => a.key === 'signal')?.value.stringValue,
      value: Number(p.asInt ?? p.asDouble ?? 0),
    }));
}

/** Latest cumulative value of telemetry.dropped for one signal, across metric exports of `service`. */
function dropped(metrics: SinkMetric[], service: string, signal: string): number {
  return Math.max(
    0,
    ...droppedPoints(metrics, service)
      .filter((p) => p.signal === signal)
      .map((p) => p.value),
  );
}

/** Signals with a telemetry.dropped point of `service` in any export, whatever its value. */
function droppedSeries(metrics: SinkMetric[], service: string): string[] {
  const signals = droppedPoints(metrics, service).flatMap((p) => (p.signal === undefined ? [] : [p.signal]));
  return [...new Set(signals)].sort();
}

/** A child's env: exporting to the sink as JSON, metrics every 300 ms. */
function appEnv(service: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return childEnv({
    OTEL_SERVICE_NAME: service,
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_METRIC_EXPORT_INTERVAL: '300',
    OTEL_METRIC_EXPORT_TIMEOUT: '300',
    ...extra,
  });
}

describe('telemetry.dropped', () => {
  it('is exported at 0 for every signal before anything is lost', async () => {
    const service = `zero-${Date.now()}`;
    const app = await startApp(['--require', '@mem0-stack/otel/register'], 'slow-exit.cjs', appEnv(service));
    try {
      const signals = await waitFor(
        () => droppedSeries(sink.metrics(), service).length === 3 && droppedSeries(sink.metrics(), service),
        { timeoutMs: 10_000, what: 'telemetry.dropped series for traces, metrics and logs' },
      );
      expect(signals).toEqual(['logs', 'metrics', 'traces']);
      for (const s of signals) expect(dropped(sink.metrics(), service, s)).toBe(0);
    } finally {
      app.signal('SIGTERM');
      await app.exited;
    }
  }, 30_000);

  it('a script that ends at once sends no export just to report zero losses', async () => {
    // Priming is deferred: done at start, it built the metrics SDK and sent a metrics export at
    // exit from `node -e 0`, which doubled the preload's start-up cost.
    const before = { ...sink.requests };
    // Asynchronously: the sink runs in this process and must be able to answer.
    await promisify(execFile)(process.execPath, ['--require', '@mem0-stack/otel/register', '-e', '0'], {
      env: childEnv({ OTEL_SERVICE_NAME: `short-${Date.now()}`, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }),
      timeout: 10_000,
    });
    expect(sink.requests).toEqual(before);
  });

  it('counts spans lost while the collector answers 503, and exports the count once it recovers', async () => {
    const service = `dropped-${Date.now()}`;
    const app = await startApp(
      ['--require', '@mem0-stack/otel/register'],
      'slow-exit.cjs',
      appEnv(service, {
        OTEL_BSP_SCHEDULE_DELAY: '50',
        // Give up on a failing request quickly (retries stay within the timeout).
        OTEL_EXPORTER_OTLP_TIMEOUT: '300',
        OTEL_LOG_LEVEL: 'warn',
      }),
    );
    try {
      sink.setStatus(503);
      const N = 40;
      for (let i = 0; i < N; i++) {
        const r = await fetch(`http://127.0.0.1:${app.port}/during-outage-${i}`);
        expect(r.status).toBe(200);
      }
      // Wait for those exports to fail for good, then let the collector recover.
      await waitFor(
        () => /dropping spans \(export failed: collector answered HTTP 503\)/.test(app.stderr()),
        {
          timeoutMs: 10_000,
          what: 'the drop warning',
        },
      );
      await new Promise((r) => setTimeout(r, 800));
      sink.setStatus(200);
      const count = await waitFor(
        () => dropped(sink.metrics(), service, 'traces') >= N && dropped(sink.metrics(), service, 'traces'),
        {
          timeoutMs: 10_000,
          what: 'telemetry.dropped{signal="traces"} >= 40',
        },
      );
      expect(count).toBeGreaterThanOrEqual(N);
      // None of the outage's spans arrived, and the spans after recovery do.
      expect(sink.spans().some((s) => String(s.attributes['url.path']).startsWith('/during-outage'))).toBe(
        false,
      );
      expect((await fetch(`http://127.0.0.1:${app.port}/after-recovery`)).status).toBe(200);
      await waitFor(() => sink.spans().some((s) => s.attributes['url.path'] === '/after-recovery'));
    } finally {
      sink.setStatus(200);
      app.signal('SIGTERM');
      await app.exited;
    }
  }, 40_000);

  it('bounds the queue: a stalled collector turns excess spans into counted drops, not memory', async () => {
    const service = `queue-${Date.now()}`;
    sink.setDelay(3000);
    const app = await startApp(
      ['--require', '@mem0-stack/otel/register'],
      'slow-exit.cjs',
      childEnv({
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_MAX_QUEUE_SIZE: '20',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10',
        OTEL_BSP_SCHEDULE_DELAY: '20',
        OTEL_METRICS_EXPORTER: 'none',
      }),
    );
    try {
      const codes = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          fetch(`http://127.0.0.1:${app.port}/burst-${i}`).then((r) => r.status),
        ),
      );
      expect(codes.every((c) => c === 200)).toBe(true);
      await waitFor(() => /dropping spans \(queue full \(20 spans\)\)/.test(app.stderr()), {
        what: 'the queue-full warning',
      });
    } finally {
      sink.setDelay(0);
      app.signal('SIGTERM');
      await app.exited;
    }
  }, 30_000);
});
