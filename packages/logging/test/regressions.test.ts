import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@mem0-stack/testkit';
import express from 'express';
import { requestLogger, wrapHttpHandler } from '../src';
import { captureLogger } from './helpers';

jest.setTimeout(30_000);

type Reply = { status: number; body: Buffer; complete: boolean };

function call(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const done = () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), complete: res.complete });
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', done);
      res.on('error', done); // a connection destroyed mid-body
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
const requestLines = (records: Array<Record<string, unknown>>) =>
  records.filter((r) => 'http.response.status_code' in r);
const linesFor = (cap: { records(): Array<Record<string, unknown>> }, n: number) =>
  waitFor(() => requestLines(cap.records()).length >= n, { timeoutMs: 5000, what: `${n} request lines` });

describe('requestLogger: route template', () => {
  it('keeps the router mount path in http.route when an app-level error handler answers', async () => {
    const cap = captureLogger();
    const app = express();
    app.use(requestLogger({ logger: cap.logger }));
    const users = express.Router();
    users.get('/:id', () => {
      throw Object.assign(new Error('no such user'), { status: 404 });
    });
    app.use('/users', users);
    app.use(
      (
        err: { status?: number },
        _req: express.Request,
        res: express.Response,
        _next: express.NextFunction,
      ) => {
        res.status(err.status ?? 500).send('problem');
      },
    );
    const server = createServer(app);
    const port = await listen(server);
    try {
      const res = await call(port, '/users/42');
      expect(res.status).toBe(404);
      await linesFor(cap, 1);
      expect(requestLines(cap.records())[0]).toMatchObject({
        message: 'GET /users/:id 404',
        'http.route': '/users/:id',
      });
    } finally {
      await close(server);
    }
  });
});

describe('wrapHttpHandler: responses without a body', () => {
  it.each([
    ['HEAD', '/page', 200],
    ['GET', '/not-modified', 304],
    ['GET', '/no-content', 204],
  ])('%s %s (%d) reports the bytes actually sent (0), not the ignored body', async (method, path, status) => {
    const cap = captureLogger();
    const server = createServer(
      wrapHttpHandler(
        (_req, res) => {
          res.statusCode = status;
          res.end('hello world');
        },
        { logger: cap.logger, route: () => path },
      ),
    );
    const port = await listen(server);
    try {
      const res = await call(port, path, method);
      expect(res.status).toBe(status);
      expect(res.body.length).toBe(0);
      await linesFor(cap, 1);
      expect(requestLines(cap.records())[0]?.['http.response.body.size']).toBe(0);
    } finally {
      await close(server);
    }
  });
});

describe('wrapHttpHandler: a handler rejecting after it answered', () => {
  it('does not destroy a response that was already ended (the client gets the whole body)', async () => {
    const cap = captureLogger();
    const body = Buffer.alloc(16 * 1024 * 1024, 97);
    const server = createServer(
      wrapHttpHandler(
        async (_req, res) => {
          res.end(body);
          throw new Error('post-response cleanup failed');
        },
        { logger: cap.logger },
      ),
    );
    const port = await listen(server);
    try {
      const res = await call(port, '/report');
      expect(res.status).toBe(200);
      expect(res.complete).toBe(true);
      expect(res.body.length).toBe(body.length);
      await linesFor(cap, 1);
      expect(cap.records().some((r) => r.message === 'request handler failed')).toBe(true);
    } finally {
      await close(server);
    }
  });
});

describe('logging an Error with a throwing getter', () => {
  it.each([
    ['name', 'name'],
    ['code', 'code'],
    ['cause', 'cause'],
  ])(
    'logger.error(err) whose %s getter throws still writes the record with its contract fields',
    (_n, key) => {
      const { logger, records } = captureLogger();
      const err = Object.defineProperty(new Error('disk on fire'), key, {
        enumerable: key === 'code',
        get() {
          throw new Error('hostile getter');
        },
      });
      logger.error(err);
      const [r] = records();
      expect(r).toMatchObject({ level: 'error', message: 'disk on fire', 'service.name': 'test-svc' });
      expect(r?.error).toMatchObject({ message: 'disk on fire' });
    },
  );
});
