import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTestDatabase,
  freePort,
  jsonLines,
  type OtlpSink,
  startOtlpSink,
  waitFor,
} from '@mem0-stack/testkit';
import { call, deleteKeys, uniqueUser } from './helpers';

// The built server in a child process under an OpenTelemetry preload, exporting to a local OTLP
// sink: with a span active, the correlation id of every response and log line must be the trace
// id. The preload is ours (@mem0-stack/otel/register) once packages/otel is built; until then
// the upstream auto-instrumentations register stands in, so the contract is checked either way.
const root = join(__dirname, '..', '..', '..');
const ours = join(root, 'packages', 'otel', 'dist', 'register.js');
const preload = existsSync(ours)
  ? ours
  : require.resolve('@opentelemetry/auto-instrumentations-node/register');
const preloadName = existsSync(ours) ? '@mem0-stack/otel/register' : 'auto-instrumentations-node/register';
const server = join(__dirname, '..', 'dist', 'server.js');
const prefix = `test:memory-service:preload:${process.pid}:`;

let sink: OtlpSink;
let child: ChildProcess;
let out = '';
let base: string;
let exited: Promise<number | null>;

beforeAll(async () => {
  sink = await startOtlpSink();
  const port = await freePort();
  child = spawn(process.execPath, ['--require', preload, server], {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: await createTestDatabase('mem0_memory_test'),
      MEM0_CACHE_PREFIX: prefix,
      MEM0_SLOW_QUERY_MS: '0',
      MEM0_LOG_LEVEL: 'info',
      OTEL_SDK_DISABLED: 'false',
      OTEL_SERVICE_NAME: 'memory-service-test',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_BLRP_SCHEDULE_DELAY: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  exited = new Promise((r) => child.once('exit', (code) => r(code)));
  base = `http://127.0.0.1:${port}`;
  await waitFor(() => fetch(`${base}/healthz`).then((r) => r.ok), {
    timeoutMs: 30_000,
    what: `service up under ${preloadName}`,
  });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await sink?.close();
  await deleteKeys(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix).catch(() => {});
});

test(`under ${preloadName}: x-correlation-id = trace id in every response, log line, span and OTLP log record`, async () => {
  const user = uniqueUser('otel');
  const requests: Array<[string, string, Parameters<typeof call>[3]]> = [
    ['POST', '/v1/memories', { body: { user_id: user, content: 'hiking trips in december' } }],
    ['GET', `/v1/memories?user_id=${user}`, {}],
    ['GET', `/v1/memories/search?user_id=${user}&q=hiking`, {}],
    ['GET', '/v1/memories/00000000-0000-4000-8000-000000000000', {}],
    ['POST', '/v1/memories', { raw: '{bad', headers: { 'content-type': 'application/json' } }],
    // A client-sent correlation id loses to the trace id when a span is active.
    ['GET', `/v1/memories?user_id=${user}&limit=1`, { headers: { 'x-correlation-id': 'client-id-1' } }],
  ];
  const ids: string[] = [];
  for (const [method, path, opts] of requests) {
    const r = await call(base, method, path, opts);
    const id = r.headers.get('x-correlation-id') as string;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    // W3C traceresponse: 00-<trace id>-<span id>-<flags>
    expect(r.headers.get('traceresponse')?.split('-')[1]).toBe(id);
    if (r.status >= 400) expect(r.json.correlation_id).toBe(id);
    ids.push(id);
  }
  expect(new Set(ids).size).toBe(ids.length);

  // Stop it: the graceful shutdown flushes the remaining spans and log records.
  child.kill('SIGTERM');
  expect(await exited).toBe(0);

  const { records } = jsonLines(out);
  for (const id of ids) {
    const mine = records.filter((l) => l.correlation_id === id || l.trace_id === id);
    // At least the request line and one query line (slow-query threshold 0) per request.
    expect(mine.length).toBeGreaterThanOrEqual(2);
    for (const l of mine) {
      expect({ msg: l.message, trace_id: l.trace_id, correlation_id: l.correlation_id }).toEqual({
        msg: l.message,
        trace_id: id,
        correlation_id: id,
      });
    }
    expect(mine.some((l) => l['http.response.status_code'] !== undefined)).toBe(true);
  }
  // Each request's SERVER span reached the sink; if not, show what the preload said about it
  // (export failures and drops are reported on stderr).
  const missing = ids.filter((id) => !sink.spans().some((s) => s.traceId === id && s.kind === 2));
  const said = missing.length === 0 ? [] : out.split('\n').filter((l) => !l.startsWith('{'));
  expect({ missing, said }).toEqual({ missing: [], said: [] });
  // Slow-query lines: sanitized statement, inside the request's trace.
  const slow = records.filter((l) => l.message === 'db.slow_query' && l.trace_id === ids[2]);
  expect(slow.map((l) => l['db.query.name'])).toContain('mem_search');
  expect(JSON.stringify(slow)).not.toContain('hiking');
  // The same records reach OTLP once each, with the trace context of their request.
  const created = sink.logs().filter((l) => l.body === 'memory.created' && l.traceId === ids[0]);
  expect(created).toHaveLength(1);
}, 60_000);
