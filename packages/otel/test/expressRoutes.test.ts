// http.route under express 4 and 5: lean span detail (our Route#dispatch hook, no express
// spans) names the same route as full (upstream's express instrumentation) for every route
// shape of fixtures/express-routes.cjs, marks a route handler's error on the server span, puts
// the route on the duration metric, and works for an ESM app under --import.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type OtlpSink, type SinkSpan, startOtlpSink, waitFor } from '@mem0-stack/testkit';
import { childEnv, ensureBuilt, FIXTURES, PKG_DIR, REPO_DIR, startApp } from './helpers';

// Where a bare `require('express')` finds each major: the repository's express is 5, this
// package's devDependency is express 4.
const EXPRESS_FROM: Record<'4' | '5', string> = { '4': PKG_DIR, '5': REPO_DIR };

type Case = {
  method: 'GET' | 'POST';
  path: string;
  route: string | undefined;
  status: number;
  /** Where upstream's instrumentation (full) reports something else: its value. */
  upstream?: { route: string | undefined };
};
const CASES: Case[] = [
  { method: 'GET', path: '/api/users/1/posts/2', route: '/api/users/:uid/posts/:pid', status: 200 },
  { method: 'GET', path: '/api/users/1', route: '/api/users/:uid', status: 200 },
  { method: 'POST', path: '/api/items/3', route: '/api/items/:id', status: 200 },
  { method: 'GET', path: '/api/a', route: '/api/a,/b/:x', status: 200 },
  { method: 'GET', path: '/api/b/2', route: '/api/a,/b/:x', status: 200 },
  { method: 'GET', path: '/api/re/5', route: '/api/^\\/re\\/(\\d+)$/', status: 200 },
  { method: 'GET', path: '/v1/hello/3', route: '/v1/hello/:n', status: 200 },
  { method: 'GET', path: '/', route: '/', status: 200 },
  // Matched by express all the same; upstream checks the URL against the route and gives up.
  { method: 'GET', path: '/?q=1', route: '/', status: 200, upstream: { route: undefined } },
  { method: 'GET', path: '/CASE', route: '/case', status: 200, upstream: { route: undefined } },
  { method: 'GET', path: '/boom', route: '/boom', status: 500 },
  // Passed on by its route, then answered by a 404 middleware: no route served it.
  { method: 'GET', path: '/pass', route: undefined, status: 404 },
  { method: 'GET', path: '/nope', route: undefined, status: 404 },
];
const ASYNC_CASE: Case = { method: 'GET', path: '/aboom', route: '/aboom', status: 500 };

let sink: OtlpSink;

beforeAll(async () => {
  ensureBuilt();
  sink = await startOtlpSink();
}, 60_000);

afterAll(async () => {
  await sink?.close();
});

const traceId = () => randomBytes(16).toString('hex');

/** Serves every case once; returns the spans of each request's trace, by path. */
async function serve(major: '4' | '5', detail: 'lean' | 'full', cases: Case[]) {
  const name = `routes-${major}-${detail}-${randomBytes(3).toString('hex')}`;
  const app = await startApp(
    ['--require', '@mem0-stack/otel/register'],
    'express-routes.cjs',
    childEnv({
      OTEL_SERVICE_NAME: name,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      MEM0_OTEL_SPAN_DETAIL: detail,
      EXPRESS_FROM: EXPRESS_FROM[major],
    }),
  );
  expect(JSON.parse(app.stdout().split('\n')[0] ?? '{}').express).toMatch(new RegExp(`^${major}\\.`));
  const ids = new Map<string, string>();
  for (const c of cases) {
    const id = traceId();
    ids.set(c.path, id);
    const r = await fetch(`http://127.0.0.1:${app.port}${c.path}`, {
      method: c.method,
      headers: {
        traceparent: `00-${id}-${randomBytes(8).toString('hex')}-01`,
        'content-type': 'application/json',
      },
      body: c.method === 'POST' ? JSON.stringify({ name: 'widget' }) : undefined,
    });
    await r.text();
    expect({ path: c.path, status: r.status }).toEqual({ path: c.path, status: c.status });
  }
  app.signal('SIGTERM');
  await app.exited;
  const mine = () => sink.spans().filter((s) => s.resource['service.name'] === name);
  await waitFor(() => mine().filter((s) => s.kind === 2).length >= cases.length, {
    what: `${cases.length} server spans of ${name}`,
  });
  const byPath = new Map<string, SinkSpan[]>();
  for (const [path, id] of ids)
    byPath.set(
      path,
      mine().filter((s) => s.traceId === id),
    );
  return { name, byPath, all: mine() };
}

const serverSpan = (spans: SinkSpan[] | undefined) => spans?.find((s) => s.kind === 2);

describe.each(['5', '4'] as const)('express %s', (major) => {
  const cases = major === '5' ? [...CASES, ASYNC_CASE] : CASES;

  it('lean names the http.route upstream (full) names for every route shape, with no express spans', async () => {
    const lean = await serve(major, 'lean', cases);
    const full = await serve(major, 'full', cases);
    const routes = (run: typeof lean) =>
      cases.map((c) => {
        const s = serverSpan(run.byPath.get(c.path));
        return { path: c.path, route: s?.attributes['http.route'], name: s?.name };
      });
    const expected = (upstream: boolean) =>
      cases.map((c) => {
        const route = upstream && c.upstream ? c.upstream.route : c.route;
        return { path: c.path, route, name: route === undefined ? c.method : `${c.method} ${route}` };
      });
    expect(routes(lean)).toEqual(expected(false));
    expect(routes(full)).toEqual(expected(true));

    expect(lean.all.filter((s) => s.scope === '@opentelemetry/instrumentation-express')).toEqual([]);
    expect(full.all.some((s) => s.scope === '@opentelemetry/instrumentation-express')).toBe(true);
    // A span started in the handler hangs directly off the server span.
    const item = lean.byPath.get('/api/items/3') ?? [];
    expect(item.find((s) => s.name === 'item-work')?.parentSpanId).toBe(serverSpan(item)?.spanId);
  }, 60_000);

  it('lean: an error thrown by a route handler marks the server span (ERROR, error.type, exception event)', async () => {
    const errors = cases.filter((c) => c.status === 500);
    const run = await serve(major, 'lean', errors);
    for (const c of errors) {
      const s = serverSpan(run.byPath.get(c.path));
      expect({
        path: c.path,
        status: s?.status?.code,
        errorType: s?.attributes['error.type'],
        exceptions: s?.events
          .filter((e) => e.name === 'exception')
          .map((e) => [e.attributes['exception.type'], e.attributes['exception.message']]),
      }).toEqual({
        path: c.path,
        status: 2,
        errorType: '500',
        exceptions: [['Error', c.path === '/boom' ? 'boom sync' : 'boom async']],
      });
    }
  }, 60_000);
});

it('lean: http.server.request.duration carries the express route', async () => {
  const run = await serve('5', 'lean', CASES.slice(0, 3));
  const metric = await waitFor(() =>
    sink
      .metrics()
      .find((m) => m.resource['service.name'] === run.name && m.name === 'http.server.request.duration'),
  );
  const routes = JSON.stringify(metric.data);
  expect(routes).toContain('/api/users/:uid/posts/:pid');
  expect(routes).toContain('/api/items/:id');
}, 60_000);

it.each(['5', '4'] as const)(
  'ESM app under --import, express %s: the route reaches the server span',
  async (major) => {
    // `import express from 'express'` resolves from the importing file: the fixture itself finds
    // this package's express 4; a copy under the repository's .tmp/ finds the root's express 5.
    let fixture = join(FIXTURES, 'express-routes.mjs');
    if (major === '5') {
      const dir = join(REPO_DIR, '.tmp', 'otel-express-esm');
      mkdirSync(dir, { recursive: true });
      copyFileSync(fixture, join(dir, 'express-routes.mjs'));
      fixture = join(dir, 'express-routes.mjs');
    }
    const name = `routes-esm-${major}-${randomBytes(3).toString('hex')}`;
    const app = await startApp(
      ['--import', '@mem0-stack/otel/register'],
      fixture,
      childEnv({
        OTEL_SERVICE_NAME: name,
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      }),
    );
    expect(JSON.parse(app.stdout().split('\n')[0] ?? '{}').express).toMatch(new RegExp(`^${major}\\.`));
    const r = await fetch(`http://127.0.0.1:${app.port}/api/items/9`);
    expect(await r.text()).toBe('item 9');
    app.signal('SIGTERM');
    await app.exited;
    const server = await waitFor(() =>
      sink.spans().find((s) => s.resource['service.name'] === name && s.kind === 2),
    );
    expect({ name: server.name, route: server.attributes['http.route'] }).toEqual({
      name: 'GET /api/items/:id',
      route: '/api/items/:id',
    });
  },
  30_000,
);
