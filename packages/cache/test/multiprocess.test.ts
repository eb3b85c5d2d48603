import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runNode } from '@mem0-stack/testkit';
import { type Client, cleanup, connect, REDIS_URL, uniquePrefix } from './helpers';

// testTimeout of the shared preset is a global option, ignored per project: set it here.
jest.setTimeout(60_000);

const fixture = join(__dirname, 'fixtures', 'stampede.js');
let redis: Client;

beforeAll(async () => {
  if (!existsSync(join(__dirname, '..', 'dist', 'index.js'))) {
    throw new Error(
      'packages/cache/dist is missing: run `npx tsc -b packages/cache` first (child processes load dist/)',
    );
  }
  redis = await connect();
});
afterAll(async () => {
  await redis.quit();
});

async function twoProcesses(lock: 'on' | 'off') {
  const prefix = uniquePrefix();
  try {
    const runs = await Promise.all(
      [0, 1].map(() => runNode([fixture, REDIS_URL, prefix, lock], { timeoutMs: 20_000 })),
    );
    return runs.map((r) => {
      if (r.code !== 0) throw new Error(`child failed: ${r.stderr}`);
      return JSON.parse(r.stdout.trim()) as { pid: number; loads: number; values: number[]; calls: number };
    });
  } finally {
    await cleanup(redis, prefix);
  }
}

test('two processes × 1,000 concurrent getOrSet on one cold key: at most 2 loads with the lock (1 expected)', async () => {
  const [a, b] = await twoProcesses('on');
  expect(a?.calls).toBe(1000);
  expect(b?.calls).toBe(1000);
  // Single-flight inside each process: at most one load per process.
  expect(a?.loads).toBeLessThanOrEqual(1);
  expect(b?.loads).toBeLessThanOrEqual(1);
  const total = (a?.loads ?? 0) + (b?.loads ?? 0);
  expect(total).toBeGreaterThanOrEqual(1);
  expect(total).toBeLessThanOrEqual(2);
  // With the lock the waiting process used the winner's value: everyone saw one value.
  if (total === 1) expect(new Set([...(a?.values ?? []), ...(b?.values ?? [])]).size).toBe(1);
});

test('control: without the lock both processes load (the lock is what saves the second load)', async () => {
  const [a, b] = await twoProcesses('off');
  expect((a?.loads ?? 0) + (b?.loads ?? 0)).toBe(2);
});
