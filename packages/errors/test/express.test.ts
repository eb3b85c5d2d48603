import type { AddressInfo } from 'node:net';
import { requestLogger } from '@mem0-stack/logging';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import express from 'express';
import { createClient } from 'redis';
import { z } from 'zod';
import {
  AuthenticationError,
  AuthorizationError,
  errorHandler,
  NotFoundError,
  notFoundHandler,
  RateLimitedError,
  resetErrorStats,
} from '../src/index';
import { type Harness, installHarness } from './harness';
import { type Env, http, pg, redis, startEnv } from './realFailures';

// Root `npx jest` ignores per-project testTimeout; real databases and child processes on a
// shared 2-core machine need more than jest's 5 s default.
jest.setTimeout(60_000);

let h: Harness;
let env: Env;
let server: import('node:http').Server;
let base: string;

const MemoryInput = z.object({ text: z.string().min(1), tags: z.array(z.string()).default([]) });

beforeAll(async () => {
  h = installHarness();
  env = await startEnv();
  const app = express();
  // Stands in for the http instrumentation: a SERVER span active for the whole request.
  app.use((req, res, next) => {
    if (req.headers['x-test-span'] !== '1') return next();
    trace
      .getTracer('test')
      .startActiveSpan(`${req.method} ${req.path}`, { kind: SpanKind.SERVER }, (span) => {
        res.on('finish', () => span.end());
        next();
      });
  });
  app.use(requestLogger());
  app.use(express.json({ limit: '1kb' }));
  app.post('/memories', (req, res) => {
    const input = MemoryInput.parse(req.body);
    res.status(201).json(input);
  });
  app.get('/auth', () => {
    throw new AuthenticationError('no bearer token');
  });
  app.get('/forbidden', () => {
    throw new AuthorizationError('tenant 7 may not read tenant 8');
  });
  app.get('/memories/:id', (req) => {
    throw new NotFoundError(`memory ${req.params.id}`, { code: 'MEMORY_NOT_FOUND' });
  });
  app.get('/conflict', async () => {
    throw await pg.uniqueViolation(env);
  });
  app.get('/rate', () => {
    throw new RateLimitedError('tenant quota', { retryAfterMs: 5000 });
  });
  app.get('/timeout', async () => {
    throw await pg.statementTimeout(env);
  });
  app.get('/unavailable', async () => {
    throw await redis.connectionRefused(env);
  });
  app.get('/database', async () => {
    throw await pg.lockNotAvailable(env);
  });
  app.get('/cache', async () => {
    const c = createClient({ url: 'redis://127.0.0.1:6379' });
    c.on('error', () => {});
    await c.connect();
    const key = `test:errors:${Date.now()}:notint`;
    try {
      await c.set(key, 'abc');
      await c.incr(key); // ERR value is not an integer
    } finally {
      await c.del(key);
      c.destroy();
    }
  });
  app.get('/configuration', async () => {
    throw await pg.unknownDatabase(env);
  });
  app.get('/internal', async () => {
    throw await pg.undefinedTable(env);
  });
  app.get('/string', () => {
    throw 'a string, not an Error';
  });
  app.get('/upstream', async () => {
    throw await http.status(env, 429);
  });
  app.get('/after-headers', (_req, res) => {
    res.write('partial');
    throw new Error('failed mid-stream');
  });
  app.get('/ended-then-failed', (_req, res, next) => {
    res.type('text').send('x'.repeat(8 * 1024 * 1024));
    next(new Error('failed after the response was complete'));
  });
  app.get('/stale-encoding', (_req, res) => {
    res.setHeader('Content-Encoding', 'gzip');
    throw new Error('failed before compressing');
  });
  app.get('/stale-length', (_req, res) => {
    res.setHeader('Content-Length', '100000');
    throw new Error('failed before streaming the file');
  });
  app.use(notFoundHandler());
  app.use(errorHandler());
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await env.cleanup();
  await h.shutdown();
});

beforeEach(() => {
  resetErrorStats();
});

type Case = [
  name: string,
  req: { path: string; method?: string; body?: string; type?: string },
  expected: { status: number; code: string | RegExp; category: string; retryAfter?: string },
];

const cases: Case[] = [
  [
    'validation (zod)',
    { path: '/memories', method: 'POST', body: '{"text":""}' },
    { status: 400, code: 'VALIDATION_FAILED', category: 'validation' },
  ],
  [
    'malformed JSON',
    { path: '/memories', method: 'POST', body: '{"text": "x",' },
    { status: 400, code: 'MALFORMED_JSON', category: 'validation' },
  ],
  [
    'body too large',
    { path: '/memories', method: 'POST', body: JSON.stringify({ text: 'x'.repeat(5000) }) },
    { status: 413, code: 'PAYLOAD_TOO_LARGE', category: 'validation' },
  ],
  [
    'unsupported charset',
    { path: '/memories', method: 'POST', body: '{}', type: 'application/json; charset=klingon' },
    { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', category: 'validation' },
  ],
  ['authentication', { path: '/auth' }, { status: 401, code: 'UNAUTHENTICATED', category: 'authentication' }],
  ['authorization', { path: '/forbidden' }, { status: 403, code: 'FORBIDDEN', category: 'authorization' }],
  ['not found', { path: '/memories/42' }, { status: 404, code: 'MEMORY_NOT_FOUND', category: 'not_found' }],
  ['no such route', { path: '/nope' }, { status: 404, code: 'ROUTE_NOT_FOUND', category: 'not_found' }],
  [
    'conflict (pg unique)',
    { path: '/conflict' },
    { status: 409, code: 'DB_UNIQUE_VIOLATION', category: 'conflict' },
  ],
  [
    'rate limited',
    { path: '/rate' },
    { status: 429, code: 'RATE_LIMITED', category: 'rate_limited', retryAfter: '5' },
  ],
  [
    'upstream 429',
    { path: '/upstream' },
    { status: 429, code: 'UPSTREAM_RATE_LIMITED', category: 'rate_limited', retryAfter: '7' },
  ],
  [
    'timeout (pg statement timeout)',
    { path: '/timeout' },
    { status: 504, code: 'DB_STATEMENT_TIMEOUT', category: 'timeout' },
  ],
  [
    'unavailable (redis refused)',
    { path: '/unavailable' },
    { status: 503, code: 'CONNECTION_REFUSED', category: 'unavailable' },
  ],
  [
    'database (pg lock not available)',
    { path: '/database' },
    { status: 503, code: 'DB_LOCK_NOT_AVAILABLE', category: 'database' },
  ],
  ['cache (redis ERR)', { path: '/cache' }, { status: 503, code: 'REDIS_ERROR', category: 'cache' }],
  [
    'configuration (unknown database)',
    { path: '/configuration' },
    { status: 500, code: 'DB_UNKNOWN_DATABASE', category: 'configuration' },
  ],
  [
    'internal (our SQL bug)',
    { path: '/internal' },
    { status: 500, code: 'DB_QUERY_ERROR', category: 'internal' },
  ],
  ['a thrown string', { path: '/string' }, { status: 500, code: 'UNCLASSIFIED', category: 'internal' }],
];

async function call(r: Case[1], headers: Record<string, string> = {}) {
  const res = await fetch(base + r.path, {
    method: r.method ?? 'GET',
    headers: { 'content-type': r.type ?? 'application/json', ...headers },
    body: r.body,
  });
  const text = await res.text();
  return { res, text, body: JSON.parse(text) as Record<string, unknown> };
}

function errorLine(id: string) {
  return h.logs.find((l) => l.correlation_id === id && typeof l['error.code'] === 'string');
}
function requestLine(id: string) {
  return h.logs.find((l) => l.correlation_id === id && l['http.response.status_code'] !== undefined);
}

describe.each([
  ['without a span (correlation scope from requestLogger)', {}],
  ['with an active server span (correlation id = trace id)', { 'x-test-span': '1' }],
])('express errorHandler %s', (_mode, headers) => {
  it.each(cases)('%s', async (_name, r, expected) => {
    const { res, text, body } = await call(r, headers);
    expect(res.status).toBe(expected.status);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(body).toMatchObject({
      status: expected.status,
      code: expected.code,
      category: expected.category,
      type: expect.stringMatching(/^urn:mem0-stack:error:[a-z0-9-]+$/),
      title: expect.any(String),
      detail: expect.any(String),
      retryable: expect.any(Boolean),
    });
    if (expected.retryAfter) expect(res.headers.get('retry-after')).toBe(expected.retryAfter);
    const id = body.correlation_id as string;
    expect(id).toEqual(res.headers.get('x-correlation-id'));
    if ('x-test-span' in headers) expect(id).toMatch(/^[0-9a-f]{32}$/);
    // One classified error line and the request line, both with the same correlation id.
    await new Promise((r) => setImmediate(r));
    expect(errorLine(id)).toMatchObject({ 'error.code': expected.code, 'error.category': expected.category });
    expect(requestLine(id)).toMatchObject({ 'http.response.status_code': expected.status });
    // Never internals in the body.
    expect(text).not.toMatch(
      /\n\s+at |SELECT|INSERT|pg_sleep|no_such_table|127\.0\.0\.1|postgres:\/\/|hunter2/i,
    );
  });
});

it('zod issues reach errors[] with pointers', async () => {
  const { body } = await call({ path: '/memories', method: 'POST', body: '{"text":"","tags":[1]}' });
  expect(body.errors).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ path: 'text', pointer: '#/text' }),
      expect.objectContaining({ path: 'tags.0', pointer: '#/tags/0' }),
    ]),
  );
});

it('malformed JSON: the raw body never echoes back', async () => {
  const { text } = await call({ path: '/memories', method: 'POST', body: '{"password": "hunter2", oops' });
  expect(text).not.toContain('hunter2');
});

it('an incoming x-correlation-id is honoured in body, header and log', async () => {
  const { res, body } = await call({ path: '/auth' }, { 'x-correlation-id': 'client-req-77' });
  expect(body.correlation_id).toBe('client-req-77');
  expect(res.headers.get('x-correlation-id')).toBe('client-req-77');
  expect(errorLine('client-req-77')).toBeDefined();
});

it('server span: 5xx marks it as error, 4xx does not', async () => {
  h.spans.reset();
  const a = await call({ path: '/internal' }, { 'x-test-span': '1' });
  const b = await call({ path: '/memories/1' }, { 'x-test-span': '1' });
  const spans = h.spans.getFinishedSpans();
  const s500 = spans.find((s) => s.spanContext().traceId === a.body.correlation_id)!;
  const s404 = spans.find((s) => s.spanContext().traceId === b.body.correlation_id)!;
  expect(s500.status.code).toBe(SpanStatusCode.ERROR);
  expect(s404.status.code).toBe(SpanStatusCode.UNSET);
  for (const s of [s500, s404]) expect(s.events.some((e) => e.name === 'exception')).toBe(true);
});

it('error after headers were sent: the connection is cut, the error still recorded', async () => {
  const err = await fetch(`${base}/after-headers`)
    .then((r) => r.text())
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  // undici reports the cut as a TypeError ('terminated' mid-body, 'fetch failed' if the
  // socket died before the head was flushed); it comes from another realm, so no instanceof.
  expect((err as Error).name).toBe('TypeError');
  expect((err as Error).message).toMatch(/^(terminated|fetch failed)$/);
  await new Promise((r) => setTimeout(r, 20));
  expect(h.logs.some((l) => l['exception.message'] === 'failed mid-stream')).toBe(true);
});

it('error after the response was complete: the response is delivered whole, the error recorded', async () => {
  const res = await fetch(`${base}/ended-then-failed`);
  const text = await res.text();
  expect(res.status).toBe(200);
  expect(text.length).toBe(8 * 1024 * 1024);
  expect(h.logs.some((l) => l['exception.message'] === 'failed after the response was complete')).toBe(true);
});

it.each([
  ['a Content-Encoding', '/stale-encoding'],
  ['a Content-Length', '/stale-length'],
])('a route that set %s before failing still gets a readable problem+json', async (_name, path) => {
  const res = await fetch(base + path);
  expect(res.status).toBe(500);
  expect(res.headers.get('content-encoding')).toBeNull();
  expect(JSON.parse(await res.text())).toMatchObject({ status: 500, code: 'UNCLASSIFIED' });
});

it('app.errors counts each request once', async () => {
  const before = await h.errorCount({ 'error.code': 'UNAUTHENTICATED' });
  await call({ path: '/auth' });
  await call({ path: '/auth' });
  expect(await h.errorCount({ 'error.code': 'UNAUTHENTICATED', 'error.category': 'authentication' })).toBe(
    before + 2,
  );
});
