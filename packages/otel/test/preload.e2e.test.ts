// End to end: a child process under the preload serves an HTTP request that queries the
// real PostgreSQL and Redis; the spans that reach an OTLP endpoint must form one trace with
// the server span as parent of the pg and redis client spans, with stable semantic-convention
// attributes and no secrets.
import { randomBytes } from 'node:crypto';
import {
  type CollectorSink,
  createTestDatabase,
  type OtlpSink,
  type SinkLog,
  type SinkSpan,
  startCollectorSink,
  startOtlpSink,
  waitFor,
} from '@mem0-stack/testkit';
import { createClient } from 'redis';
import { childEnv, ensureBuilt, otelLines, startApp } from './helpers';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `test:otel:${randomBytes(4).toString('hex')}:`;
let dbUrl: string;
let sink: OtlpSink;
let collector: CollectorSink;

beforeAll(async () => {
  ensureBuilt();
  dbUrl = await createTestDatabase('mem0_otel_test');
  sink = await startOtlpSink();
  collector = await startCollectorSink();
}, 60_000);

afterAll(async () => {
  await sink?.close();
  await collector?.cleanup();
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) {
    if (keys.length > 0) await redis.del(keys);
  }
  await redis.quit();
});

type Run = {
  spans: SinkSpan[];
  logs: SinkLog[];
  stderr: string;
  exit: { code: number | null; signal: string | null };
};

async function exercise(
  nodeArgs: string[],
  fixture: string,
  endpoint: { url: string; spans(): SinkSpan[]; logs(): SinkLog[] },
  extraEnv: Record<string, string> = {},
): Promise<Run> {
  const service = `otel-e2e-${randomBytes(3).toString('hex')}`;
  const app = await startApp(
    nodeArgs,
    fixture,
    childEnv({
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint.url,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_BLRP_SCHEDULE_DELAY: '200',
      DATABASE_URL: dbUrl,
      REDIS_URL,
      KEY_PREFIX: prefix,
      ...extraEnv,
    }),
  );
  const res = await fetch(`http://127.0.0.1:${app.port}/work?email=alice%40example.com&token=s3cret`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ email: 'alice@example.com', lit: 'literal-secret', n: 42 });
  expect((await fetch(`http://127.0.0.1:${app.port}/health`)).status).toBe(200);
  app.signal('SIGTERM');
  const exit = await app.exited;
  const mine = (s: { resource: Record<string, unknown> }) => s.resource['service.name'] === service;
  // The collector sink writes files on a 100 ms interval: wait for the server span to land.
  const spans = await waitFor(
    () => {
      const list = endpoint.spans().filter(mine);
      return list.some((s) => s.kind === 2 && s.attributes['url.path'] === '/work') && list;
    },
    { timeoutMs: 10_000, what: 'the server span at the OTLP endpoint' },
  );
  return { spans, logs: endpoint.logs().filter(mine), stderr: app.stderr(), exit };
}

function assertOneTrace(spans: SinkSpan[]): { server: SinkSpan; query: SinkSpan; redis: SinkSpan[] } {
  const server = spans.find((s) => s.kind === 2 && s.attributes['url.path'] === '/work');
  if (!server) throw new Error('no server span');
  // Stable HTTP semantic conventions on the server span.
  expect(server.attributes).toMatchObject({
    'http.request.method': 'GET',
    'url.scheme': 'http',
    'url.path': '/work',
    'http.response.status_code': 200,
    'network.protocol.version': '1.1',
    'server.address': '127.0.0.1',
  });
  expect(typeof server.attributes['server.port']).toBe('number');
  // Query values are redacted, names kept.
  expect(server.attributes['url.query']).toBe('email=REDACTED&token=REDACTED');

  const query = spans.find(
    (s) =>
      s.attributes['db.system.name'] === 'postgresql' && typeof s.attributes['db.query.text'] === 'string',
  );
  if (!query) throw new Error('no pg query span');
  expect(query.kind).toBe(3);
  expect(query.traceId).toBe(server.traceId);
  expect(query.parentSpanId).toBe(server.spanId);
  expect(query.attributes).toMatchObject({
    'db.system.name': 'postgresql',
    'db.namespace': 'mem0_otel_test',
    'server.address': '127.0.0.1',
    'server.port': 5432,
  });
  // Parameterised, literals replaced: the bound value and the literals never leave the process.
  expect(query.attributes['db.query.text']).toBe('SELECT $1::text AS email, ? AS lit, ? AS n');

  const redis = spans.filter(
    (s) => s.attributes['db.system.name'] === 'redis' && s.attributes['db.operation.name'],
  );
  expect(redis.map((s) => s.attributes['db.operation.name']).sort()).toEqual(['GET', 'SET']);
  for (const r of redis) {
    expect(r.kind).toBe(3);
    expect(r.traceId).toBe(server.traceId);
    expect(r.parentSpanId).toBe(server.spanId);
  }
  // The SET's value (the row, with the email) is not in the statement.
  expect(redis.find((s) => s.attributes['db.operation.name'] === 'SET')?.attributes['db.query.text']).toBe(
    `SET ${prefix}k [1 other arguments]`,
  );

  // Health probes are not traced.
  expect(spans.some((s) => String(s.attributes['url.path'] ?? '').startsWith('/health'))).toBe(false);
  // No secret anywhere in what was exported.
  const everything = JSON.stringify(spans);
  expect(everything).not.toContain('alice');
  expect(everything).not.toContain('s3cret');
  expect(everything).not.toContain('literal-secret');
  return { server, query, redis };
}

describe('preload end to end (real PostgreSQL and Redis)', () => {
  it('CommonJS app under --require: one trace, server span parents pg and redis spans', async () => {
    const run = await exercise(['--require', '@mem0-stack/otel/register'], 'app.cjs', sink, {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    const { server } = assertOneTrace(run.spans);
    // Resource: env + package.json + host/os/process; no cloud lookups.
    expect(server.resource).toMatchObject({
      'telemetry.sdk.language': 'nodejs',
      'telemetry.distro.name': '@mem0-stack/otel',
      'process.runtime.name': 'nodejs',
    });
    expect(typeof server.resource['host.name']).toBe('string');
    expect(typeof server.resource['service.instance.id']).toBe('string');
    expect(Object.keys(server.resource).some((k) => k.startsWith('cloud.'))).toBe(false);
    // winston (log sending on): the log line written inside the request carries its trace.
    const log = run.logs.find((l) => l.body === 'work done');
    expect(log?.traceId).toBe(server.traceId);
    // SIGTERM with no handler of the app's: flushed, then ended by the signal like a plain node.
    expect(run.exit.signal).toBe('SIGTERM');
    // One startup line, no warnings.
    const lines = otelLines(run.stderr);
    expect(lines.filter((l) => l.includes('info: started:'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes(' warn: '))).toEqual([]);
  }, 60_000);

  it('ESM app under --import: the loader hook patches ESM imports of node:http, pg and redis', async () => {
    const run = await exercise(['--import', '@mem0-stack/otel/register'], 'app.mjs', sink, {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    assertOneTrace(run.spans);
    expect(run.exit.signal).toBe('SIGTERM');
  }, 60_000);

  it('default OTLP/protobuf through the real collector decodes to the same trace', async () => {
    const run = await exercise(['--require', '@mem0-stack/otel/register'], 'app.cjs', {
      url: collector.otlpHttpUrl,
      spans: () => collector.spans(),
      logs: () => collector.logs(),
    });
    const { server } = assertOneTrace(run.spans);
    expect(server.name).toBe('GET');
    expect(server.scope).toBe('@mem0-stack/otel/http-server');
    expect(run.exit.signal).toBe('SIGTERM');
  }, 60_000);

  it('ESM through the real collector', async () => {
    const run = await exercise(['--import', '@mem0-stack/otel/register'], 'app.mjs', {
      url: collector.otlpHttpUrl,
      spans: () => collector.spans(),
      logs: () => collector.logs(),
    });
    assertOneTrace(run.spans);
  }, 60_000);
});
