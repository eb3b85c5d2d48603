import { waitFor } from '@mem0-stack/testkit';
import { type Captured, call, deleteKeys, startTestService, uniqueUser } from './helpers';

// In-process, without the preload: no span is active, so the correlation id comes from the
// request logger's AsyncLocalStorage scope (a valid incoming id, else a generated one). The
// child-process test in preload.test.ts checks that it becomes the trace id under the preload.
let ctx: Awaited<ReturnType<typeof startTestService>>;
let base: string;

beforeAll(async () => {
  // Every statement counts as slow, so each request also writes a slow-query line.
  ctx = await startTestService({ MEM0_SLOW_QUERY_MS: '0' });
  base = ctx.svc.url;
});
afterAll(async () => {
  await ctx?.svc.close();
  await deleteKeys(ctx.config.redisUrl, ctx.config.cachePrefix);
});

/** Sends one request (nothing else runs concurrently) and returns it with the log lines it produced. */
async function traced(method: string, path: string, opts: Parameters<typeof call>[3] = {}) {
  const from = ctx.logs.length;
  const r = await call(base, method, path, opts);
  const id = r.headers.get('x-correlation-id') as string;
  // The request line is written on 'finish'; give it a moment to land.
  await waitFor(() => ctx.logs.slice(from).some((l) => l['http.response.status_code'] !== undefined), {
    what: `request log line of ${method} ${path}`,
    timeoutMs: 5000,
  });
  return { r, id, lines: ctx.logs.slice(from) };
}

function expectAllCarry(lines: Captured[], id: string) {
  expect(lines.length).toBeGreaterThan(0);
  for (const l of lines)
    expect({ message: l.message, correlation_id: l.correlation_id }).toEqual({
      message: l.message,
      correlation_id: id,
    });
}

test('a create: header, request line, business event and query lines all carry one id', async () => {
  const user = uniqueUser('corr');
  const { r, id, lines } = await traced('POST', '/v1/memories', {
    body: { user_id: user, content: 'private words about the dentist' },
  });
  expect(r.status).toBe(201);
  expect(id).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
  expectAllCarry(lines, id);
  const messages = lines.map((l) => l.message);
  expect(messages).toEqual(expect.arrayContaining(['memory.created', 'POST /v1/memories 201']));
  expect(lines.find((l) => l.message === 'memory.created')).toMatchObject({
    'event.name': 'memory.created',
    'user.id': user,
    'memory.id': r.json.id,
  });
});

test('slow-query lines carry the sanitized statement (no user content) and the correlation id', async () => {
  const user = uniqueUser('slow');
  await call(base, 'POST', '/v1/memories', { body: { user_id: user, content: 'zebrafish aquarium' } });
  const { r, id, lines } = await traced('GET', `/v1/memories/search?user_id=${user}&q=zebrafish`);
  expect(r.status).toBe(200);
  const slow = lines.filter((l) => l.message === 'db.slow_query');
  expect(slow.length).toBeGreaterThan(0);
  for (const l of slow) {
    expect(l).toMatchObject({ level: 'warn', correlation_id: id });
    expect(typeof l['db.client.connections.pending_requests']).toBe('number');
    expect(typeof l.duration_ms).toBe('number');
    expect(l['db.query.text']).toMatch(/\$1/);
    expect(JSON.stringify(l)).not.toContain('zebrafish');
    expect(JSON.stringify(l)).not.toContain(user);
  }
  expect(slow.map((l) => l['db.query.name'])).toContain('mem_search');
});

test('error responses: body correlation_id = header = every log line, including the error record', async () => {
  for (const [method, path, opts] of [
    ['GET', '/v1/memories/00000000-0000-4000-8000-000000000000', {}],
    ['GET', '/v1/memories?user_id=a&limit=9999', {}],
    ['POST', '/v1/memories', { raw: '{nope', headers: { 'content-type': 'application/json' } }],
    ['POST', '/v1/memories', { raw: 'x', headers: { 'content-type': 'text/plain' } }],
    ['GET', '/no/such/route', {}],
  ] as const) {
    const { r, id, lines } = await traced(method, path, opts);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.json.correlation_id).toBe(id);
    expectAllCarry(lines, id);
    const errorLine = lines.find((l) => l['error.code'] !== undefined);
    expect(errorLine).toMatchObject({ 'error.code': r.json.code, correlation_id: id });
    const requestLine = lines.find((l) => l['http.response.status_code'] === r.status);
    expect(requestLine).toMatchObject({ level: 'warn', correlation_id: id });
  }
});

test('a valid incoming x-correlation-id is kept end to end; an invalid one is replaced', async () => {
  const { r, id, lines } = await traced('GET', `/v1/memories?user_id=${uniqueUser()}`, {
    headers: { 'x-correlation-id': 'client-req-42' },
  });
  expect(r.status).toBe(200);
  expect(id).toBe('client-req-42');
  expectAllCarry(lines, 'client-req-42');
  const bad = await traced('GET', `/v1/memories?user_id=${uniqueUser()}`, {
    headers: { 'x-correlation-id': 'evil id {"level":"error"}' },
  });
  expect(bad.id).toMatch(/^[0-9a-f]{32}$/);
  expectAllCarry(bad.lines, bad.id);
});

test('concurrent requests never mix their ids', async () => {
  const users = Array.from({ length: 8 }, () => uniqueUser('mix'));
  const from = ctx.logs.length;
  const rs = await Promise.all(
    users.map((u) => call(base, 'POST', '/v1/memories', { body: { user_id: u, content: `note for ${u}` } })),
  );
  await waitFor(
    () => ctx.logs.slice(from).filter((l) => l.message === 'POST /v1/memories 201').length === 8,
    {
      what: 'eight request lines',
    },
  );
  const lines = ctx.logs.slice(from);
  for (const [i, r] of rs.entries()) {
    const id = r.headers.get('x-correlation-id');
    const event = lines.find((l) => l.message === 'memory.created' && l['user.id'] === users[i]);
    expect(event?.correlation_id).toBe(id);
  }
  expect(new Set(rs.map((r) => r.headers.get('x-correlation-id'))).size).toBe(8);
});
