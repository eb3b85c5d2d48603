import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Request, Response } from 'express';
import { call, deleteKeys, startTestService, uniqueUser } from './helpers';

// sendJson with node:zlib's brotliCompress counted (a pass-through wrapper), loaded in isolation
// so the count and the module's compressed-representation cache belong to this file alone.
let brotliCalls = 0;
let sendJson: typeof import('../src/sendJson').sendJson;
jest.isolateModules(() => {
  jest.doMock('node:zlib', () => {
    const z = jest.requireActual('node:zlib');
    return {
      ...z,
      brotliCompress: (...args: unknown[]) => {
        brotliCalls++;
        return z.brotliCompress(...args);
      },
    };
  });
  ({ sendJson } = require('../src/sendJson'));
});

/** A request accepting br and a response recording what was sent. */
function exchange() {
  const req = { headers: { 'accept-encoding': 'br' } } as unknown as Request;
  const sent: { status?: number; headers: Record<string, unknown>; body?: Buffer } = { headers: {} };
  const res = {
    status(s: number) {
      sent.status = s;
      return this;
    },
    setHeader(k: string, v: unknown) {
      sent.headers[k.toLowerCase()] = v;
      return this;
    },
    end(b?: Buffer) {
      sent.body = b;
    },
  } as unknown as Response;
  return { req, res, sent };
}

const send = async (body: unknown) => {
  const { req, res, sent } = exchange();
  await sendJson(req, res, 200, body, { etag: true, compressAbove: 1024 });
  return sent;
};

describe('compressed representations of cached reads', () => {
  beforeEach(() => {
    brotliCalls = 0;
  });

  test('a burst of identical requests compresses the representation once', async () => {
    const body = { items: [{ content: randomBytes(20_000).toString('base64') }] };
    const out = await Promise.all(Array.from({ length: 8 }, () => send(body)));
    expect(new Set(out.map((s) => s.headers['content-encoding']))).toEqual(new Set(['br']));
    expect(brotliCalls).toBe(1);
  });

  test('concurrent misses for one representation do not shrink what the cache can keep', async () => {
    // ~800 KB of JSON that brotli cannot shrink much (~600 KB): well below the 1 MiB an entry may
    // take, and 16 MiB hold more than 20 of them.
    const large = () => ({ items: [{ content: randomBytes(600_000).toString('base64') }] });
    const hot = large();
    await Promise.all(Array.from({ length: 40 }, () => send(hot)));
    // Another representation of the same size, read twice: the second read is a cache hit.
    const other = large();
    brotliCalls = 0;
    const first = await send(other);
    const second = await send(other);
    expect(second.body?.equals(first.body as Buffer)).toBe(true);
    expect(brotliCalls).toBe(1);
  });
});

describe('HEAD', () => {
  let ctx: Awaited<ReturnType<typeof startTestService>>;
  beforeAll(async () => {
    ctx = await startTestService({});
  });
  afterAll(async () => {
    await ctx?.svc.close();
    await deleteKeys(ctx.config.redisUrl, ctx.config.cachePrefix);
  });

  const fetchHead = (method: string, url: string, headers: Record<string, string>) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const u = new URL(url);
      const req = httpRequest(
        { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers));
        },
      );
      req.on('error', reject);
      req.end();
    });

  test('HEAD of a read carries the Content-Length (and encoding, ETag) a GET would', async () => {
    const user = uniqueUser('head');
    const m = await call(ctx.svc.url, 'POST', '/v1/memories', {
      body: { user_id: user, content: 'green tea '.repeat(300) },
    });
    for (const ae of ['identity', 'gzip', 'br']) {
      const url = `${ctx.svc.url}/v1/memories/${m.json.id}`;
      const get = await fetchHead('GET', url, { 'accept-encoding': ae });
      const head = await fetchHead('HEAD', url, { 'accept-encoding': ae });
      expect(get['content-length']).toBeDefined();
      const pick = (h: Record<string, unknown>) => [
        h['content-length'],
        h['content-encoding'],
        h.etag,
        h.vary,
      ];
      expect(pick(head)).toEqual(pick(get));
    }
  });
});
