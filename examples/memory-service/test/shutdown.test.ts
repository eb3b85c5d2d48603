import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, freePort, type OtlpSink, startOtlpSink, waitFor } from '@mem0-stack/testkit';
import { Client } from 'pg';
import { deleteKeys } from './helpers';

// The built server in a child process, against a schema of its own so the table lock
// below (which holds a request in flight) cannot stall the other suites. Run twice: bare, and
// under the preload, whose own SIGTERM hook (flush, then re-raise) must not cut the drain short.
const server = join(__dirname, '..', 'dist', 'server.js');
const ours = join(__dirname, '..', '..', '..', 'packages', 'otel', 'dist', 'register.js');
const preload = existsSync(ours)
  ? ours
  : require.resolve('@opentelemetry/auto-instrumentations-node/register');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

test.each([
  ['without the preload', false],
  [`under ${existsSync(ours) ? '@mem0-stack/otel/register' : 'auto-instrumentations-node/register'}`, true],
])(
  'SIGTERM %s: stops accepting, drains the in-flight request, closes pool and Redis, flushes, exits 0 within 10 s',
  async (_name, withPreload) => {
    const schema = `shutdown_${process.pid}_${withPreload ? 'otel' : 'bare'}`;
    const prefix = `test:memory-service:shutdown:${process.pid}:${withPreload}:`;
    const url = new URL(await createTestDatabase('mem0_memory_test'));
    const admin = new Client({ connectionString: url.toString() });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const port = await freePort();
    let sink: OtlpSink | undefined;
    const otelEnv: Record<string, string> = { OTEL_SDK_DISABLED: 'true' };
    if (withPreload) {
      sink = await startOtlpSink();
      Object.assign(otelEnv, {
        OTEL_SDK_DISABLED: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'otlp',
        OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
        // Long enough that only the shutdown flush can deliver the in-flight request's span.
        OTEL_BSP_SCHEDULE_DELAY: '60000',
      });
    }
    const child = spawn(process.execPath, [...(withPreload ? ['--require', preload] : []), server], {
      env: {
        ...process.env,
        ...otelEnv,
        PORT: String(port),
        DATABASE_URL: url.toString(),
        REDIS_URL: redisUrl,
        MEM0_CACHE_PREFIX: prefix,
        // The request below waits on a lock for a few seconds: no per-call deadline may cut it.
        MEM0_DB_TIMEOUT_MS: '30000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(() => fetch(`${base}/healthz`).then((r) => r.ok), {
        timeoutMs: 30_000,
        what: 'server up',
      });

      await admin.query('BEGIN');
      await admin.query(`LOCK TABLE ${schema}.memories IN ACCESS EXCLUSIVE MODE`);
      const inFlight = fetch(`${base}/v1/memories?user_id=drain`).then(async (r) => ({
        status: r.status,
        id: r.headers.get('x-correlation-id'),
        body: await r.json(),
      }));
      // Give the request time to reach the database and block on the lock.
      await waitFor(
        async () =>
          (
            await admin.query(
              "SELECT 1 FROM pg_stat_activity WHERE application_name = 'memory-service' AND wait_event_type = 'Lock'",
            )
          ).rowCount,
        { timeoutMs: 10_000, what: 'request blocked on the lock' },
      );
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      await waitFor(() => out.includes('server.shutdown'), { timeoutMs: 5000, what: 'shutdown log' });
      // New connections are refused while the old request is still running.
      await expect(fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
      // Still draining, whatever the preload's own signal handler did meanwhile.
      await new Promise((r) => setTimeout(r, 500));
      expect(child.exitCode).toBeNull();
      expect(child.signalCode).toBeNull();
      await admin.query('COMMIT');
      const done = await inFlight;
      expect(done.status).toBe(200);
      expect(done.body).toEqual({ items: [], next_cursor: null });
      const { code, signal, at } = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(at - signalledAt).toBeLessThan(10_000);
      expect(out).toContain('server.stopped');
      if (sink) {
        // The drained request's spans left the process in the shutdown flush.
        expect(done.id).toMatch(/^[0-9a-f]{32}$/);
        expect(sink.spans().some((s) => s.traceId === done.id && s.kind === 2)).toBe(true);
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await admin.query('ROLLBACK').catch(() => {});
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await admin.end();
      await sink?.close();
      await deleteKeys(redisUrl, prefix).catch(() => {});
    }
  },
  60_000,
);

test('close() waits for a handler whose client already disconnected before closing the cache and the pool', async () => {
  const { createTestDatabase: createDb } = await import('@mem0-stack/testkit');
  const { loadConfig } = await import('../src/config');
  const { startService } = await import('../src/service');
  const { captureLogger } = await import('./helpers');
  const schema = `shutdown_${process.pid}_abort`;
  const url = new URL(await createDb('mem0_memory_test'));
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const prefix = `test:memory-service:shutdown:${process.pid}:abort:`;
  const { logger, logs } = captureLogger('info');
  const svc = await startService(
    loadConfig({
      DATABASE_URL: url.toString(),
      PORT: '0',
      MEM0_CACHE_PREFIX: prefix,
      MEM0_DB_TIMEOUT_MS: '30000',
    }),
    { logger },
  );
  try {
    const created = await fetch(`${svc.url}/v1/memories`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'gone', content: 'before' }),
    });
    const { id } = (await created.json()) as { id: string };
    await admin.query('BEGIN');
    await admin.query(`LOCK TABLE ${schema}.memories IN ACCESS EXCLUSIVE MODE`);
    const aborter = new AbortController();
    // A write whose client gives up while the UPDATE waits: after the UPDATE the handler still
    // has to invalidate the cache, which must not be closed under it.
    const request = fetch(`${svc.url}/v1/memories/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'after' }),
      signal: aborter.signal,
    }).catch((err: Error) => err.name);
    await waitFor(
      async () =>
        (
          await admin.query(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = 'memory-service' AND wait_event_type = 'Lock'",
          )
        ).rowCount,
      { timeoutMs: 10_000, what: 'request blocked on the lock' },
    );
    aborter.abort();
    expect(await request).toBe('AbortError');
    let closed = false;
    const closing = svc.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 500));
    // The socket is gone but the handler still waits on the lock: nothing may be closed yet.
    expect(closed).toBe(false);
    await admin.query('COMMIT');
    await closing;
    const complaints = logs
      .filter((l) => (l.level === 'error' || l.level === 'warn') && l.message !== 'db.slow_query')
      .map((l) => l.message);
    // Only the aborted request's own line (warn because the client left); no failed
    // invalidation, no "pool closed" error.
    expect(complaints).toEqual(['PATCH /v1/memories/:id 200']);
    expect(logs.some((l) => l.message === 'memory.updated')).toBe(true);
    expect(logs.some((l) => l.message === 'server.stopped')).toBe(true);
  } finally {
    await admin.query('ROLLBACK').catch(() => {});
    await svc.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
    await deleteKeys(redisUrl, prefix).catch(() => {});
  }
}, 60_000);
