import { DiagLogLevel, diag } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { createPgInstrumentation, type PoolLike } from './createPgInstrumentation';

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

type Internals = { _setPoolConnectEventListeners(pool: PoolLike): void };
const pool = (database: string, total: number, idle: number, waiting: number) =>
  ({
    totalCount: total,
    idleCount: idle,
    waitingCount: waiting,
    options: { host: 'db', port: 5432, database, max: 10 },
  }) as PoolLike & { totalCount: number; idleCount: number; waitingCount: number };

async function collect(reader: Reader) {
  const { resourceMetrics } = await reader.collect();
  const out: Record<string, Array<{ attributes: Record<string, unknown>; value: unknown }>> = {};
  for (const m of resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)) {
    out[m.descriptor.name] = [
      ...(out[m.descriptor.name] ?? []),
      ...(m.dataPoints as DataPoint<unknown>[]).map((p) => ({
        attributes: { ...p.attributes },
        value: p.value,
      })),
    ];
  }
  return out;
}

describe('createPgInstrumentation', () => {
  const warnings: string[] = [];
  beforeAll(() => {
    diag.setLogger(
      {
        error: (m) => warnings.push(m),
        warn: (m) => warnings.push(m),
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      DiagLogLevel.WARN,
    );
  });
  afterAll(() => diag.disable());

  it('observed: reads each pool at collection, summed per pool name, with no per-event instrument', async () => {
    const reader = new Reader();
    const inst = createPgInstrumentation({ enabled: false }, 'observed');
    inst.setMeterProvider(new MeterProvider({ readers: [reader] }));
    const a1 = pool('a', 3, 1, 0);
    const a2 = pool('a', 2, 2, 1);
    const b = pool('b', 1, 0, 4);
    const internals = inst as unknown as Internals;
    for (const p of [a1, a2, b, a1]) internals._setPoolConnectEventListeners(p);
    let m = await collect(reader);
    const state = (db: string, s: string) =>
      m['db.client.connection.count']?.find(
        (p) =>
          p.attributes['db.client.connection.pool.name'] === `db:5432/${db}` &&
          p.attributes['db.client.connection.state'] === s,
      )?.value;
    const pending = (db: string) =>
      m['db.client.connection.pending_requests']?.find(
        (p) => p.attributes['db.client.connection.pool.name'] === `db:5432/${db}`,
      )?.value;
    expect([state('a', 'used'), state('a', 'idle'), pending('a')]).toEqual([2, 3, 1]);
    expect([state('b', 'used'), state('b', 'idle'), pending('b')]).toEqual([1, 0, 4]);
    // One series per pool name and state: the no-op counters upstream asked for left no trace.
    expect(m['db.client.connection.count']).toHaveLength(4);
    expect(m['db.client.connection.pending_requests']).toHaveLength(2);
    // The max stays upstream's (added once per pool).
    expect(m['db.client.connection.max']?.map((p) => p.value).sort()).toEqual([10, 20]);
    // Values are read when collected, not when an event fires.
    a1.idleCount = 3;
    b.waitingCount = 0;
    m = await collect(reader);
    expect([state('a', 'used'), state('a', 'idle'), pending('b')]).toEqual([0, 5, 0]);
    expect(warnings).toEqual([]);
  });

  it('a pool whose counters throw is skipped, the others are still reported', async () => {
    const reader = new Reader();
    const inst = createPgInstrumentation({ enabled: false }, 'observed');
    inst.setMeterProvider(new MeterProvider({ readers: [reader] }));
    const bad = {
      get totalCount(): number {
        throw new Error('boom');
      },
      idleCount: 0,
      waitingCount: 0,
      options: { database: 'bad' },
    };
    const internals = inst as unknown as Internals;
    internals._setPoolConnectEventListeners(bad);
    internals._setPoolConnectEventListeners(pool('ok', 1, 1, 0));
    const m = await collect(reader);
    expect(
      m['db.client.connection.count']?.map((p) => p.attributes['db.client.connection.pool.name']),
    ).toEqual(['db:5432/ok', 'db:5432/ok']);
  });

  it('per-event: upstream unchanged (listeners on the pool)', () => {
    const inst = createPgInstrumentation({ enabled: false }, 'per-event');
    const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg');
    expect(Object.getPrototypeOf(inst)).toBe(PgInstrumentation.prototype);
    const { EventEmitter } = require('node:events');
    const p = Object.assign(new EventEmitter(), pool('x', 0, 0, 0));
    (inst as unknown as Internals)._setPoolConnectEventListeners(p);
    expect(p.listenerCount('acquire')).toBe(1);
  });

  it('falls back to upstream when its internals are not the expected ones', () => {
    jest.isolateModules(() => {
      jest.doMock('@opentelemetry/instrumentation-pg/build/src/utils', () => ({}));
      const { createPgInstrumentation: create } = require('./createPgInstrumentation');
      const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg');
      const inst = create({ enabled: false }, 'observed');
      expect(Object.getPrototypeOf(inst)).toBe(PgInstrumentation.prototype);
    });
  });
});
