// Which instrumentations run, and how the environment switches them: express routes and
// context through body parsing, OTEL_NODE_DISABLED_INSTRUMENTATIONS, OTEL_SDK_DISABLED,
// OTEL_TRACES_EXPORTER=none (log correlation survives), MEM0_OTEL_INSTRUMENTATIONS=all,
// modules loaded before start(), and the programmatic API.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  attrs,
  createTestDatabase,
  type OtlpSink,
  runNode,
  startOtlpSink,
  waitFor,
} from '@mem0-stack/testkit';
import { createClient } from 'redis';
import { childEnv, ensureBuilt, FIXTURES, otelLines, REPO_DIR, startApp } from './helpers';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `test:otel:${randomBytes(4).toString('hex')}:`;
let dbUrl: string;
let sink: OtlpSink;

beforeAll(async () => {
  ensureBuilt();
  dbUrl = await createTestDatabase('mem0_otel_test');
  sink = await startOtlpSink();
}, 60_000);

afterAll(async () => {
  await sink?.close();
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) {
    if (keys.length > 0) await redis.del(keys);
  }
  await redis.quit();
});

const env = (service: string, extra: Record<string, string> = {}) =>
  childEnv({
    OTEL_SERVICE_NAME: service,
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_BLRP_SCHEDULE_DELAY: '100',
    DATABASE_URL: dbUrl,
    REDIS_URL,
    KEY_PREFIX: prefix,
    ...extra,
  });
const service = () => `inst-${randomBytes(3).toString('hex')}`;
const ofService = (name: string) => sink.spans().filter((s) => s.resource['service.name'] === name);

async function runWork(name: string, extra: Record<string, string> = {}) {
  const app = await startApp(['--require', '@mem0-stack/otel/register'], 'app.cjs', env(name, extra));
  const r = await fetch(`http://127.0.0.1:${app.port}/work?email=x`);
  expect(r.status).toBe(200);
  app.signal('SIGTERM');
  await app.exited;
  return app;
}

describe('instrumentations', () => {
  it('express: route on the server span, and context survives JSON body parsing', async () => {
    const name = service();
    const app = await startApp(['--require', '@mem0-stack/otel/register'], 'express-app.cjs', env(name));
    // The body arrives 100 ms after the headers, in its own TCP segment: its 'data'/'end'
    // events then come from the socket, outside the request's context, unless bound to it.
    const reply = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: app.port,
          path: '/items/7',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => req.end(JSON.stringify({ name: 'widget' })), 100);
    });
    expect(JSON.parse(reply)).toEqual({ id: 7, name: 'widget' });
    app.signal('SIGTERM');
    await app.exited;
    const spans = await waitFor(() => {
      const list = ofService(name);
      return (
        list.some((s) => s.kind === 2) &&
        list.some((s) => s.attributes['db.system.name'] === 'postgresql') &&
        list
      );
    });
    const server = spans.find((s) => s.kind === 2);
    expect(server?.name).toBe('POST /items/:id');
    expect(server?.attributes['http.route']).toBe('/items/:id');
    const query = spans.find((s) => s.attributes['db.query.text'] === 'SELECT $1::int AS id');
    expect(query?.traceId).toBe(server?.traceId);
    // Lean span detail: no express span in between.
    expect(query?.parentSpanId).toBe(server?.spanId);
  }, 30_000);

  it('MEM0_OTEL_SPAN_DETAIL: lean (default) has no express or pg checkout spans, full has both', async () => {
    const run = async (extra: Record<string, string>) => {
      const name = service();
      const app = await startApp(
        ['--require', '@mem0-stack/otel/register'],
        'express-app.cjs',
        env(name, extra),
      );
      const r = await fetch(`http://127.0.0.1:${app.port}/items/3`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'x' }),
      });
      expect(r.status).toBe(200);
      app.signal('SIGTERM');
      await app.exited;
      const spans = await waitFor(() => {
        const list = ofService(name);
        return list.some((s) => s.kind === 2) && list.some((s) => s.name.startsWith('pg.query')) && list;
      });
      return spans;
    };
    const leanSpans = await run({});
    expect(leanSpans.filter((s) => s.scope === '@opentelemetry/instrumentation-express')).toEqual([]);
    expect(leanSpans.find((s) => s.kind === 2)?.name).toBe('POST /items/:id');
    const lean = leanSpans.map((s) => s.name);
    expect(lean.filter((n) => n.startsWith('request handler') || n.startsWith('middleware -'))).toEqual([]);
    expect(lean).not.toContain('pg-pool.connect');
    const full = (await run({ MEM0_OTEL_SPAN_DETAIL: 'full' })).map((s) => s.name);
    expect(full.filter((n) => n.startsWith('request handler'))).toHaveLength(1);
    expect(full.filter((n) => n.startsWith('middleware -')).length).toBeGreaterThan(0);
    expect(full).toContain('pg-pool.connect');
  }, 30_000);

  it('listeners on req/res (a body arriving later, res finish) run in the request context', async () => {
    const name = service();
    const app = await startApp(['--require', '@mem0-stack/otel/register'], 'body-app.cjs', env(name));
    // The body is sent 100 ms after the headers, in its own TCP segment, so its events come
    // from the socket, not from inside the request handler.
    const reply = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: app.port,
          path: '/echo',
          method: 'POST',
          headers: { 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => req.end('late body'), 100);
    });
    expect(reply).toBe('LATE BODY');
    app.signal('SIGTERM');
    await app.exited;
    const spans = await waitFor(() => {
      const list = ofService(name);
      return list.length >= 3 && list;
    });
    const server = spans.find((s) => s.kind === 2);
    for (const child of ['after-body', 'after-finish']) {
      const s = spans.find((x) => x.name === child);
      expect({ child, traceId: s?.traceId, parent: s?.parentSpanId }).toEqual({
        child,
        traceId: server?.traceId,
        parent: server?.spanId,
      });
    }
  }, 30_000);

  it('a failed query keeps the offending value out of the exported span (PostgreSQL data-exception messages quote it)', async () => {
    const name = service();
    const script = `
      const { Client } = require('pg');
      (async () => {
        const c = new Client({ connectionString: process.env.DATABASE_URL });
        await c.connect();
        await c.query('SELECT $1::int AS n', ['4111-secret-value']).catch((e) => console.log(e.code));
        await c.query('SELECT * FROM no_such_table_x').catch((e) => console.log(e.code));
        await c.end();
      })();
    `;
    const r = await runNode(['--require', '@mem0-stack/otel/register', '-e', script], {
      cwd: REPO_DIR,
      env: env(name),
      timeoutMs: 20_000,
    });
    expect(r.stdout.trim().split('\n')).toEqual(['22P02', '42P01']);
    const failed = await waitFor(() => {
      const list = ofService(name).filter((s) => s.status?.code === 2);
      return list.length === 2 && list;
    });
    const exported = JSON.stringify(failed);
    expect(exported).not.toContain('4111-secret-value');
    const dataError = failed.find((s) => s.attributes['db.query.text'] === 'SELECT $1::int AS n');
    expect(dataError?.status?.message).toBe('invalid input syntax for type integer: "?"');
    // Other errors name identifiers, not values: their message is kept for debugging.
    const missing = failed.find((s) => s.attributes['db.query.text'] === 'SELECT * FROM no_such_table_x');
    expect(missing?.status?.message).toBe('relation "no_such_table_x" does not exist');
  }, 30_000);

  it('OTEL_NODE_DISABLED_INSTRUMENTATIONS=pg leaves pg alone and keeps the rest', async () => {
    const name = service();
    const app = await runWork(name, { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pg' });
    const spans = await waitFor(() => {
      const list = ofService(name);
      return list.some((s) => s.kind === 2) && list;
    });
    expect(spans.some((s) => s.attributes['db.system.name'] === 'postgresql')).toBe(false);
    expect(spans.some((s) => s.attributes['db.system.name'] === 'redis')).toBe(true);
    expect(otelLines(app.stderr()).join('\n')).toMatch(
      /instrumentations=http,undici,express,redis,winston,runtime-node /,
    );
  }, 30_000);

  it('OTEL_SDK_DISABLED=true: the app runs untouched and nothing is sent', async () => {
    const name = service();
    const app = await runWork(name, { OTEL_SDK_DISABLED: 'true' });
    expect(app.stderr()).toContain('OTEL_SDK_DISABLED=true: telemetry is off.');
    await new Promise((r) => setTimeout(r, 500));
    expect(ofService(name)).toEqual([]);
  }, 30_000);

  it('OTEL_TRACES_EXPORTER=none: no spans sent, but log records still carry trace ids', async () => {
    const name = service();
    await runWork(name, { OTEL_TRACES_EXPORTER: 'none' });
    const log = await waitFor(() =>
      sink.logs().find((l) => l.resource['service.name'] === name && l.body === 'work done'),
    );
    expect(log.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ofService(name)).toEqual([]);
  }, 30_000);

  it.each([
    ['curated (default)', {}],
    [
      'MEM0_OTEL_INSTRUMENTATIONS=all',
      { MEM0_OTEL_INSTRUMENTATIONS: 'all', OTEL_NODE_RESOURCE_DETECTORS: 'env' },
    ],
  ])(
    "%s: the app's outgoing requests are traced and measured, the preload's own exports are not",
    async (_label, extra: Record<string, string>) => {
      const name = service();
      const app = await startApp(
        ['--require', '@mem0-stack/otel/register'],
        'outgoing-app.cjs',
        env(name, { OTEL_METRIC_EXPORT_INTERVAL: '300', ...extra }),
      );
      let dependencyPort = 0;
      try {
        for (let i = 0; i < 3; i++) {
          const r = await fetch(`http://127.0.0.1:${app.port}/call`);
          expect(r.status).toBe(200);
          const out = (await r.json()) as { body: string; dependencyPort: number };
          expect(out.body).toBe('dep');
          dependencyPort = out.dependencyPort;
        }
        // Let spans go out in several exports first, then let a metrics export follow them.
        await waitFor(() => ofService(name).filter((s) => s.kind === 3).length >= 3, {
          what: 'client spans',
        });
        await new Promise((r) => setTimeout(r, 800));
        const ports = await waitFor(
          () => {
            const points = sink
              .metrics()
              .filter((m) => m.resource['service.name'] === name && m.name === 'http.client.request.duration')
              .flatMap(
                (m) =>
                  (m.data as { histogram?: { dataPoints?: Array<{ attributes?: never }> } }).histogram
                    ?.dataPoints ?? [],
              )
              .map((p) => attrs(p.attributes)['server.port']);
            return points.length > 0 && points;
          },
          { what: 'http.client.request.duration at the sink' },
        );
        expect(ports).toContain(dependencyPort);
        expect(ports).not.toContain(sink.port);
        expect(sink.requests.traces + sink.requests.metrics).toBeGreaterThan(1);
        const clientSpans = ofService(name).filter((s) => s.kind === 3);
        expect(clientSpans.map((s) => s.attributes['server.port'])).toEqual(
          expect.arrayContaining([dependencyPort]),
        );
        expect(clientSpans.map((s) => s.attributes['server.port'])).not.toContain(sink.port);
      } finally {
        app.signal('SIGTERM');
        await app.exited;
      }
    },
    60_000,
  );

  it('MEM0_OTEL_INSTRUMENTATIONS=all loads the upstream bundle lazily', async () => {
    const name = service();
    const app = await runWork(name, {
      MEM0_OTEL_INSTRUMENTATIONS: 'all',
      OTEL_NODE_RESOURCE_DETECTORS: 'env',
    });
    const started = otelLines(app.stderr()).find((l) => l.includes('info: started:')) ?? '';
    expect(started).toMatch(/instrumentations=.*\bhttp\b.*/);
    expect(started).toMatch(/\bkafkajs\b|\bmongodb\b|\bmysql2\b/);
    const spans = await waitFor(() => {
      const list = ofService(name);
      return list.some((s) => s.kind === 2) && list;
    });
    expect(spans.find((s) => s.kind === 2)?.scope).toBe('@opentelemetry/instrumentation-http');
  }, 60_000);
});

describe('start() from code', () => {
  it('warns once, naming the modules and the fix, when they were loaded before start()', async () => {
    const r = await runNode([join(FIXTURES, 'late-start.cjs')], { env: childEnv({}), cwd: REPO_DIR });
    expect(r.code).toBe(0);
    const warnings = otelLines(r.stderr).filter((l) => l.includes('loaded before'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('winston, express were loaded before @mem0-stack/otel started');
    expect(warnings[0]).toContain('--require @mem0-stack/otel/register');
  }, 30_000);

  it('start(options), forceFlush() and shutdown() work without the preload', async () => {
    const r = await runNode([join(FIXTURES, 'programmatic.cjs')], {
      env: childEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
      cwd: REPO_DIR,
    });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    expect(out.same).toBe(true);
    expect(out.enabled).toBe(true);
    expect(out.instrumentations.enabled).toContain('http');
    const span = sink
      .spans()
      .find((s) => s.name === 'manual-work' && s.resource['service.name'] === 'programmatic');
    expect(span?.resource['team.name']).toBe('core');
  }, 30_000);

  it('the global logger and meter providers flush on request, so records logged just before process.exit() arrive', async () => {
    const name = service();
    const r = await runNode(
      ['--require', '@mem0-stack/otel/register', join(FIXTURES, 'global-flush-exit.cjs')],
      {
        env: env(name, { OTEL_BLRP_SCHEDULE_DELAY: '60000', OTEL_METRIC_EXPORT_INTERVAL: '60000' }),
        cwd: REPO_DIR,
      },
    );
    expect(r.code).toBe(0);
    expect(sink.logs().some((l) => l.body === 'last words' && l.resource['service.name'] === name)).toBe(
      true,
    );
    expect(
      sink.metrics().some((m) => m.name === 'global_flush.count' && m.resource['service.name'] === name),
    ).toBe(true);
  }, 30_000);

  it('runtime metrics (event loop, heap) are exported', async () => {
    const name = service();
    const app = await startApp(
      ['--require', '@mem0-stack/otel/register'],
      'app.cjs',
      env(name, { OTEL_METRIC_EXPORT_INTERVAL: '500' }),
    );
    try {
      const mine = () =>
        sink
          .metrics()
          .filter((m) => m.resource['service.name'] === name)
          .map((m) => m.name);
      await waitFor(() => mine().includes('nodejs.eventloop.utilization'), {
        timeoutMs: 15_000,
        what: 'runtime metrics at the sink',
      });
      expect(mine()).toEqual(
        expect.arrayContaining(['nodejs.eventloop.utilization', 'v8js.memory.heap.used']),
      );
    } finally {
      app.signal('SIGTERM');
      await app.exited;
    }
  }, 30_000);
});
