import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort, runNode } from '@mem0-stack/testkit';

// The demo's first promise: with PostgreSQL or Redis down it says how to start them and exits
// at once (before any build), instead of hanging. The full demo run is exercised by hand / CI.
const demo = join(__dirname, '..', '..', '..', 'scripts', 'demo.mjs');

test('with PostgreSQL and Redis unreachable, the demo explains how to start them and exits 2 quickly', async () => {
  const [pgPort, redisPort] = [await freePort(), await freePort()];
  const started = Date.now();
  const r = await runNode([demo], {
    env: {
      ...process.env,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/mem0_demo`,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    },
    timeoutMs: 20_000,
  });
  const out = r.stdout + r.stderr;
  expect(r.code).toBe(2);
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(out).toContain(`PostgreSQL is not reachable at 127.0.0.1:${pgPort}`);
  expect(out).toContain('pg_ctlcluster');
  expect(out).toContain(`Redis is not reachable at redis://127.0.0.1:${redisPort}`);
  expect(out).toContain('redis-server --daemonize yes');
  expect(out).not.toContain('Building');
});

test('--help describes the options and exits 0', async () => {
  const r = await runNode([demo, '--help'], { timeoutMs: 10_000 });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('--keep');
  expect(r.stdout).toContain('DATABASE_URL');
});

// A short real run against the local PostgreSQL and Redis, in a database of its own (the
// default mem0_demo is truncated by every run; another session may be using it).
function demoEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const db = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/x');
  db.pathname = '/mem0_demo_test';
  return {
    ...process.env,
    DATABASE_URL: db.toString(),
    MEM0_DEMO_SEED: '20',
    MEM0_DEMO_LOAD_SECONDS: '1',
    MEM0_DEMO_CONNECTIONS: '4',
    ...extra,
  };
}

const serviceUrl = (out: string) => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];

/** Kills a memory service the demo left behind (found by its PORT in /proc). */
function killServiceOn(port: string): void {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (environ.includes(`PORT=${port}`) && environ.some((e) => e.startsWith('MEM0_CACHE_PREFIX=')))
        process.kill(Number(pid), 'SIGKILL');
    } catch {}
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

test('an unexpected error after the service started still stops the service and exits 1', async () => {
  // autocannon refuses a negative duration: an error thrown by the demo's own top-level code.
  const r = await runNode([demo], { env: demoEnv({ MEM0_DEMO_LOAD_SECONDS: '-1' }), timeoutMs: 90_000 });
  const out = r.stdout + r.stderr;
  const url = serviceUrl(out);
  expect(url).toBeDefined();
  const orphan = await answers(url as string);
  if (orphan) killServiceOn(new URL(url as string).port); // do not leave it running after a failure
  expect(orphan).toBe(false);
  expect(r.code).toBe(1);
  expect(out).toContain('unexpected error');
}, 120_000);

test('something else on ports 3000 and 4318 is not mistaken for the compose stack', async () => {
  // Stand-ins on both ports; a port already taken here keeps whatever holds it, which is not the
  // compose stack on a test machine either.
  const servers: Server[] = [];
  for (const port of [3000, 4318]) {
    const s = createServer((_req, res) => {
      res.statusCode = 404;
      res.end('a dev server, not Grafana or a collector');
    });
    const listening = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (listening) servers.push(s);
  }
  try {
    const r = await runNode([demo], { env: demoEnv(), timeoutMs: 90_000 });
    const out = r.stdout + r.stderr;
    expect(out).not.toContain('compose stack (collector/docker-compose.yaml) is running');
    expect(out).not.toContain('Grafana: http://127.0.0.1:3000');
    expect(r.code).toBe(0);
  } finally {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  }
}, 120_000);
