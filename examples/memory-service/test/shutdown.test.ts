import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createTestDatabase, freePort, waitFor } from '@mem0-stack/testkit';
import { Client } from 'pg';

// The built server in a child process, against a schema of its own so the table lock
// below (which holds a request in flight) cannot stall the other suites.
const SCHEMA = `shutdown_${process.pid}`;
const server = join(__dirname, '..', 'dist', 'server.js');

test('SIGTERM: stops accepting, drains the in-flight request, closes pool and Redis, exits 0 within 10 s', async () => {
  const url = new URL(await createTestDatabase('mem0_memory_test'));
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
  url.searchParams.set('options', `-c search_path=${SCHEMA}`);
  const port = await freePort();
  const child = spawn(process.execPath, [server], {
    env: { ...process.env, PORT: String(port), DATABASE_URL: url.toString(), OTEL_SDK_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: Date.now() })),
  );
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${base}/healthz`).then((r) => r.ok), { timeoutMs: 20_000, what: 'server up' });

    await admin.query('BEGIN');
    await admin.query(`LOCK TABLE ${SCHEMA}.memories IN ACCESS EXCLUSIVE MODE`);
    const inFlight = fetch(`${base}/v1/memories?user_id=drain`).then(async (r) => ({
      status: r.status,
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
    expect(child.exitCode).toBeNull();
    await admin.query('COMMIT');
    const done = await inFlight;
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ items: [], next_cursor: null });
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - signalledAt).toBeLessThan(10_000);
    expect(out).toContain('server.stopped');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await admin.query('ROLLBACK').catch(() => {});
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await admin.end();
  }
}, 60_000);
