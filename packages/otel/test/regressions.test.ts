// Regression tests for instrumentation bugs found by review: context lost through a saturated
// pg pool (lean span detail), http.route dropped by a route that answers and then calls
// next(), and MySQL literals leaking through the SQL scrubber.
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type OtlpSink, runNode, startOtlpSink, waitFor } from '@mem0-stack/testkit';
import type { Attributes } from '@opentelemetry/api';
import { scrubAttributes } from '../src/internal/scrubSpans';
import { childEnv, ensureBuilt, PKG_DIR, REPO_DIR } from './helpers';

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

const env = (service: string, extra: Record<string, string> = {}) =>
  childEnv({
    OTEL_SERVICE_NAME: service,
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    DATABASE_URL: dbUrl,
    ...extra,
  });
const service = () => `regressions-${randomBytes(3).toString('hex')}`;
const ofService = (name: string) => sink.spans().filter((s) => s.resource['service.name'] === name);

describe('pg', () => {
  it('lean: a pool.query that waits for a busy pool is traced under its own caller, not under the releaser', async () => {
    // max: 1, so B's query waits for A's connection; pg-pool hands it over from A's release,
    // inside A's context.
    const script = `
      const { trace } = require('@opentelemetry/api');
      const pg = require('pg');
      const tracer = trace.getTracer('regressions');
      (async () => {
        const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
        await pool.query('SELECT 1');
        const run = (name, sql) => tracer.startActiveSpan(name, async (span) => { await pool.query(sql); span.end(); });
        await Promise.all([run('A', 'SELECT pg_sleep(0.05), 1 AS a'), run('B', 'SELECT 2 AS b')]);
        await pool.end();
      })();`;
    const name = service();
    const r = await runNode(['--require', '@mem0-stack/otel/register', '-e', script], {
      cwd: REPO_DIR,
      env: env(name),
      timeoutMs: 20_000,
    });
    expect(r.code).toBe(0);
    const spans = await waitFor(() => {
      const list = ofService(name);
      return list.length >= 5 && list;
    });
    const b = spans.find((s) => s.name === 'B');
    const bQuery = spans.find((s) => s.attributes['db.query.text'] === 'SELECT ? AS b');
    expect({ trace: bQuery?.traceId, parent: bQuery?.parentSpanId }).toEqual({
      trace: b?.traceId,
      parent: b?.spanId,
    });
  }, 30_000);
});

describe('redis', () => {
  it('pub/sub message listeners do not run in the (long-ended) redis-connect span of the subscriber', async () => {
    const script = `
      const { trace } = require('@opentelemetry/api');
      const { createClient } = require('redis');
      const ch = process.env.KEY_PREFIX + 'ch';
      (async () => {
        const pub = createClient({ url: process.env.REDIS_URL });
        const sub = pub.duplicate();
        await pub.connect();
        await sub.connect();
        let got;
        const done = new Promise((r) => (got = r));
        await sub.subscribe(ch, () => { trace.getTracer('regressions').startSpan('on-message').end(); got(); });
        await pub.publish(ch, 'hello');
        await done;
        await sub.quit();
        await pub.quit();
      })();`;
    const name = service();
    const r = await runNode(['--require', '@mem0-stack/otel/register', '-e', script], {
      cwd: REPO_DIR,
      env: env(name, {
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        KEY_PREFIX: `test:otel:regressions:${randomBytes(4).toString('hex')}:`,
      }),
      timeoutMs: 20_000,
    });
    expect(r.code).toBe(0);
    const spans = await waitFor(() => {
      const list = ofService(name);
      return (
        list.some((s) => s.name === 'on-message') &&
        list.filter((s) => s.name === 'redis-connect').length === 2 &&
        list
      );
    });
    const onMessage = spans.find((s) => s.name === 'on-message');
    const connects = spans.filter((s) => s.name === 'redis-connect').map((s) => s.spanId);
    expect(connects).not.toContain(onMessage?.parentSpanId);
    expect(onMessage?.parentSpanId ?? '').toBe('');
  }, 30_000);
});

describe.each([
  ['5', REPO_DIR],
  ['4', PKG_DIR],
] as const)('express %s (lean)', (_major, expressFrom) => {
  it('a route that answers and then calls next() (post-response middleware) keeps http.route', async () => {
    const script = `
      const { createRequire } = require('node:module');
      const express = createRequire(require('node:path').join(process.env.EXPRESS_FROM, 'noop.js'))('express');
      const app = express();
      const api = express.Router();
      api.get('/orders/:id', (req, res, next) => { res.json({ id: req.params.id }); next(); });
      app.use('/api', api);
      app.use((req, res) => { if (!res.headersSent) res.status(404).end(); });
      const server = app.listen(0, '127.0.0.1', async () => {
        const r = await fetch('http://127.0.0.1:' + server.address().port + '/api/orders/7');
        await r.text();
        server.close();
      });`;
    const name = service();
    const r = await runNode(['--require', '@mem0-stack/otel/register', '-e', script], {
      cwd: REPO_DIR,
      env: env(name, { EXPRESS_FROM: expressFrom }),
      timeoutMs: 20_000,
    });
    expect(r.code).toBe(0);
    const server = await waitFor(() => ofService(name).find((s) => s.kind === 2));
    expect(server.attributes['http.route']).toBe('/api/orders/:id');
    expect(server.name).toBe('GET /api/orders/:id');
  }, 30_000);
});

describe('SQL scrubbing', () => {
  it('mysql: backslash-escaped quotes and double-quoted strings do not leak (mysql2 inlines bound values)', () => {
    // What instrumentation-mysql2 records for `SELECT … WHERE name = ? AND note = ?` with
    // ["O'Reilly secret-1", 'secret-2']: mysql2's format() escapes with backslashes.
    const attrs: Attributes = {
      'db.system.name': 'mysql',
      'db.query.text': `SELECT * FROM users WHERE name = 'O\\'Reilly secret-1' AND note = "secret-2" AND id = 1`,
    };
    scrubAttributes(attrs);
    expect(attrs['db.query.text']).toBe('SELECT * FROM users WHERE name = ? AND note = ? AND id = ?');
  });
});
