// Redis stopped mid-run: a dedicated redis-server (never the shared one) behind resilientRedis()
// with the redis preset.
import {
  type CircuitState,
  isBrokenCircuitError,
  isPolicyTimeoutError,
  presets,
  resilientRedis,
} from '@mem0-stack/resilience';
import { type RedisServer, startRedisServer, waitFor } from '@mem0-stack/testkit';
import { createClient, type RedisClientType } from 'redis';

let server: RedisServer;
let running = false;
const clients: RedisClientType[] = [];

async function stopServer() {
  running = false;
  await server.stop();
}
async function startServer() {
  await server.start();
  running = true;
}

async function connect(): Promise<RedisClientType> {
  // Reconnect quickly so the test measures the breaker, not node-redis's backoff.
  const c = createClient({ url: server.url, socket: { reconnectStrategy: () => 100 } }) as RedisClientType;
  clients.push(c);
  await c.connect();
  return c;
}

beforeAll(async () => {
  server = await startRedisServer();
  running = true;
});

beforeEach(async () => {
  if (!running) await startServer(); // a failed test must not take the next one down with it
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await server.stop();
});

describe('resilientRedis + presets.redis() with Redis stopped mid-run', () => {
  it('opens within its threshold, fails fast while open, closes within its half-open window after restart', async () => {
    const raw = await connect();
    const policy = presets.redis();
    const breaker = policy.breaker!;
    const threshold = 5; // the preset's consecutive-failure trigger
    const halfOpenAfter = 1_000;
    const redis = resilientRedis(raw, { policy });
    const transitions: Array<{ to: CircuitState; at: number }> = [];
    breaker.onStateChange((to) => transitions.push({ to, at: Date.now() }));
    let countedFailures = 0;
    let failuresAtOpen = -1;
    breaker.inner.onFailure(({ handled }) => {
      if (handled) countedFailures++;
    });
    breaker.onStateChange((to) => {
      if (to === 'open' && failuresAtOpen < 0) failuresAtOpen = countedFailures;
    });

    for (let i = 0; i < 20; i++) await redis.set(`k${i}`, String(i));
    await expect(redis.get('k7')).resolves.toBe('7');

    await stopServer();
    let callsUntilOpen = 0;
    while (breaker.state !== 'open' && callsUntilOpen < 50) {
      callsUntilOpen++;
      await redis.get('k1').catch(() => {});
    }
    expect(breaker.state).toBe('open');
    expect(failuresAtOpen).toBeLessThanOrEqual(threshold);
    expect(callsUntilOpen).toBeLessThanOrEqual(threshold);

    // Fail fast while open: no network round trip, no timeout: the rejection settles within the
    // current turn of the event loop (before a setImmediate queued just before the call). Wall
    // times are measured too, next to a bare setImmediate loop as a baseline for the stalls of a
    // shared machine.
    const durations: number[] = [];
    const bare: number[] = [];
    let sameTurn = 0;
    for (let i = 0; i < 200; i++) {
      let immediateRan = false;
      setImmediate(() => {
        immediateRan = true;
      });
      let t0 = process.hrtime.bigint();
      const err = await redis.get('k1').catch((e: unknown) => e);
      durations.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!immediateRan) sameTurn++;
      expect(isBrokenCircuitError(err)).toBe(true);
      t0 = process.hrtime.bigint();
      await new Promise((r) => setImmediate(r));
      bare.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const sorted = [...durations].sort((a, b) => a - b);
    const over5 = durations.filter((d) => d >= 5).length;
    const bareOver5 = bare.filter((d) => d >= 5).length;
    console.log(
      JSON.stringify({
        callsUntilOpen,
        failuresAtOpen,
        openFailFastMs: { median: sorted[100], p99: sorted[198], max: sorted[199], over5ms: over5, sameTurn },
        bareSetImmediateMs: { max: Math.max(...bare), over5ms: bareOver5 },
      }),
    );
    expect(sameTurn).toBe(200);
    expect(sorted[100]).toBeLessThan(1);
    // < 5 ms apart from stalls the bare loop sees as well (GC, other processes on 2 cores).
    expect(over5).toBeLessThanOrEqual(bareOver5 + 2);

    await startServer();
    const restartedAt = Date.now();
    // Traffic keeps flowing (as in an app); the breaker lets a probe through when the break ends.
    await waitFor(
      async () => {
        await redis.get('k1').catch(() => {});
        return breaker.state === 'closed';
      },
      { timeoutMs: 10_000, intervalMs: 20, what: 'breaker to close' },
    );
    const closedAt = transitions.filter((t) => t.to === 'closed').at(-1)!.at;
    const openedAt = transitions.filter((t) => t.to === 'open').at(-1)!.at;
    const closeDelay = closedAt - restartedAt;
    console.log(JSON.stringify({ closeAfterRestartMs: closeDelay, lastOpenToCloseMs: closedAt - openedAt }));
    // The first probe after Redis is reachable again closes it: within one half-open wait plus
    // the client's 100 ms reconnect interval (and scheduling slack on a shared machine).
    expect(closeDelay).toBeLessThanOrEqual(halfOpenAfter + 100 + 400);
    await expect(redis.set('after', 'ok')).resolves.toBe('OK');
    await expect(redis.get('after')).resolves.toBe('ok');
    expect(transitions.map((t) => t.to)).toContain('half-open');
  }, 30_000);

  it('keeps the node-redis API (camelCase, UPPERCASE, sendCommand, multi)', async () => {
    const redis = resilientRedis(await connect());
    const p = `test:resilience:${process.pid}:`;
    await redis.hSet(`${p}h`, { a: '1', b: '2' });
    await expect(redis.HGETALL(`${p}h`)).resolves.toEqual({ a: '1', b: '2' });
    await expect(redis.sendCommand(['PING'])).resolves.toBe('PONG');
    const r = await redis.multi().set(`${p}m`, 'x').get(`${p}m`).exec();
    expect(r).toEqual(['OK', 'x']);
    expect(redis.isReady).toBe(true);
  });

  it('with offlineQueue, a command that times out while Redis is down never runs late', async () => {
    const raw = await connect();
    const redis = resilientRedis(raw, {
      offlineQueue: true,
      policy: presets.redis({ timeoutMs: 200, retry: false, breaker: false }),
    });
    await redis.set('late', 'before');
    await stopServer();
    await waitFor(() => !raw.isReady, { what: 'client to notice' });
    const err = await redis.set('late', 'written-after-timeout').catch((e: unknown) => e);
    expect(isPolicyTimeoutError(err)).toBe(true);
    await startServer(); // disk-less: the key is gone; a late write would bring it back
    await waitFor(() => raw.isReady, { what: 'client to reconnect' });
    await new Promise((r) => setTimeout(r, 200));
    await expect(raw.get('late')).resolves.toBeNull();
  }, 20_000);
});
