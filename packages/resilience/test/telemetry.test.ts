// SDK-wiring test: the metrics, span events and log lines the policies emit, read back through
// in-memory OTel SDK readers/exporters and a logger writing to memory.

import { NotFoundError, UnavailableError } from '@mem0-stack/errors';
import { createLogger, setDefaultLogger } from '@mem0-stack/logging';
import {
  circuitBreaker,
  createRetryBudget,
  policy,
  recoveryRate,
  recoveryStats,
  resetRecoveryStats,
  retry,
  timeout,
} from '@mem0-stack/resilience';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  type DataPoint,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const reader = new TestReader();
const meterProvider = new MeterProvider({ readers: [reader] });
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const lines: Array<Record<string, unknown>> = [];

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  metrics.setGlobalMeterProvider(meterProvider);
  trace.setGlobalTracerProvider(tracerProvider);
  setDefaultLogger(
    createLogger({
      level: 'debug',
      otlp: false,
      destination: { write: (chunk: string) => lines.push(JSON.parse(chunk)) },
    }),
  );
});

afterAll(async () => {
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
  metrics.disable();
  trace.disable();
  context.disable();
});

async function points(name: string): Promise<Array<DataPoint<number>>> {
  const { resourceMetrics } = await reader.collect();
  return find(resourceMetrics, name);
}
function find(rm: ResourceMetrics, name: string): Array<DataPoint<number>> {
  for (const sm of rm.scopeMetrics) {
    if (sm.scope.name !== '@mem0-stack/resilience') continue;
    for (const m of sm.metrics)
      if (m.descriptor.name === name) return m.dataPoints as Array<DataPoint<number>>;
  }
  return [];
}
function sum(ps: Array<DataPoint<number>>, attrs: Record<string, unknown> = {}): number {
  return ps
    .filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))
    .reduce((a, p) => a + p.value, 0);
}
function flaky(n: number) {
  let calls = 0;
  return async () => {
    if (++calls <= n) throw new UnavailableError('blip');
    return 'ok';
  };
}

describe('telemetry', () => {
  beforeEach(() => resetRecoveryStats());

  it('counts retries, recoveries and exhaustion; recoveryRate = recovered / recoverable', async () => {
    const r = retry({ name: 'tel-retry', initialDelayMs: 1, budget: false });
    await r.execute(flaky(1));
    await r.execute(flaky(2));
    await r.execute(flaky(1));
    await r.execute(flaky(5)).catch(() => {});
    await r.execute(() => Promise.reject(new NotFoundError('not recoverable'))).catch(() => {});
    expect(sum(await points('resilience.retry.attempts'), { 'resilience.name': 'tel-retry' })).toBe(
      1 + 2 + 1 + 2,
    );
    expect(sum(await points('resilience.recovered'), { 'resilience.name': 'tel-retry' })).toBe(3);
    expect(
      sum(await points('resilience.exhausted'), { 'resilience.name': 'tel-retry', reason: 'attempts' }),
    ).toBe(1);
    expect(recoveryStats()).toEqual({ recovered: 3, exhausted: 1, rate: 0.75 });
    expect(recoveryRate()).toBe(0.75);
  });

  it('logs each recovery (info) and each exhaustion (warn), so log analysis sees the recovery rate', async () => {
    lines.length = 0;
    const r = retry({ name: 'tel-log', initialDelayMs: 1, budget: false, maxAttempts: 3 });
    await r.execute(flaky(1));
    await r.execute(flaky(5)).catch(() => {});
    const mine = lines.filter((l) => l['resilience.name'] === 'tel-log');
    expect(mine.map((l) => [l['event.name'], l.level, l['resilience.attempts']])).toEqual([
      ['resilience.recovered', 'info', 2],
      ['resilience.exhausted', 'warn', 3],
    ]);
    expect(mine[1]).toMatchObject({ reason: 'attempts', 'error.code': 'UNAVAILABLE' });
  });

  it('records a span event per retry on the active span', async () => {
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('work', async (span) => {
      await retry({ name: 'tel-span', initialDelayMs: 1, budget: false }).execute(flaky(2));
      span.end();
    });
    const s = spans.getFinishedSpans().find((x) => x.name === 'work')!;
    const retries = s.events.filter((e) => e.name === 'resilience.retry');
    expect(retries.map((e) => e.attributes?.['resilience.attempt'])).toEqual([2, 3]);
    expect(retries[0]?.attributes?.['error.code']).toBe('UNAVAILABLE');
    expect(s.events.some((e) => e.name === 'resilience.recovered')).toBe(true);
  });

  it('breaker: state gauge per name, transitions, rejections, span events, warn on open / info on close', async () => {
    lines.length = 0;
    const b = circuitBreaker({
      name: 'tel-breaker',
      trigger: { kind: 'consecutive', threshold: 2 },
      halfOpenAfter: 50,
    });
    const gauge = async () =>
      sum(await points('resilience.circuit.state'), { 'resilience.name': 'tel-breaker' });
    expect(await gauge()).toBe(0);
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('tripping', async (span) => {
      for (let i = 0; i < 2; i++)
        await b.execute(() => Promise.reject(new UnavailableError('down'))).catch(() => {});
      span.end();
    });
    expect(b.state).toBe('open');
    expect(await gauge()).toBe(2);
    await b.execute(async () => 1).catch(() => {});
    expect(
      sum(await points('resilience.rejected'), { 'resilience.name': 'tel-breaker', reason: 'circuit_open' }),
    ).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    await b.execute(async () => 1);
    expect(b.state).toBe('closed');
    expect(await gauge()).toBe(0);
    const t = await points('resilience.circuit.transitions');
    expect(sum(t, { 'resilience.name': 'tel-breaker', 'resilience.circuit.to': 'open' })).toBe(1);
    expect(sum(t, { 'resilience.name': 'tel-breaker', 'resilience.circuit.to': 'half-open' })).toBe(1);
    expect(sum(t, { 'resilience.name': 'tel-breaker', 'resilience.circuit.to': 'closed' })).toBe(1);
    const ev = spans.getFinishedSpans().find((x) => x.name === 'tripping')!.events;
    expect(ev.find((e) => e.name === 'resilience.circuit.transition')?.attributes).toMatchObject({
      'resilience.name': 'tel-breaker',
      'resilience.circuit.from': 'closed',
      'resilience.circuit.to': 'open',
      'error.code': 'UNAVAILABLE',
    });
    const mine = lines.filter((l) => l['resilience.name'] === 'tel-breaker');
    expect(mine.find((l) => l['resilience.circuit.to'] === 'open')).toMatchObject({ level: 'warn' });
    expect(mine.find((l) => l['resilience.circuit.to'] === 'closed')).toMatchObject({ level: 'info' });
  });

  it('counts budget and timeout rejections by reason', async () => {
    const budget = createRetryBudget({ ratio: 0, minRetries: 0 });
    await retry({ name: 'tel-budget', budget })
      .execute(flaky(1))
      .catch(() => {});
    expect(
      sum(await points('resilience.rejected'), { 'resilience.name': 'tel-budget', reason: 'retry_budget' }),
    ).toBe(1);
    expect(
      sum(await points('resilience.exhausted'), { 'resilience.name': 'tel-budget', reason: 'budget' }),
    ).toBe(1);
    await policy(timeout(20, { name: 'tel-timeout' }))
      .execute(() => new Promise(() => {}))
      .catch(() => {});
    expect(
      sum(await points('resilience.rejected'), { 'resilience.name': 'tel-timeout', reason: 'timeout' }),
    ).toBe(1);
  });

  it('never fails a call when the telemetry backend throws', async () => {
    const broken = {
      warn() {
        throw new Error('logger down');
      },
      info() {
        throw new Error('logger down');
      },
      debug() {
        throw new Error('logger down');
      },
    };
    const b = circuitBreaker({
      name: 'tel-broken-log',
      trigger: { kind: 'consecutive', threshold: 1 },
      logger: broken,
    });
    await expect(b.execute(() => Promise.reject(new UnavailableError('x')))).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(b.state).toBe('open');
  });
});
