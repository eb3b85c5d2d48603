import { type Cache, createCache } from '@mem0-stack/cache';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type Client, cleanup, connect, uniquePrefix } from './helpers';

// The shared preset's testTimeout is a global jest option, ignored per project: set it here.
jest.setTimeout(30_000);

// In-memory reader/exporter: this file tests only the wiring of our instruments and span attribute.
class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

const reader = new Reader();
const meterProvider = new MeterProvider({ readers: [reader] });
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const contextManager = new AsyncLocalStorageContextManager().enable();

let redis: Client;
let prefix: string;
let cache: Cache;

beforeAll(async () => {
  // Registered before the first createCache: instruments are created lazily on first use.
  metrics.setGlobalMeterProvider(meterProvider);
  trace.setGlobalTracerProvider(tracerProvider);
  context.setGlobalContextManager(contextManager);
  redis = await connect();
  prefix = uniquePrefix();
  cache = createCache({
    redis: redis as never,
    name: 'tele',
    prefix,
    defaultTtl: 60_000,
    l1: true,
    jitter: 0,
  });
});
afterAll(async () => {
  await cache.close();
  await cleanup(redis, prefix);
  await redis.quit();
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
  metrics.disable();
  trace.disable();
  context.disable();
});

async function points(name: string) {
  const { resourceMetrics } = await reader.collect();
  const m = resourceMetrics.scopeMetrics
    .filter((s) => s.scope.name === '@mem0-stack/cache')
    .flatMap((s) => s.metrics)
    .find((x) => x.descriptor.name === name);
  return (m?.dataPoints ?? []) as Array<{ attributes: Record<string, unknown>; value: unknown }>;
}

test('cache.requests counts results per tier; cache.load.duration and cache.invalidations are recorded', async () => {
  await cache.getOrSet('a', async () => 1); // miss
  await cache.getOrSet('a', async () => 1); // L1 hit
  await cache.delete('a');
  await cache.getOrSet('a', async () => 2); // miss
  await cache.getOrSet('b', async () => 3, { tags: ['t'] });
  await cache.invalidateTags(['t']);

  const req = await points('cache.requests');
  const get = (result: string, tier: string) =>
    req.find((p) => p.attributes['cache.result'] === result && p.attributes['cache.tier'] === tier)?.value;
  expect(get('miss', 'l2')).toBe(3);
  expect(get('hit', 'l1')).toBe(1);
  expect(req.every((p) => p.attributes['cache.name'] === 'tele')).toBe(true);

  const load = await points('cache.load.duration');
  const ok = load.find((p) => p.attributes['cache.load.outcome'] === 'success')?.value as { count: number };
  expect(ok.count).toBe(3);

  const inv = await points('cache.invalidations');
  const kinds = Object.fromEntries(inv.map((p) => [p.attributes['cache.invalidation.kind'], p.value]));
  expect(kinds).toEqual({ key: 1, tag: 1 });
});

test('the active span gets cache.hit', async () => {
  const tracer = trace.getTracer('test');
  spans.reset();
  await tracer.startActiveSpan('miss', async (span) => {
    await cache.getOrSet('span-key', async () => 'v');
    span.end();
  });
  await tracer.startActiveSpan('hit', async (span) => {
    await cache.getOrSet('span-key', async () => 'v');
    span.end();
  });
  const byName = Object.fromEntries(spans.getFinishedSpans().map((s) => [s.name, s.attributes['cache.hit']]));
  expect(byName).toEqual({ miss: false, hit: true });
});
