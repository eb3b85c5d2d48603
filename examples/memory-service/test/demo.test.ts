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
