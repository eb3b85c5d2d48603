import { connect } from 'node:net';
import { call, deleteKeys, startTestService, uniqueUser } from './helpers';

// Default limits (MEM0_MAX_CONTENT_CHARS 8192, page sizes 20/100, compression above 1 KiB).
let ctx: Awaited<ReturnType<typeof startTestService>>;
let base: string;

beforeAll(async () => {
  ctx = await startTestService({});
  base = ctx.svc.url;
});
afterAll(async () => {
  await ctx?.svc.close();
  await deleteKeys(ctx.config.redisUrl, ctx.config.cachePrefix);
});

const JSON_CT = { 'content-type': 'application/json' };

function expectProblem(r: Awaited<ReturnType<typeof call>>, status: number, code: string) {
  expect({ status: r.status, code: r.json?.code }).toEqual({ status, code });
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.json.correlation_id).toBe(r.headers.get('x-correlation-id'));
}

// JSON as a client that escapes every non-ASCII character writes it (Python's json.dumps,
// Java's Jackson with ESCAPE_NON_ASCII, ...): each UTF-16 unit becomes a 6-byte \uXXXX escape.
const asciiJson = (v: unknown) =>
  JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

describe('validation', () => {
  test('deeply nested metadata → 400 VALIDATION_FAILED, not a 500', async () => {
    const depth = 10_000; // 20 KB: far below the body limit
    const raw = `{"user_id":"${uniqueUser('deep')}","content":"nested","metadata":{"d":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const r = await call(base, 'POST', '/v1/memories', { raw, headers: JSON_CT });
    expectProblem(r, 400, 'VALIDATION_FAILED');
    expect(r.json.errors).toEqual([expect.objectContaining({ path: 'metadata' })]);
  });

  test('content at the documented maximum is accepted however the client escapes it (not 413)', async () => {
    const user = uniqueUser('max');
    // 8192 control characters: JSON has to escape each one (\u0001, 6 bytes).
    const ctrl = await call(base, 'POST', '/v1/memories', {
      raw: JSON.stringify({ user_id: user, content: '\u0001'.repeat(8192) }),
      headers: JSON_CT,
    });
    expect(ctrl.status).toBe(201);
    expect(ctrl.json.content).toHaveLength(8192);
    // 8192 CJK characters plus 4000 characters of metadata, ASCII-escaped.
    const cjk = await call(base, 'POST', '/v1/memories', {
      raw: asciiJson({ user_id: user, content: '記'.repeat(8192), metadata: { note: 'ü'.repeat(4000) } }),
      headers: JSON_CT,
    });
    expect(cjk.status).toBe(201);
    expect(cjk.json.content).toBe('記'.repeat(8192));
  });

  test('a metadata number JSON numbers in JS cannot carry exactly is never silently changed', async () => {
    for (const [literal, key] of [
      ['9007199254740993', 'n'], // 2^53 + 1: parses to 2^53
      ['12345678901234567890', 'n'], // a 64-bit id
      ['1e400', 'x'], // overflows to Infinity, stored as null
    ] as const) {
      const r = await call(base, 'POST', '/v1/memories', {
        raw: `{"user_id":"${uniqueUser('num')}","content":"numbers","metadata":{"${key}":${literal}}}`,
        headers: JSON_CT,
      });
      if (r.status === 201) expect(r.text).toContain(`"${key}":${literal}`);
      else {
        expectProblem(r, 400, 'VALIDATION_FAILED');
        expect(r.json.errors).toEqual([expect.objectContaining({ path: `metadata.${key}` })]);
      }
    }
    // Numbers that do survive are still accepted.
    const ok = await call(base, 'POST', '/v1/memories', {
      raw: `{"user_id":"${uniqueUser('num')}","content":"numbers","metadata":{"a":9007199254740991,"b":6.02e23,"c":-1.5}}`,
      headers: JSON_CT,
    });
    expect(ok.status).toBe(201);
    expect(ok.json.metadata).toEqual({ a: 9007199254740991, b: 6.02e23, c: -1.5 });
  });

  test('text PostgreSQL cannot store (NUL, lone surrogates) → 400 naming the field, never altered or a DB error', async () => {
    const user = uniqueUser('text');
    const post = (raw: string) => call(base, 'POST', '/v1/memories', { raw, headers: JSON_CT });
    const cases: Array<[string, string]> = [
      [`{"user_id":"${user}","content":"a\\u0000b"}`, 'content'],
      [`{"user_id":"${user}","content":"a\\ud800b"}`, 'content'], // stored as U+FFFD today
      [`{"user_id":"${user}","content":"ok","metadata":{"k":"a\\u0000b"}}`, 'metadata.k'],
      [`{"user_id":"${user}","content":"ok","metadata":{"k":["\\udc00"]}}`, 'metadata.k.0'],
    ];
    for (const [raw, path] of cases) {
      const r = await post(raw);
      expectProblem(r, 400, 'VALIDATION_FAILED');
      expect(r.json.errors).toEqual([expect.objectContaining({ path })]);
    }
    const m = await call(base, 'POST', '/v1/memories', { body: { user_id: user, content: 'fine' } });
    const patch = await call(base, 'PATCH', `/v1/memories/${m.json.id}`, {
      raw: '{"content":"x\\ud83dy"}',
      headers: JSON_CT,
    });
    expectProblem(patch, 400, 'VALIDATION_FAILED');
    expect((await call(base, 'GET', `/v1/memories/${m.json.id}`)).json.content).toBe('fine');
    const search = await call(base, 'GET', `/v1/memories/search?user_id=${user}&q=a%00b`);
    expectProblem(search, 400, 'VALIDATION_FAILED');
    expect(search.json.errors).toEqual([expect.objectContaining({ path: 'q' })]);
    // Well-formed astral characters (surrogate pairs) are fine.
    const emoji = await call(base, 'POST', '/v1/memories', {
      raw: `{"user_id":"${user}","content":"tea \\ud83c\\udf75","metadata":{"e":"\\ud83c\\udf75"}}`,
      headers: JSON_CT,
    });
    expect(emoji.status).toBe(201);
    expect(emoji.json).toMatchObject({ content: 'tea 🍵', metadata: { e: '🍵' } });
  });
});

describe('compression negotiation', () => {
  let path: string;
  beforeAll(async () => {
    const user = uniqueUser('enc');
    const m = await call(base, 'POST', '/v1/memories', {
      body: { user_id: user, content: 'z'.repeat(4000) },
    });
    path = `/v1/memories/${m.json.id}`;
  });
  const encodingFor = async (acceptEncoding: string) => {
    const r = await fetch(base + path, { headers: { 'accept-encoding': acceptEncoding } });
    await r.arrayBuffer();
    return r.headers.get('content-encoding');
  };

  test('Accept-Encoding q-values and "*" are honoured', async () => {
    // gzip is what the client prefers; br is merely tolerated.
    expect(await encodingFor('br;q=0.1, gzip;q=1.0')).toBe('gzip');
    expect(await encodingFor('gzip;q=0.9, br;q=0.2')).toBe('gzip');
    // identity refused, anything else welcome: an uncompressed body is the one thing it refused.
    expect(await encodingFor('identity;q=0, *')).not.toBeNull();
    expect(await encodingFor('*;q=0.5, gzip;q=0')).toBe('br');
    // Unchanged: ties prefer br, q=0 refusals are honoured.
    expect(await encodingFor('gzip, br')).toBe('br');
    expect(await encodingFor('br;q=0, gzip')).toBe('gzip');
    expect(await encodingFor('gzip;q=0, br;q=0')).toBeNull();
    expect(await encodingFor('identity')).toBeNull();
  });
});

describe('cache', () => {
  test('DELETE of the only memory after a cached page: the page no longer announces a next page', async () => {
    const user = uniqueUser('tail');
    const ids: string[] = [];
    for (const content of ['oldest', 'middle', 'newest'])
      ids.push((await call(base, 'POST', '/v1/memories', { body: { user_id: user, content } })).json.id);
    const page = `/v1/memories?user_id=${user}&limit=2`;
    const before = await call(base, 'GET', page);
    expect(before.json.items.map((m: { content: string }) => m.content)).toEqual(['newest', 'middle']);
    expect(before.json.next_cursor).not.toBeNull();
    expect((await call(base, 'DELETE', `/v1/memories/${ids[0]}`)).status).toBe(204);
    // What the database says now: two memories, no next page.
    const after = await call(base, 'GET', page);
    expect(after.json.items.map((m: { content: string }) => m.content)).toEqual(['newest', 'middle']);
    expect(after.json.next_cursor).toBeNull();
  });
});

describe('shutdown', () => {
  test('a response finished while draining says Connection: close (keep-alive clients must not reuse the socket)', async () => {
    const own = await startTestService({});
    const { port } = new URL(own.svc.url);
    const user = uniqueUser('drain');
    const body = JSON.stringify({ user_id: user, content: 'sent during the drain' });
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (d) => {
      received += d.toString('latin1');
    });
    const ended = new Promise<void>((r) => socket.once('close', () => r()));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    // Headers and half of the body: the request is in flight when shutdown starts.
    socket.write(
      `POST /v1/memories HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 100));
    const closed = own.svc.close();
    await new Promise((r) => setTimeout(r, 100));
    socket.write(body.slice(10));
    await ended;
    await closed;
    await deleteKeys(own.config.redisUrl, own.config.cachePrefix);
    const head = received.split('\r\n\r\n')[0] as string;
    expect(head).toMatch(/^HTTP\/1\.1 201/);
    expect(head.toLowerCase()).toMatch(/\r\nconnection: close(\r\n|$)/);
  }, 20_000);
});
