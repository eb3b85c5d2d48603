import { connect } from 'node:net';
import { loadConfig } from '../src/config';
import { call, deleteKeys, startTestService, uniqueUser } from './helpers';

let ctx: Awaited<ReturnType<typeof startTestService>>;
let base: string;

beforeAll(async () => {
  ctx = await startTestService({
    MEM0_MAX_CONTENT_CHARS: '200',
    MEM0_MAX_PAGE_SIZE: '50',
    MEM0_COMPRESS_THRESHOLD_BYTES: '1024',
  });
  base = ctx.svc.url;
});
afterAll(async () => {
  await ctx?.svc.close();
  await deleteKeys(ctx.config.redisUrl, ctx.config.cachePrefix);
});

async function create(user: string, content: string, metadata?: Record<string, unknown>) {
  const r = await call(base, 'POST', '/v1/memories', { body: { user_id: user, content, metadata } });
  expect(r.status).toBe(201);
  return r.json as { id: string; user_id: string; content: string; created_at: string };
}

function expectProblem(r: Awaited<ReturnType<typeof call>>, status: number, code: string) {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.json).toMatchObject({ status, code });
  expect(typeof r.json.title).toBe('string');
  expect(typeof r.json.detail).toBe('string');
  expect(r.json.correlation_id).toBe(r.headers.get('x-correlation-id'));
  expect(r.text).not.toMatch(/at .*\.(ts|js):\d+|SELECT|INSERT|postgres:\/\//);
}

describe('health', () => {
  test('GET /healthz is 200', async () => {
    const r = await call(base, 'GET', '/healthz');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: 'ok' });
  });

  test('GET /readyz reports both dependencies', async () => {
    const r = await call(base, 'GET', '/readyz');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
  });
});

describe('POST /v1/memories', () => {
  test('creates a memory: 201, Location, full representation', async () => {
    const user = uniqueUser();
    const r = await call(base, 'POST', '/v1/memories', {
      body: { user_id: user, content: 'likes green tea', metadata: { a: 1 } },
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ user_id: user, content: 'likes green tea', metadata: { a: 1 } });
    expect(r.json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.json.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(r.headers.get('location')).toBe(`/v1/memories/${r.json.id}`);
  });

  test('metadata defaults to {}', async () => {
    const m = await create(uniqueUser(), 'no metadata');
    expect((m as unknown as { metadata: unknown }).metadata).toEqual({});
  });

  test('unknown field → 400 with the field named', async () => {
    const r = await call(base, 'POST', '/v1/memories', {
      body: { user_id: uniqueUser(), content: 'x', colour: 'red' },
    });
    expectProblem(r, 400, 'VALIDATION_FAILED');
    expect(r.json.errors).toEqual([expect.objectContaining({ path: 'colour', pointer: '#/colour' })]);
  });

  test('oversized content → 400 naming the limit', async () => {
    const r = await call(base, 'POST', '/v1/memories', {
      body: { user_id: uniqueUser(), content: 'x'.repeat(201) },
    });
    expectProblem(r, 400, 'VALIDATION_FAILED');
    expect(r.json.errors[0]).toMatchObject({ path: 'content' });
    expect(r.json.errors[0].message).toContain('200');
  });

  test('missing user_id and empty content → 400 listing both', async () => {
    const r = await call(base, 'POST', '/v1/memories', { body: { content: '' } });
    expectProblem(r, 400, 'VALIDATION_FAILED');
    const paths = r.json.errors.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(['content', 'user_id']);
  });

  test('bad user_id characters → 400', async () => {
    const r = await call(base, 'POST', '/v1/memories', { body: { user_id: 'a b<script>', content: 'x' } });
    expectProblem(r, 400, 'VALIDATION_FAILED');
  });

  test('invalid JSON → 400 MALFORMED_JSON', async () => {
    const r = await call(base, 'POST', '/v1/memories', {
      raw: '{"user_id": "a",',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(r, 400, 'MALFORMED_JSON');
  });

  test('a metadata key "__proto__" → 400 naming it (never silently dropped)', async () => {
    const r = await call(base, 'POST', '/v1/memories', {
      raw: '{"user_id":"proto-user","content":"x","metadata":{"__proto__":{"a":1},"b":2}}',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(r, 400, 'VALIDATION_FAILED');
    expect(r.json.errors[0]).toMatchObject({ path: 'metadata.__proto__' });
  });

  test('a JSON array body → 400', async () => {
    const r = await call(base, 'POST', '/v1/memories', { body: [1, 2] });
    expectProblem(r, 400, 'VALIDATION_FAILED');
  });

  test('wrong content type → 415', async () => {
    const r = await call(base, 'POST', '/v1/memories', {
      raw: 'user_id=a&content=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectProblem(r, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('body larger than the parser limit → 413', async () => {
    const r = await call(base, 'POST', '/v1/memories', {
      body: { user_id: uniqueUser(), content: 'x'.repeat(100_000) },
    });
    expectProblem(r, 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('GET /v1/memories/:id', () => {
  test('returns the memory, with ETag; If-None-Match gives 304', async () => {
    const m = await create(uniqueUser(), 'remember the espresso');
    const r = await call(base, 'GET', `/v1/memories/${m.id}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: m.id, content: 'remember the espresso' });
    const etag = r.headers.get('etag');
    expect(etag).toMatch(/^W\/".+"$/);
    const again = await call(base, 'GET', `/v1/memories/${m.id}`, {
      headers: { 'if-none-match': etag as string },
    });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  test('a 304 carries the Vary and ETag a 200 would carry (RFC 9110 §15.4.5)', async () => {
    const m = await create(uniqueUser(), 'vary on the not-modified answer too');
    const r = await call(base, 'GET', `/v1/memories/${m.id}`);
    expect(r.headers.get('vary')).toBe('accept-encoding');
    const etag = r.headers.get('etag') as string;
    const again = await call(base, 'GET', `/v1/memories/${m.id}`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    // Without Vary a shared cache could revalidate a gzip copy for a client that sent no
    // Accept-Encoding, and then serve it compressed.
    expect(again.headers.get('vary')).toBe('accept-encoding');
  });

  test('?fields= returns only those fields', async () => {
    const m = await create(uniqueUser(), 'fields please');
    const r = await call(base, 'GET', `/v1/memories/${m.id}?fields=id,content`);
    expect(r.json).toEqual({ id: m.id, content: 'fields please' });
  });

  test('unknown field in ?fields= → 400', async () => {
    const m = await create(uniqueUser(), 'x');
    expectProblem(
      await call(base, 'GET', `/v1/memories/${m.id}?fields=id,password`),
      400,
      'VALIDATION_FAILED',
    );
  });

  test('unknown id → 404', async () => {
    expectProblem(
      await call(base, 'GET', '/v1/memories/00000000-0000-4000-8000-000000000000'),
      404,
      'MEMORY_NOT_FOUND',
    );
  });

  test('malformed id → 400 before any query', async () => {
    const before = ctx.svc.database.queryCount();
    expectProblem(await call(base, 'GET', "/v1/memories/1' OR '1'='1"), 400, 'INVALID_ID');
    expect(ctx.svc.database.queryCount()).toBe(before);
  });
});

describe('GET /v1/memories (keyset pagination)', () => {
  test('walks every memory once, newest first, then next_cursor is null', async () => {
    const user = uniqueUser('page');
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await create(user, `note ${i}`)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: Awaited<ReturnType<typeof call>> = await call(
        base,
        'GET',
        `/v1/memories?user_id=${user}&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(r.status).toBe(200);
      expect(r.json.items.length).toBeLessThanOrEqual(3);
      seen.push(...r.json.items.map((m: { id: string }) => m.id));
      cursor = r.json.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].reverse());
  });

  test('default page size and ?fields=', async () => {
    const user = uniqueUser();
    await create(user, 'a');
    const r = await call(base, 'GET', `/v1/memories?user_id=${user}&fields=id`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.json.items[0])).toEqual(['id']);
    expect(r.json.next_cursor).toBeNull();
  });

  test('another user sees none of them', async () => {
    await create(uniqueUser(), 'private');
    const r = await call(base, 'GET', `/v1/memories?user_id=${uniqueUser('other')}`);
    expect(r.json.items).toEqual([]);
  });

  test.each([
    ['missing user_id', '/v1/memories', 'VALIDATION_FAILED'],
    ['limit over the maximum', '/v1/memories?user_id=a&limit=51', 'VALIDATION_FAILED'],
    ['limit zero', '/v1/memories?user_id=a&limit=0', 'VALIDATION_FAILED'],
    ['limit not a number', '/v1/memories?user_id=a&limit=ten', 'VALIDATION_FAILED'],
    // Number() would read these as 20, 10 and 5: a page size is written in decimal digits only.
    ['limit in hex', '/v1/memories?user_id=a&limit=0x14', 'VALIDATION_FAILED'],
    ['limit with an exponent', '/v1/memories?user_id=a&limit=1e1', 'VALIDATION_FAILED'],
    ['limit with spaces', '/v1/memories?user_id=a&limit=%205', 'VALIDATION_FAILED'],
    ['limit given twice', '/v1/memories?user_id=a&limit=1&limit=2', 'VALIDATION_FAILED'],
    ['unknown query parameter', '/v1/memories?user_id=a&sort=asc', 'VALIDATION_FAILED'],
    ['garbage cursor', '/v1/memories?user_id=a&cursor=!!!', 'INVALID_CURSOR'],
    [
      'forged cursor with an impossible date (Feb 30)',
      `/v1/memories?user_id=a&cursor=${Buffer.from(JSON.stringify(['2024-02-30T00:00:00.000000Z', '00000000-0000-4000-8000-000000000000'])).toString('base64url')}`,
      'INVALID_CURSOR',
    ],
    [
      'forged cursor in year 0 (PostgreSQL has no year 0)',
      `/v1/memories?user_id=a&cursor=${Buffer.from(JSON.stringify(['0000-01-01T00:00:00.000000Z', '00000000-0000-4000-8000-000000000000'])).toString('base64url')}`,
      'INVALID_CURSOR',
    ],
    [
      'well-formed but forged cursor',
      `/v1/memories?user_id=a&cursor=${Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url')}`,
      'INVALID_CURSOR',
    ],
  ])('%s → 400', async (_name, path, code) => {
    expectProblem(await call(base, 'GET', path), 400, code);
  });

  test('large pages are compressed when the client accepts it; small ones are not', async () => {
    const user = uniqueUser('gzip');
    for (let i = 0; i < 12; i++)
      await create(user, `a fairly long memory about hiking trips and jazz concerts number ${i}`);
    const big = await fetch(`${base}/v1/memories?user_id=${user}&limit=12`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(big.headers.get('content-encoding')).toBe('gzip');
    expect((await big.json()).items).toHaveLength(12);
    const small = await fetch(`${base}/v1/memories?user_id=${user}&limit=1`, {
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(small.headers.get('content-encoding')).toBeNull();
    await small.arrayBuffer();
    // br preferred when offered; a q=0 refusal is honoured; the body decodes to the same page.
    const plain = await call(base, 'GET', `/v1/memories?user_id=${user}&limit=12`);
    const br = await fetch(`${base}/v1/memories?user_id=${user}&limit=12`, {
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(await br.json()).toEqual(plain.json);
    const noBr = await fetch(`${base}/v1/memories?user_id=${user}&limit=12`, {
      headers: { 'accept-encoding': 'br;q=0, gzip' },
    });
    expect(noBr.headers.get('content-encoding')).toBe('gzip');
    await noBr.arrayBuffer();
    const identity = await fetch(`${base}/v1/memories?user_id=${user}&limit=12`, {
      headers: { 'accept-encoding': 'identity' },
    });
    expect(identity.headers.get('content-encoding')).toBeNull();
    await identity.arrayBuffer();
  });
});

describe('GET /v1/memories/search', () => {
  test('full-text search finds stemmed matches for that user only', async () => {
    const user = uniqueUser('search');
    await create(user, 'Booked flights to Berlin for the conference');
    await create(user, 'Prefers window seats');
    await create(uniqueUser('search-other'), 'Berlin again');
    const r = await call(base, 'GET', `/v1/memories/search?user_id=${user}&q=flight%20berlin`);
    expect(r.status).toBe(200);
    expect(r.json.items.map((m: { content: string }) => m.content)).toEqual([
      'Booked flights to Berlin for the conference',
    ]);
    const none = await call(base, 'GET', `/v1/memories/search?user_id=${user}&q=submarine`);
    expect(none.json.items).toEqual([]);
  });

  test('websearch syntax never errors (quotes, minus, stray operators)', async () => {
    const user = uniqueUser('ws');
    await create(user, 'green tea in the morning');
    for (const q of ['"green tea"', 'tea -coffee', '& | !', "'; DROP TABLE memories; --"]) {
      const r = await call(base, 'GET', `/v1/memories/search?user_id=${user}&q=${encodeURIComponent(q)}`);
      expect(r.status).toBe(200);
    }
  });

  test.each([
    ['missing q', '/v1/memories/search?user_id=a'],
    ['empty q', '/v1/memories/search?user_id=a&q='],
    ['q too long', `/v1/memories/search?user_id=a&q=${'x'.repeat(300)}`],
    ['missing user_id', '/v1/memories/search?q=tea'],
  ])('%s → 400', async (_name, path) => {
    expectProblem(await call(base, 'GET', path), 400, 'VALIDATION_FAILED');
  });
});

describe('PATCH /v1/memories/:id', () => {
  test('updates content; list and search show the change', async () => {
    const user = uniqueUser('patch');
    const m = await create(user, 'likes espresso');
    // Read first so a cache (when on) holds the old list and search.
    await call(base, 'GET', `/v1/memories?user_id=${user}`);
    await call(base, 'GET', `/v1/memories/search?user_id=${user}&q=piano`);
    const r = await call(base, 'PATCH', `/v1/memories/${m.id}`, { body: { content: 'takes piano lessons' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: m.id, content: 'takes piano lessons' });
    expect(r.json.updated_at > m.created_at).toBe(true);
    const list = await call(base, 'GET', `/v1/memories?user_id=${user}`);
    expect(list.json.items[0].content).toBe('takes piano lessons');
    const search = await call(base, 'GET', `/v1/memories/search?user_id=${user}&q=piano`);
    expect(search.json.items).toHaveLength(1);
    const item = await call(base, 'GET', `/v1/memories/${m.id}`);
    expect(item.json.content).toBe('takes piano lessons');
  });

  test('metadata only', async () => {
    const m = await create(uniqueUser(), 'x', { a: 1 });
    const r = await call(base, 'PATCH', `/v1/memories/${m.id}`, { body: { metadata: { b: 2 } } });
    expect(r.json).toMatchObject({ content: 'x', metadata: { b: 2 } });
  });

  test('errors: empty patch 400, unknown field 400, user_id not patchable 400, bad id 400, unknown id 404, wrong type 415', async () => {
    const m = await create(uniqueUser(), 'x');
    expectProblem(await call(base, 'PATCH', `/v1/memories/${m.id}`, { body: {} }), 400, 'VALIDATION_FAILED');
    expectProblem(
      await call(base, 'PATCH', `/v1/memories/${m.id}`, { body: { tags: [] } }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await call(base, 'PATCH', `/v1/memories/${m.id}`, { body: { user_id: 'x' } }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await call(base, 'PATCH', '/v1/memories/nope', { body: { content: 'y' } }),
      400,
      'INVALID_ID',
    );
    expectProblem(
      await call(base, 'PATCH', '/v1/memories/00000000-0000-4000-8000-000000000000', {
        body: { content: 'y' },
      }),
      404,
      'MEMORY_NOT_FOUND',
    );
    expectProblem(
      await call(base, 'PATCH', `/v1/memories/${m.id}`, {
        raw: 'content=y',
        headers: { 'content-type': 'text/plain' },
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expectProblem(
      await call(base, 'PATCH', `/v1/memories/${m.id}`, {
        raw: '{"content": ',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'MALFORMED_JSON',
    );
    expectProblem(
      await call(base, 'PATCH', `/v1/memories/${m.id}`, { body: { content: 'x'.repeat(201) } }),
      400,
      'VALIDATION_FAILED',
    );
    // Nothing of the failed patches reached the row.
    expect((await call(base, 'GET', `/v1/memories/${m.id}`)).json.content).toBe('x');
  });
});

describe('DELETE /v1/memories/:id', () => {
  test('204, then gone from item, list and search', async () => {
    const user = uniqueUser('del');
    const m = await create(user, 'yoga classes on mondays');
    await call(base, 'GET', `/v1/memories/${m.id}`);
    await call(base, 'GET', `/v1/memories?user_id=${user}`);
    await call(base, 'GET', `/v1/memories/search?user_id=${user}&q=yoga`);
    const r = await call(base, 'DELETE', `/v1/memories/${m.id}`);
    expect(r.status).toBe(204);
    expectProblem(await call(base, 'GET', `/v1/memories/${m.id}`), 404, 'MEMORY_NOT_FOUND');
    expect((await call(base, 'GET', `/v1/memories?user_id=${user}`)).json.items).toEqual([]);
    expect((await call(base, 'GET', `/v1/memories/search?user_id=${user}&q=yoga`)).json.items).toEqual([]);
    expectProblem(await call(base, 'DELETE', `/v1/memories/${m.id}`), 404, 'MEMORY_NOT_FOUND');
  });

  test('bad id → 400', async () => {
    expectProblem(await call(base, 'DELETE', '/v1/memories/123'), 400, 'INVALID_ID');
  });
});

/** Sends raw bytes and returns the raw response (status line, headers, body). */
function rawRequest(
  bytes: string,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { port, hostname } = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = connect({ port: Number(port), host: hostname }, () => sock.write(bytes));
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (d) => {
      data += d;
    });
    sock.on('error', reject);
    sock.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
  });
}

describe('requests Node rejects before express', () => {
  const expectRawProblem = (r: Awaited<ReturnType<typeof rawRequest>>, status: number, code: string) => {
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toBe('application/problem+json');
    const body = JSON.parse(r.body);
    expect(body).toMatchObject({ status, code });
    expect(body.correlation_id).toBe(r.headers['x-correlation-id']);
    expect(r.body).not.toMatch(/HPE_|at .*\.(ts|js):\d+/);
  };

  test('64 KB of headers → 431 problem+json', async () => {
    const r = await rawRequest(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(65_536)}\r\n\r\n`);
    expectRawProblem(r, 431, 'HEADERS_TOO_LARGE');
  });

  test('malformed header bytes → 400 problem+json', async () => {
    const r = await rawRequest('GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\u0001: y\r\n\r\n');
    expectRawProblem(r, 400, 'MALFORMED_REQUEST');
  });

  test('CONNECT → 405 problem+json (not a proxy)', async () => {
    const r = await rawRequest('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expectRawProblem(r, 405, 'METHOD_NOT_ALLOWED');
  });
});

describe('everything else', () => {
  test('unknown route or method → 404 problem+json', async () => {
    expectProblem(await call(base, 'GET', '/v2/nothing'), 404, 'ROUTE_NOT_FOUND');
    expectProblem(
      await call(base, 'PUT', '/v1/memories/00000000-0000-4000-8000-000000000000', { body: {} }),
      404,
      'ROUTE_NOT_FOUND',
    );
  });

  test('GET /internal/stats reports requests, cache and database counters', async () => {
    const r = await call(base, 'GET', '/internal/stats');
    expect(r.status).toBe(200);
    expect(r.json.http.requests).toBeGreaterThan(0);
    expect(r.json.http.inFlight).toBe(0);
    expect(r.json.cache).toMatchObject({ enabled: true, name: 'memory-service' });
    expect(typeof r.json.cache.hits).toBe('number');
    expect(r.json.db.queries).toBe(ctx.svc.database.queryCount());
  });

  test('every response carries x-correlation-id; a valid incoming one is kept', async () => {
    for (const path of ['/healthz', '/readyz', '/v1/memories?user_id=a', '/nope']) {
      const r = await call(base, 'GET', path);
      expect(r.headers.get('x-correlation-id')).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    }
    const r = await call(base, 'GET', '/healthz', { headers: { 'x-correlation-id': 'abc-123' } });
    expect(r.headers.get('x-correlation-id')).toBe('abc-123');
    const bad = await call(base, 'GET', '/healthz', {
      headers: { 'x-correlation-id': 'bad id\twith\tspaces' },
    });
    expect(bad.headers.get('x-correlation-id')).not.toContain(' ');
  });

  test('business events are logged with ids', async () => {
    const m = await create(uniqueUser('log'), 'logged');
    expect(ctx.logs.find((l) => l.message === 'memory.created' && l['memory.id'] === m.id)).toBeDefined();
  });

  test('a bad MEM0_CACHE / MEM0_CACHE_L1 / PORT gives one warning naming it and keeps the default', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const c = loadConfig({ MEM0_CACHE: 'false', MEM0_CACHE_L1: '0', PORT: '70000' });
      expect({ cache: c.cacheEnabled, l1: c.cacheL1, port: c.port }).toEqual({
        cache: true,
        l1: true,
        port: 3000,
      });
      const said = warn.mock.calls.map((a) => String(a[0]));
      for (const name of ['MEM0_CACHE=', 'MEM0_CACHE_L1=', 'PORT=']) {
        expect(said.filter((m) => m.startsWith(name))).toHaveLength(1);
      }
      warn.mockClear();
      const ok = loadConfig({ MEM0_CACHE: 'off', MEM0_CACHE_L1: 'on', PORT: '0' });
      expect({ cache: ok.cacheEnabled, l1: ok.cacheL1, port: ok.port }).toEqual({
        cache: false,
        l1: true,
        port: 0,
      });
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  test('a default page size above the maximum gives one warning and is capped at the maximum', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const c = loadConfig({ MEM0_MAX_PAGE_SIZE: '50', MEM0_DEFAULT_PAGE_SIZE: '80' });
      expect({ max: c.maxPageSize, def: c.defaultPageSize }).toEqual({ max: 50, def: 50 });
      const said = warn.mock.calls.map((a) => String(a[0]));
      expect(said.filter((m) => m.startsWith('MEM0_DEFAULT_PAGE_SIZE='))).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });
});
