import { createTestDatabase, type RedisServer, startRedisServer, waitFor } from '@mem0-stack/testkit';
import { loadConfig } from '../src/config';
import { type RunningService, startService } from '../src/service';
import { call, captureLogger, uniqueUser } from './helpers';
import { startTcpProxy } from './tcpProxy';

// A dedicated redis-server (stopped and restarted here) and a TCP proxy in front of the shared
// PostgreSQL (cut and restored here), so the outages touch this service only.
let redis: RedisServer;
let pg: Awaited<ReturnType<typeof startTcpProxy>>;
let svc: RunningService;
let logs: ReturnType<typeof captureLogger>['logs'];
let base: string;

beforeAll(async () => {
  redis = await startRedisServer();
  const direct = new URL(await createTestDatabase('mem0_memory_test'));
  pg = await startTcpProxy(Number(direct.port || 5432), direct.hostname);
  direct.host = `127.0.0.1:${pg.port}`;
  const captured = captureLogger('info');
  logs = captured.logs;
  svc = await startService(
    loadConfig({
      DATABASE_URL: direct.toString(),
      REDIS_URL: redis.url,
      PORT: '0',
      MEM0_DB_TIMEOUT_MS: '1000',
    }),
    { logger: captured.logger },
  );
  base = svc.url;
}, 60_000);

afterAll(async () => {
  await svc?.close();
  await pg?.close();
  await redis?.stop();
});

test('Redis down: ready but degraded, reads and writes still answer, nothing stale after it returns', async () => {
  const user = uniqueUser('redis');
  const m = (await call(base, 'POST', '/v1/memories', { body: { user_id: user, content: 'green tea' } }))
    .json;
  expect((await call(base, 'GET', `/v1/memories?user_id=${user}`)).json.items[0].content).toBe('green tea');
  expect((await call(base, 'GET', '/readyz')).json).toEqual({
    status: 'ok',
    checks: { database: 'ok', redis: 'ok' },
  });

  await redis.stop();
  const ready = await call(base, 'GET', '/readyz');
  expect(ready.status).toBe(200);
  expect(ready.json).toEqual({ status: 'degraded', checks: { database: 'ok', redis: 'down' } });

  // A write while Redis is down: the invalidation cannot reach Redis now and must be replayed.
  const patched = await call(base, 'PATCH', `/v1/memories/${m.id}`, { body: { content: 'black coffee' } });
  expect(patched.status).toBe(200);
  for (let i = 0; i < 20; i++) {
    const r = await call(base, 'GET', `/v1/memories?user_id=${user}`);
    expect(r.status).toBe(200);
    expect(r.json.items[0].content).toBe('black coffee');
  }
  const created = await call(base, 'POST', '/v1/memories', { body: { user_id: user, content: 'second' } });
  expect(created.status).toBe(201);
  expect(svc.cache?.stats().errors).toBeGreaterThan(0);
  expect(logs.some((l) => l.message === 'redis.unavailable')).toBe(true);

  await redis.start();
  await waitFor(async () => (await call(base, 'GET', '/readyz')).json.status === 'ok', {
    timeoutMs: 15_000,
    what: 'readyz ok after Redis restart',
  });
  // The Redis entry written before the outage holds 'green tea': it must never be served again.
  // The cache replays pending invalidations on its next Redis access.
  for (let i = 0; i < 5; i++) {
    const r = await call(base, 'GET', `/v1/memories?user_id=${user}`);
    expect(r.json.items.map((x: { content: string }) => x.content)).toEqual(['second', 'black coffee']);
  }
  await waitFor(
    async () => {
      await call(base, 'GET', `/v1/memories?user_id=${user}`);
      return svc.cache?.stats().pendingInvalidations === 0;
    },
    { timeoutMs: 10_000, what: 'pending invalidations replayed' },
  );
  // Served from Redis again (a hit), and still the new content.
  const hits = svc.cache?.stats().hits ?? 0;
  const again = await call(base, 'GET', `/v1/memories?user_id=${user}`);
  expect(again.json.items.map((x: { content: string }) => x.content)).toEqual(['second', 'black coffee']);
  expect(svc.cache?.stats().hits).toBe(hits + 1);
}, 60_000);

test('PostgreSQL down: /readyz 503, requests get a retryable 503 problem with no internals, then recover', async () => {
  const user = uniqueUser('pg');
  expect((await call(base, 'POST', '/v1/memories', { body: { user_id: user, content: 'x' } })).status).toBe(
    201,
  );
  pg.cut();
  const ready = await call(base, 'GET', '/readyz');
  expect(ready.status).toBe(503);
  expect(ready.json).toMatchObject({ status: 'unavailable', checks: { database: 'down' } });

  // Uncached reads (a new user each time) must reach the database and fail cleanly.
  for (let i = 0; i < 3; i++) {
    const r = await call(base, 'GET', `/v1/memories?user_id=${uniqueUser('pg-miss')}`);
    expect(r.status).toBe(503);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.json.retryable).toBe(true);
    expect(['unavailable', 'database', 'timeout']).toContain(r.json.category);
    expect(r.text).not.toMatch(/127\.0\.0\.1|postgres|ECONNREFUSED|SELECT/i);
    expect(r.json.correlation_id).toBe(r.headers.get('x-correlation-id'));
  }
  const write = await call(base, 'POST', '/v1/memories', { body: { user_id: user, content: 'y' } });
  expect(write.status).toBeGreaterThanOrEqual(500);
  expect(write.headers.get('content-type')).toMatch(/^application\/problem\+json/);

  pg.restore();
  // The breaker may be open for a few seconds after the outage; it then lets calls through.
  await waitFor(async () => (await call(base, 'GET', `/v1/memories?user_id=${user}`)).status === 200, {
    timeoutMs: 20_000,
    what: 'reads succeed again after PostgreSQL is back',
  });
  expect((await call(base, 'GET', '/readyz')).json.status).toBe('ok');
}, 60_000);
