// pg pool connection metrics under the preload: lean (default) reads the pools when metrics
// are collected, with no listener on the pool; full keeps upstream's per-event counters.
// Both must export the same metric names, attributes, units and kinds. Also checks that the
// bundled preload memoises the SDK's attribute hashing.
import { randomBytes } from 'node:crypto';
import { attrs, createTestDatabase, type OtlpSink, startOtlpSink, waitFor } from '@mem0-stack/testkit';
import { childEnv, ensureBuilt, startApp } from './helpers';

let dbUrl: string;
let sink: OtlpSink;

beforeAll(async () => {
  ensureBuilt();
  dbUrl = await createTestDatabase('mem0_otel_test');
  sink = await startOtlpSink();
}, 60_000);

afterAll(async () => {
  await sink?.close();
});

type Point = { attributes: Record<string, unknown>; value: number };
type Sum = {
  unit?: string;
  description?: string;
  isMonotonic?: boolean;
  aggregationTemporality?: number;
  points: Point[];
};

/** The newest export of `name` for `service` (cumulative: the latest values). */
function latest(service: string, name: string): Sum | undefined {
  const all = sink.metrics().filter((m) => m.resource['service.name'] === service && m.name === name);
  const m = all.at(-1);
  if (!m) return undefined;
  const data = m.data as {
    unit?: string;
    description?: string;
    sum?: {
      isMonotonic?: boolean;
      aggregationTemporality?: number;
      dataPoints?: Array<{ attributes?: never; asInt?: unknown; asDouble?: unknown }>;
    };
  };
  return {
    unit: data.unit,
    description: data.description,
    isMonotonic: data.sum?.isMonotonic ?? false,
    aggregationTemporality: data.sum?.aggregationTemporality,
    points: (data.sum?.dataPoints ?? []).map((p) => ({
      attributes: attrs(p.attributes),
      value: Number(p.asInt ?? p.asDouble ?? 0),
    })),
  };
}

/** { used, idle, pending } of the one pool, or undefined until all three are exported. */
function poolState(service: string) {
  const count = latest(service, 'db.client.connection.count');
  const pending = latest(service, 'db.client.connection.pending_requests');
  const used = count?.points.find((p) => p.attributes['db.client.connection.state'] === 'used');
  const idle = count?.points.find((p) => p.attributes['db.client.connection.state'] === 'idle');
  const waiting = pending?.points[0];
  if (!used || !idle || !waiting) return undefined;
  return { used: used.value, idle: idle.value, pending: waiting.value };
}

async function runPoolApp(extra: Record<string, string>) {
  const service = `pool-${randomBytes(3).toString('hex')}`;
  const app = await startApp(
    ['--require', '@mem0-stack/otel/register'],
    'pool-app.cjs',
    childEnv({
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRIC_EXPORT_INTERVAL: '200',
      OTEL_LOG_LEVEL: 'debug',
      DATABASE_URL: dbUrl,
      ...extra,
    }),
  );
  const get = async (path: string) =>
    (await (await fetch(`http://127.0.0.1:${app.port}${path}`)).json()) as {
      waiting: number;
      listeners: number;
    };
  return { service, app, get };
}

describe('pg pool metrics', () => {
  it('lean: read at collection time, exact while a request waits, no pool listeners', async () => {
    const { service, app, get } = await runPoolApp({});
    try {
      const hold = await get('/hold');
      expect(hold).toEqual({ waiting: 1, listeners: 0 });
      await waitFor(
        () => {
          const s = poolState(service);
          return s?.used === 2 && s.idle === 0 && s.pending === 1;
        },
        { what: 'used 2, idle 0, pending 1 exported' },
      );
      expect((await get('/release')).listeners).toBe(0);
      await waitFor(
        () => {
          const s = poolState(service);
          return s?.used === 0 && s.idle === 2 && s.pending === 0;
        },
        { what: 'used 0, idle 2, pending 0 exported' },
      );
      // upstream's name for a pool given by connection string (from its own getPoolName)
      const count = latest(service, 'db.client.connection.count');
      expect(count?.points.map((p) => p.attributes['db.client.connection.pool.name'])).toEqual([
        'unknown_host:unknown_port/unknown_database',
        'unknown_host:unknown_port/unknown_database',
      ]);
    } finally {
      app.signal('SIGTERM');
      await app.exited;
    }
    // The bundled preload memoises attribute hashing (the debug line of the metrics pipeline).
    expect(app.stderr()).toContain('metrics: attribute hashing memoised');
  }, 30_000);

  it('full: upstream per-event counters; both export the same names, attributes, units and kinds', async () => {
    const lean = await runPoolApp({});
    const full = await runPoolApp({ MEM0_OTEL_SPAN_DETAIL: 'full' });
    try {
      for (const { get } of [lean, full]) {
        await get('/hold');
        await get('/release');
      }
      expect((await full.get('/hold')).listeners).toBeGreaterThan(0);
      await full.get('/release');
      // Values are not compared: upstream counts on each 'release' event, which pg-pool emits
      // before the connection is idle again, so at rest upstream still shows the last ones used.
      for (const { service } of [lean, full]) {
        await waitFor(() => poolState(service), { what: `${service}: pool metrics exported` });
      }
      const shape = (service: string) =>
        ['db.client.connection.count', 'db.client.connection.pending_requests'].map((name) => {
          const m = latest(service, name);
          return {
            name,
            unit: m?.unit,
            description: m?.description,
            isMonotonic: m?.isMonotonic,
            aggregationTemporality: m?.aggregationTemporality,
            attributes: m?.points
              .map((p) => p.attributes)
              .sort((a, b) =>
                String(a['db.client.connection.state']).localeCompare(
                  String(b['db.client.connection.state']),
                ),
              ),
          };
        });
      const leanShape = shape(lean.service);
      expect(leanShape[0]?.unit).toBe('{connection}');
      expect(leanShape[0]?.isMonotonic).toBe(false);
      expect(leanShape[0]?.aggregationTemporality).toBe(2);
      expect(leanShape).toEqual(shape(full.service));
    } finally {
      for (const { app } of [lean, full]) app.signal('SIGTERM');
      await Promise.all([lean.app.exited, full.app.exited]);
    }
  }, 45_000);
});
