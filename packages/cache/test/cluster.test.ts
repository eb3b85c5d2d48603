import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Cache, createCache } from '@mem0-stack/cache';
import { freePort, waitFor } from '@mem0-stack/testkit';
import { createClient, createCluster } from 'redis';
import { gate, sleep, uniquePrefix } from './helpers';

jest.setTimeout(60_000);

const run = promisify(execFile);
const nodes: Array<{ port: number; proc: ChildProcess }> = [];
let dir: string;
let cluster: ReturnType<typeof createCluster>;
const caches: Cache[] = [];
let prefix: string;

async function clusterInfo(port: number): Promise<string> {
  const c = createClient({ url: `redis://127.0.0.1:${port}` });
  c.on('error', () => {});
  await c.connect();
  try {
    return String(await c.sendCommand(['CLUSTER', 'INFO']));
  } finally {
    c.destroy();
  }
}

/** One cluster-enabled redis-server on a free port; retried when another process took the port first. */
async function startNode(): Promise<{ port: number; proc: ChildProcess }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
    try {
      await waitFor(
        () =>
          proc.exitCode !== null ? Promise.reject(new Error('exited')) : clusterInfo(port).then(() => true),
        { timeoutMs: 10_000, what: `cluster node on ${port}` },
      );
      return { port, proc };
    } catch (err) {
      proc.kill('SIGKILL');
      if (attempt >= 2) throw err;
    }
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mem0-cache-cluster-'));
  for (let i = 0; i < 3; i++) nodes.push(await startNode());
  await run('redis-cli', [
    '--cluster',
    'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  for (const n of nodes) {
    await waitFor(async () => (await clusterInfo(n.port)).includes('cluster_state:ok'), {
      timeoutMs: 20_000,
      what: `cluster_state:ok on ${n.port}`,
    });
  }
  cluster = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${nodes[0]?.port}` }] });
  cluster.on('error', () => {});
  await cluster.connect();
});

beforeEach(() => {
  prefix = uniquePrefix();
});

afterEach(async () => {
  await Promise.all(caches.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  cluster?.destroy();
  await Promise.all(
    nodes.map(
      (n) =>
        new Promise<void>((resolve) => {
          if (n.proc.exitCode !== null) return resolve();
          n.proc.once('exit', () => resolve());
          n.proc.kill('SIGKILL');
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
});

function make(opts: Partial<Parameters<typeof createCache>[0]> = {}): Cache {
  const c = createCache({
    redis: cluster as never,
    name: 'cl',
    prefix,
    defaultTtl: 60_000,
    jitter: 0,
    ...opts,
  });
  caches.push(c);
  return c;
}

test('the cluster really has 3 masters and entries spread over them', async () => {
  expect(cluster.masters).toHaveLength(3);
  const cache = make();
  for (let i = 0; i < 60; i++) await cache.set(`spread:${i}`, i);
  const perNode = await Promise.all(
    cluster.masters.map(async (m) => Number(await (await cluster.nodeClient(m)).dbSize())),
  );
  expect(perNode.filter((n) => n > 0)).toHaveLength(3);
});

test('getOrSet: miss then hit; TTL expiry', async () => {
  const cache = make();
  const loader = jest.fn(async () => ({ v: 1 }));
  expect(await cache.getOrSet('user:1', loader)).toEqual({ v: 1 });
  expect(await cache.getOrSet('user:1', loader)).toEqual({ v: 1 });
  expect(loader).toHaveBeenCalledTimes(1);
  await cache.getOrSet('short', async () => 'a', { ttl: 100 });
  await sleep(200);
  expect(await cache.getOrSet('short', async () => 'b', { ttl: 100 })).toBe('b');
});

test('single-flight: 1,000 concurrent getOrSet on one cold key load once', async () => {
  const cache = make();
  const loader = jest.fn(async () => {
    await sleep(50);
    return 'cold';
  });
  const r = await Promise.all(Array.from({ length: 1000 }, () => cache.getOrSet('cold', loader)));
  expect(loader).toHaveBeenCalledTimes(1);
  expect(r.every((v) => v === 'cold')).toBe(true);
});

test('tag invalidation across two cache instances (L1 dropped via pub/sub)', async () => {
  const a = make({ l1: true });
  const b = make({ l1: true });
  await Promise.all([a.ready(), b.ready()]);
  let db = 'v1';
  // Entries on different slots, one tag.
  for (const k of ['user:1', 'user:1:posts', 'user:1:friends']) {
    await a.getOrSet(k, async () => db, { tags: ['user:1'] });
    await b.getOrSet(k, async () => db, { tags: ['user:1'] });
  }
  db = 'v2';
  expect(await a.invalidateTags(['user:1'])).toBe(true);
  for (const k of ['user:1', 'user:1:posts', 'user:1:friends']) {
    await waitFor(async () => (await b.getOrSet(k, async () => db, { tags: ['user:1'] })) === 'v2', {
      timeoutMs: 3_000,
      what: `b sees v2 for ${k}`,
    });
    expect(await a.getOrSet(k, async () => db, { tags: ['user:1'] })).toBe('v2');
  }
});

test('an invalidation racing a slow loader leaves no stale data (cluster write path)', async () => {
  const cache = make();
  let db = 'old';
  const g = gate();
  const started = gate();
  const slow = cache.getOrSet(
    'race',
    async () => {
      const seen = db;
      started.open();
      await g.promise;
      return seen;
    },
    { tags: ['race-tag'] },
  );
  await started.promise; // the loader has read 'old'
  db = 'new';
  await cache.invalidateTags(['race-tag']);
  g.open();
  expect(await slow).toBe('old');
  expect(await cache.getOrSet('race', async () => db, { tags: ['race-tag'] })).toBe('new');
  expect(cache.stats().writesRefused).toBe(1);
});

test('mget/mset, delete and clear(prefix) with SCAN on every master', async () => {
  const cache = make({ name: 'cl2' });
  await cache.mset(Array.from({ length: 30 }, (_, i) => ({ key: `p:${i}`, value: i })));
  await cache.set('q:1', 'keep');
  expect(await cache.mget(['p:0', 'p:29', 'nope'])).toEqual([0, 29, undefined]);
  await cache.delete('p:0');
  expect(await cache.get('p:0')).toBeUndefined();
  expect(await cache.clear('p:')).toBe(true);
  expect(
    (await cache.mget(Array.from({ length: 30 }, (_, i) => `p:${i}`))).every((v) => v === undefined),
  ).toBe(true);
  expect(await cache.get('q:1')).toBe('keep');
});

test('tagsOf on a cluster: the value is returned but not cached (no common clock), with one warning', async () => {
  const warnings: string[] = [];
  const cache = make({ logger: { warn: (m: string) => warnings.push(m), debug: () => {} } as never });
  let loads = 0;
  const opts = { tagsOf: (v: { id: number }) => [`row:${v.id}`] };
  expect(await cache.getOrSet('k', async () => ({ id: ++loads }), opts)).toEqual({ id: 1 });
  expect(await cache.getOrSet('k', async () => ({ id: ++loads }), opts)).toEqual({ id: 2 });
  expect(warnings.filter((w) => w.includes('tagsOf'))).toHaveLength(1);
  // Without derived tags the cluster caches as usual.
  expect(await cache.getOrSet('k2', async () => ++loads)).toBe(3);
  expect(await cache.getOrSet('k2', async () => ++loads)).toBe(3);
});

test('writeThrough on a cluster: the write runs and its entries and tags are invalidated instead (one warning)', async () => {
  const warnings: string[] = [];
  const cache = make({ logger: { warn: (m: string) => warnings.push(m), debug: () => {} } as never });
  await cache.getOrSet('list:1', async () => ['a'], { tags: ['lists:1'] });
  await cache.getOrSet('list:1:p2', async () => ['z'], { tags: ['lists:1'] });
  await cache.getOrSet('item', async () => 'old item');
  await cache.getOrSet('other', async () => 'o', { tags: ['x'] });
  for (const v of ['b', 'c']) {
    const r = await cache.writeThrough(async () => v, {
      invalidate: ['lists:1'],
      refresh: [{ key: 'list:1', tags: ['lists:1'], update: (l: string[], r: string) => [r, ...l] }],
      set: [{ key: 'item', value: (r: string) => r }],
    });
    expect(r).toBe(v);
  }
  expect(await cache.mget(['list:1', 'list:1:p2', 'item', 'other'])).toEqual([
    undefined,
    undefined,
    undefined,
    'o',
  ]);
  expect(warnings.filter((w) => w.includes('writeThrough'))).toHaveLength(1);
  // The dropped entries load again as usual.
  expect(await cache.getOrSet('item', async () => 'c')).toBe('c');
  expect(await cache.getOrSet('item', async () => 'later')).toBe('c');
});

test('a tag starting with "}" works on a cluster: its version and member set share a slot', async () => {
  // `t:{}x}:v` has an empty hash tag, so Redis hashes the whole key and `:v`/`:s` land apart.
  const cache = make({ name: 'cl3' });
  let db = 'v1';
  const loader = jest.fn(async () => db);
  for (const tag of ['}x', '}', '}}']) {
    loader.mockClear();
    db = 'v1';
    expect(await cache.getOrSet(`k${tag}`, loader, { tags: [tag] })).toBe('v1');
    expect(await cache.getOrSet(`k${tag}`, loader, { tags: [tag] })).toBe('v1');
    expect(loader).toHaveBeenCalledTimes(1);
    db = 'v2';
    expect(await cache.invalidateTags([tag])).toBe(true);
    expect(await cache.getOrSet(`k${tag}`, loader, { tags: [tag] })).toBe('v2');
  }
  expect(cache.stats().pendingInvalidations).toBe(0);
});
