import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@mem0-stack/testkit';
import { trace } from '@opentelemetry/api';
import express from 'express';
import { getCorrelationId, requestLogger, templatePath, wrapHttpHandler } from '../src';
import { captureLogger } from './helpers';
import { startTracing } from './otelHarness';

// Child processes and 100-request bursts on a shared 2-core machine need more than jest's 5 s
// default (the preset's testTimeout is not applied in multi-project runs).
jest.setTimeout(30_000);

type Reply = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

function call(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const close = (server: Server) => new Promise<void>((r) => server.close(() => r()));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const requestLines = (records: Array<Record<string, unknown>>) =>
  records.filter((r) => 'http.response.status_code' in r);
/** The request line is written on the server's 'finish', which can trail the client's 'end'. */
const linesFor = (cap: { records(): Array<Record<string, unknown>> }, n: number) =>
  waitFor(() => requestLines(cap.records()).length >= n, { timeoutMs: 5000, what: `${n} request lines` });

describe('requestLogger (express)', () => {
  let server: Server;
  let port: number;
  let cap: ReturnType<typeof captureLogger>;

  beforeAll(async () => {
    cap = captureLogger({ level: 'debug' });
    const app = express();
    app.use(requestLogger({ logger: cap.logger }));
    const users = express.Router();
    users.get('/:id', (req, res) => {
      cap.logger.info('loading user', { id: req.params.id });
      res.json({ id: req.params.id, cid: getCorrelationId() });
    });
    app.use('/users', users);
    app.get('/boom', () => {
      throw new Error('kaput');
    });
    app.get('/health', (_req, res) => {
      res.send('ok');
    });
    app.get('/teapot', (_req, res) => {
      res.status(418).send('short and stout');
    });
    app.get('/slow/:n', async (req, res) => {
      const n = Number(req.params.n);
      await sleep(Math.floor(Math.random() * 20));
      cap.logger.info('step 1', { n });
      await sleep(Math.floor(Math.random() * 20));
      cap.logger.info('step 2', { n });
      res.send(getCorrelationId());
    });
    server = createServer(app);
    port = await listen(server);
  });
  afterAll(async () => {
    await close(server);
  });
  beforeEach(() => {
    cap.lines.length = 0;
  });

  it('logs one line per request at completion with method, route template, status, duration, bytes, user agent and correlation id', async () => {
    const res = await call(port, '/users/42?secret=x', {
      'user-agent': 'jest-agent/1.0',
      'x-correlation-id': 'abc-123',
    });
    await linesFor(cap, 1);
    expect(res.status).toBe(200);
    expect(res.headers['x-correlation-id']).toBe('abc-123');
    const lines = requestLines(cap.records());
    expect(lines).toHaveLength(1);
    const r = lines[0] as Record<string, unknown>;
    expect(r).toMatchObject({
      level: 'info',
      message: 'GET /users/:id 200',
      'http.request.method': 'GET',
      'http.route': '/users/:id',
      'http.response.status_code': 200,
      'http.response.body.size': Buffer.byteLength(res.body),
      'user_agent.original': 'jest-agent/1.0',
      correlation_id: 'abc-123',
    });
    expect(typeof r.duration_ms).toBe('number');
    expect(JSON.stringify(r)).not.toContain('secret=x');
    // the handler's own line shares the id
    expect(cap.records().find((x) => x.message === 'loading user')?.correlation_id).toBe('abc-123');
    expect(JSON.parse(res.body).cid).toBe('abc-123');
  });

  it('levels by outcome: 5xx error, 4xx warn', async () => {
    await call(port, '/boom');
    await call(port, '/teapot');
    await call(port, '/nope');
    await linesFor(cap, 3);
    const byStatus = Object.fromEntries(
      requestLines(cap.records()).map((r) => [
        r['http.response.status_code'],
        [r.level, r['http.route'] ?? null],
      ]),
    );
    expect(byStatus).toEqual({ 500: ['error', '/boom'], 418: ['warn', '/teapot'], 404: ['warn', null] });
  });

  it('skips health routes but still sets the correlation header', async () => {
    const res = await call(port, '/health');
    await call(port, '/users/5');
    await linesFor(cap, 1);
    expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(requestLines(cap.records()).map((r) => r['http.route'])).toEqual(['/users/:id']);
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['JSON injection', 'a"},{"level":"error","forged":"1'],
    ['tab and unicode', 'ab\tcdé'],
    ['bad chars', 'id with spaces'],
  ])('replaces an invalid incoming id (%s) with a generated 32-hex id', async (_n, bad) => {
    const res = await call(port, '/users/1', { 'x-correlation-id': bad });
    expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('accepts x-request-id when x-correlation-id is absent', async () => {
    const res = await call(port, '/users/7', { 'x-request-id': 'req.7_A-b' });
    expect(res.headers['x-correlation-id']).toBe('req.7_A-b');
  });

  it('100 concurrent requests each see only their own correlation id', async () => {
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, n) => call(port, `/slow/${n}`, { 'x-correlation-id': `req-${n}` })),
    );
    await linesFor(cap, 100);
    replies.forEach((r, n) => {
      expect(r.body).toBe(`req-${n}`);
      expect(r.headers['x-correlation-id']).toBe(`req-${n}`);
    });
    const records = cap.records();
    const steps = records.filter((r) => r.message === 'step 1' || r.message === 'step 2');
    expect(steps).toHaveLength(200);
    for (const s of steps) expect(s.correlation_id).toBe(`req-${s.n}`);
    const done = requestLines(records);
    expect(done).toHaveLength(100);
    expect(new Set(done.map((d) => d.correlation_id)).size).toBe(100);
  });
});

describe('requestLogger with an active server span (SDK on)', () => {
  it('uses the trace id as correlation id, sets traceresponse, and 100 concurrent requests stay separate', async () => {
    const t = startTracing();
    const cap = captureLogger();
    const tracer = trace.getTracer('test-http');
    const app = express();
    app.use(requestLogger({ logger: cap.logger }));
    app.get('/work/:n', async (req, res) => {
      await sleep(Math.floor(Math.random() * 15));
      cap.logger.info('working', { n: Number(req.params.n) });
      res.send(getCorrelationId());
    });
    // Stands in for the http instrumentation: a server span active for the whole request.
    const spans = new Map<number, string>();
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      tracer.startActiveSpan('GET', (span) => {
        const n = Number((req.url ?? '').split('/').pop());
        spans.set(n, span.spanContext().traceId);
        res.on('finish', () => span.end());
        app(req, res);
      });
    });
    const port = await listen(server);
    try {
      const replies = await Promise.all(
        Array.from({ length: 100 }, (_, n) =>
          call(port, `/work/${n}`, { 'x-correlation-id': `ignored-${n}` }),
        ),
      );
      await linesFor(cap, 100);
      replies.forEach((r, n) => {
        const traceId = spans.get(n);
        expect(traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(r.body).toBe(traceId);
        expect(r.headers['x-correlation-id']).toBe(traceId);
        expect(r.headers.traceresponse).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
      });
      for (const rec of cap.records()) {
        expect(rec.correlation_id).toBe(rec.trace_id);
        if (rec.message === 'working') expect(rec.trace_id).toBe(spans.get(Number(rec.n)));
      }
      const done = requestLines(cap.records());
      expect(done).toHaveLength(100);
      // the incoming id is kept as a field so it can still be joined
      expect(done.every((d) => String(d['http.request.correlation_id']).startsWith('ignored-'))).toBe(true);
      expect(new Set(done.map((d) => d.trace_id)).size).toBe(100);
    } finally {
      await close(server);
      t.stop();
    }
  });
});

describe('wrapHttpHandler (plain http)', () => {
  it('logs with a templated route and opens the correlation scope', async () => {
    const cap = captureLogger();
    const server = createServer(
      wrapHttpHandler(
        async (req, res) => {
          await sleep(2);
          cap.logger.info('handled');
          res.statusCode = req.url?.startsWith('/fail') ? 503 : 201;
          res.write('ab');
          res.end('cde');
        },
        { logger: cap.logger },
      ),
    );
    const port = await listen(server);
    try {
      const ok = await call(port, '/orders/123e4567-e89b-12d3-a456-426614174000/items/17?x=1', {
        'x-request-id': 'plain-1',
      });
      const bad = await call(port, '/fail/9');
      await linesFor(cap, 2);
      expect(ok.headers['x-correlation-id']).toBe('plain-1');
      expect(bad.status).toBe(503);
      const lines = requestLines(cap.records());
      expect(lines.map((l) => [l['http.route'], l.level, l['http.response.body.size']])).toEqual([
        ['/orders/:id/items/:id', 'info', 5],
        ['/fail/:id', 'error', 5],
      ]);
      expect(cap.records().find((r) => r.message === 'handled')?.correlation_id).toBe('plain-1');
    } finally {
      await close(server);
    }
  });

  it('a rejecting async handler becomes a 500 and an error line, not an unhandled rejection', async () => {
    const cap = captureLogger();
    const server = createServer(
      wrapHttpHandler(
        async () => {
          throw new Error('handler broke');
        },
        { logger: cap.logger },
      ),
    );
    const port = await listen(server);
    try {
      const res = await call(port, '/x');
      await linesFor(cap, 1);
      expect(res.status).toBe(500);
      const err = cap.records().find((r) => r.message === 'request handler failed');
      expect(err?.error).toMatchObject({ message: 'handler broke' });
    } finally {
      await close(server);
    }
  });

  it('a request the client aborts is logged once, as aborted, at warn', async () => {
    const cap = captureLogger();
    let release: () => void = () => {};
    const server = createServer(
      wrapHttpHandler(
        (_req, res) =>
          new Promise<void>((r) => {
            release = () => {
              r();
              res.end();
            };
          }),
        { logger: cap.logger },
      ),
    );
    const port = await listen(server);
    try {
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/hang', agent: false });
        req.on('error', () => resolve());
        req.end();
        setTimeout(() => req.destroy(), 100);
      });
      await linesFor(cap, 1);
      release();
      await sleep(20);
      const lines = requestLines(cap.records());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'warn', 'http.aborted': true, 'http.route': '/hang' });
    } finally {
      await close(server);
    }
  });

  it('templatePath', () => {
    expect(templatePath('/users/42/orders?x=1')).toBe('/users/:id/orders');
    expect(templatePath('/a/deadbeefcafe/b')).toBe('/a/:id/b');
    expect(templatePath('/static/app.js')).toBe('/static/app.js');
  });
});
