// Benchmarks for @mem0-stack/cache, each side by side with its baseline in alternating rounds:
//   1. L2 hit (Redis) vs raw node-redis GET + JSON.parse, raw ioredis, and bentocache's L2 getOrSet
//   2. L1 hit vs bentocache's L1 getOrSet hit
//   3. the same with 100 concurrent callers
//   4. a Zipf(1.0) read workload over 10k keys with a PostgreSQL loader, vs no cache
// Needs the shared Redis and PostgreSQL, and built dependencies (`npx tsc -b packages/cache`).
// Run: npm run bench -w @mem0-stack/cache   (BENCH_ROUNDS, BENCH_OPS, BENCH_ZIPF_REQUESTS to resize)
import { randomBytes } from 'node:crypto';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import IORedis from 'ioredis';
import { Pool } from 'pg';
import { createClient } from 'redis';
import { writeSection } from '../../../scripts/bench-report.mjs';
import { createTestDatabase } from '../../testkit/src/testDatabase';
import { createCache } from '../src/index';

// 31 rounds: with 11 the sequential L2 medians moved by ±10 % between runs on a 2-core machine.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31);
const OPS = Number(process.env.BENCH_OPS ?? 2000);
const L1_OPS = OPS * 50;
const CONCURRENCY = 100;
const ZIPF_KEYS = 10_000;
const ZIPF_REQUESTS = Number(process.env.BENCH_ZIPF_REQUESTS ?? 100_000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = randomBytes(4).toString('hex');
const PREFIX = `bench:cache:${run}:`;

// A 560-byte JSON document, the size the field notes measured with.
const VALUE = {
  id: 42,
  userId: 'user-7f3a9c',
  text: 'Prefers window seats on long flights and vegetarian meals; allergic to peanuts.',
  tags: ['travel', 'food', 'health'],
  score: 0.8731,
  createdAt: '2024-05-01T10:00:00.000Z',
  updatedAt: '2024-05-02T11:30:00.000Z',
  metadata: { source: 'chat', session: 'c0ffee-1234', confidence: 0.92, language: 'en', version: 3 },
  embeddingRef: 'vec://memories/42',
  notes: 'x'.repeat(200),
};
const RAW = JSON.stringify(VALUE);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (x: number, d = 2) => x.toFixed(d);
const now = () => process.hrtime.bigint();

type Sample = { wall: number; cpu: number };

/** Wall and process-CPU µs per op of `n` sequential awaited calls. */
async function seq(n: number, fn: (i: number) => Promise<unknown>): Promise<Sample> {
  const c = process.cpuUsage();
  const t = now();
  for (let i = 0; i < n; i++) await fn(i);
  const u = process.cpuUsage(c);
  return { wall: Number(now() - t) / 1000 / n, cpu: (u.user + u.system) / n };
}

/** Same with `c` callers each running `n / c` sequential calls (µs = wall / total calls). */
async function conc(
  n: number,
  c: number,
  fn: (caller: number, i: number) => Promise<unknown>,
): Promise<Sample> {
  const per = Math.ceil(n / c);
  const cu = process.cpuUsage();
  const t = now();
  await Promise.all(
    Array.from({ length: c }, async (_, caller) => {
      for (let i = 0; i < per; i++) await fn(caller, i);
    }),
  );
  const u = process.cpuUsage(cu);
  return { wall: Number(now() - t) / 1000 / (per * c), cpu: (u.user + u.system) / (per * c) };
}

type Variant = { name: string; fn: () => Promise<Sample> };
type Result = { median: number; cpu: number; all: number[] };

/** Runs every variant once per round, rotating the order each round; returns medians (µs/op). */
async function alternate(variants: Variant[]): Promise<Map<string, Result>> {
  const out = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  for (const v of variants) await v.fn(); // warm-up, discarded
  for (let r = 0; r < ROUNDS; r++) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length] as Variant);
    for (const v of order) out.get(v.name)?.push(await v.fn());
  }
  return new Map(
    [...out].map(([k, xs]) => [
      k,
      {
        median: median(xs.map((x) => x.wall)),
        cpu: median(xs.map((x) => x.cpu)),
        all: xs.map((x) => x.wall),
      },
    ]),
  );
}

// Deterministic PRNG so every run draws the same Zipf sequence.
function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function zipfSequence(keys: number, n: number, s: number, seed: number): number[] {
  const cdf = new Float64Array(keys);
  let sum = 0;
  for (let k = 1; k <= keys; k++) {
    sum += 1 / k ** s;
    cdf[k - 1] = sum;
  }
  const rnd = mulberry32(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = rnd() * sum;
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    out.push(lo + 1);
  }
  return out;
}

async function main() {
  const nr = createClient({ url: REDIS_URL });
  nr.on('error', () => {});
  await nr.connect();
  const nrNoTimer = nr.withCommandOptions({ timeout: 0 });
  const url = new URL(REDIS_URL);
  const io = new IORedis({ host: url.hostname, port: Number(url.port || 6379), lazyConnect: false });
  const bento = new BentoCache({
    default: 'l2',
    prefix: `bench:bento:${run}`,
    stores: {
      l2: bentostore().useL2Layer(
        redisDriver({ connection: { host: url.hostname, port: Number(url.port || 6379) } }),
      ),
      l1: bentostore()
        .useL1Layer(memoryDriver({ maxSize: '64mb' }))
        .useL2Layer(redisDriver({ connection: { host: url.hostname, port: Number(url.port || 6379) } })),
    },
  });
  const quiet = { warn: () => {}, debug: () => {} };
  // A 5 s command timeout: on a busy shared machine the default 250 ms can trip on event-loop lag,
  // and an open breaker would make the "cache" rows measure the loader instead. Checked below.
  const common = { prefix: PREFIX, defaultTtl: 3_600_000, logger: quiet, commandTimeout: 5_000 };
  const l2 = createCache({ redis: nr as never, name: 'l2', ...common });
  const bare = createCache({ redis: nr as never, name: 'l2', ...common, policy: false });
  const l1 = createCache({ redis: nr as never, name: 'l1', ...common, l1: { ttl: 3_600_000 } });
  const loader = async () => VALUE;
  const bentoL2 = bento.use('l2');
  const bentoL1 = bento.use('l1');

  // Seed: one hot key per concurrent caller, for every contender.
  const keys = Array.from({ length: CONCURRENCY }, (_, i) => `mem:${i}`);
  for (const k of keys) {
    await nr.set(`${PREFIX}raw:${k}`, RAW);
    await l2.getOrSet(k, loader);
    await l1.getOrSet(k, loader);
    await bentoL2.getOrSet({ key: k, factory: loader, ttl: '1h' });
    await bentoL1.getOrSet({ key: k, factory: loader, ttl: '1h' });
  }
  const k0 = keys[0] as string;
  const rawKey = `${PREFIX}raw:${k0}`;

  // 1. sequential L2 hits
  const seqRes = await alternate([
    {
      name: 'raw node-redis GET + JSON.parse',
      fn: () => seq(OPS, async () => JSON.parse((await nr.get(rawKey)) as string)),
    },
    {
      // What the cache sends under its default policy: node-redis without its per-command timer.
      name: 'raw node-redis GET + JSON.parse, no command timer',
      fn: () => seq(OPS, async () => JSON.parse((await nrNoTimer.get(rawKey)) as string)),
    },
    {
      name: 'raw ioredis GET + JSON.parse',
      fn: () => seq(OPS, async () => JSON.parse((await io.get(rawKey)) as string)),
    },
    { name: '@mem0-stack/cache getOrSet, L2 hit', fn: () => seq(OPS, () => l2.getOrSet(k0, loader)) },
    {
      name: '@mem0-stack/cache getOrSet, L2 hit, no resilience policy',
      fn: () => seq(OPS, () => bare.getOrSet(k0, loader)),
    },
    {
      name: 'bentocache getOrSet, L2 hit (ioredis)',
      fn: () => seq(OPS, () => bentoL2.getOrSet({ key: k0, factory: loader, ttl: '1h' })),
    },
  ]);

  // 2. L1 hits
  const l1Res = await alternate([
    { name: '@mem0-stack/cache getOrSet, L1 hit', fn: () => seq(L1_OPS, () => l1.getOrSet(k0, loader)) },
    {
      name: 'bentocache getOrSet, L1 hit',
      fn: () => seq(L1_OPS / 10, () => bentoL1.getOrSet({ key: k0, factory: loader, ttl: '1h' })),
    },
  ]);

  // 3. 100 concurrent callers, each on its own key, then all on one hot key
  const cOps = OPS * 5;
  const concRes = await alternate([
    {
      name: 'raw node-redis GET + JSON.parse',
      fn: () =>
        conc(cOps, CONCURRENCY, async (c) => JSON.parse((await nr.get(`${PREFIX}raw:${keys[c]}`)) as string)),
    },
    {
      name: 'raw ioredis GET + JSON.parse',
      fn: () =>
        conc(cOps, CONCURRENCY, async (c) => JSON.parse((await io.get(`${PREFIX}raw:${keys[c]}`)) as string)),
    },
    {
      name: '@mem0-stack/cache getOrSet, L2 hit',
      fn: () => conc(cOps, CONCURRENCY, (c) => l2.getOrSet(keys[c] as string, loader)),
    },
    {
      name: 'bentocache getOrSet, L2 hit (ioredis)',
      fn: () =>
        conc(cOps, CONCURRENCY, (c) =>
          bentoL2.getOrSet({ key: keys[c] as string, factory: loader, ttl: '1h' }),
        ),
    },
    {
      name: '@mem0-stack/cache getOrSet, L2 hit, one hot key',
      fn: () => conc(cOps, CONCURRENCY, () => l2.getOrSet(k0, loader)),
    },
    {
      name: 'bentocache getOrSet, L2 hit, one hot key',
      fn: () => conc(cOps, CONCURRENCY, () => bentoL2.getOrSet({ key: k0, factory: loader, ttl: '1h' })),
    },
  ]);

  // 4. Zipf(1.0) over 10k keys with a pg loader
  const pool = new Pool({ connectionString: await createTestDatabase('mem0_cache_test'), max: 10 });
  await pool.query('DROP TABLE IF EXISTS bench_items');
  await pool.query(
    'CREATE TABLE bench_items (id int PRIMARY KEY, owner text NOT NULL, body text NOT NULL, updated_at timestamptz NOT NULL)',
  );
  await pool.query(
    `INSERT INTO bench_items SELECT g, 'user-' || (g % 500), repeat(md5(g::text), 6), now() FROM generate_series(1, ${ZIPF_KEYS}) g`,
  );
  const sequence = zipfSequence(ZIPF_KEYS, ZIPF_REQUESTS, 1.0, 20240501);
  const ZIPF_CONC = 50;
  const zipfRun = async (get: (id: number) => Promise<unknown>) => {
    let next = 0;
    const t = now();
    await Promise.all(
      Array.from({ length: ZIPF_CONC }, async () => {
        while (next < sequence.length) await get(sequence[next++] as number);
      }),
    );
    return Number(now() - t) / 1e9;
  };
  let pgQueries = 0;
  const fromPg = async (id: number) => {
    pgQueries++;
    const r = await pool.query('SELECT * FROM bench_items WHERE id = $1', [id]);
    return r.rows[0];
  };
  const noCacheSeconds = await zipfRun(fromPg);
  const noCacheQueries = pgQueries;
  pgQueries = 0;
  const zipfCache = createCache({ redis: nr as never, name: 'zipf', ...common, defaultTtl: 600_000 });
  const cachedSeconds = await zipfRun((id) => zipfCache.getOrSet(`item:${id}`, () => fromPg(id)));
  const cachedQueries = pgQueries;
  const zs = zipfCache.stats();
  pgQueries = 0;
  const zipfL1 = createCache({
    redis: nr as never,
    name: 'zipf-l1',
    ...common,
    defaultTtl: 600_000,
    l1: { maxEntries: 2_000, ttl: 600_000 },
  });
  const l1Seconds = await zipfRun((id) => zipfL1.getOrSet(`item:${id}`, () => fromPg(id)));
  const l1Queries = pgQueries;
  const zl = zipfL1.stats();
  await pool.query('DROP TABLE IF EXISTS bench_items');
  await pool.end();

  // ---- report
  const base = seqRes.get('raw node-redis GET + JSON.parse')?.median as number;
  const ours = seqRes.get('@mem0-stack/cache getOrSet, L2 hit')?.median as number;
  const bentoSeq = seqRes.get('bentocache getOrSet, L2 hit (ioredis)')?.median as number;
  const l1Ours = l1Res.get('@mem0-stack/cache getOrSet, L1 hit')?.median as number;
  const l1Bento = l1Res.get('bentocache getOrSet, L1 hit')?.median as number;
  const cBase = concRes.get('raw node-redis GET + JSON.parse')?.median as number;
  const cOurs = concRes.get('@mem0-stack/cache getOrSet, L2 hit')?.median as number;
  const cBento = concRes.get('bentocache getOrSet, L2 hit (ioredis)')?.median as number;
  const table = (res: Map<string, Result>, baseline: number, baseName: string) =>
    [...res]
      .map(
        ([name, r]) =>
          `| ${name} | ${fmt(r.median)} | ${fmt(Math.min(...r.all))}–${fmt(Math.max(...r.all))} | ${fmt(r.cpu)} | ${fmt(1e6 / r.median, 0)} | **${fmt(r.median / baseline)}×** vs ${baseName} |`,
      )
      .join('\n');
  // Any degraded call (Redis skipped) would make our rows measure the loader: report it.
  const degraded = l2.stats().errors + bare.stats().errors + l1.stats().errors + zs.errors + zl.errors;
  const hitRate = zs.hitRatio;
  const reduction = 1 - cachedQueries / noCacheQueries;
  const met = (ok: boolean) => (ok ? 'met' : '**missed**');
  const md = `
One 560-byte JSON value on the shared local Redis; ${ROUNDS} rounds after a warm-up round, variants rotated each round; medians of the rounds. Sequential: ${OPS} awaited calls per run (L1: ${L1_OPS} ours, ${L1_OPS / 10} bentocache). Concurrent: ${CONCURRENCY} callers, ${cOps} calls per run. bentocache ${'1.6.1'} runs on ioredis (its Redis driver), ours on node-redis 6; both default options, no L1 unless stated. Our L2 hit includes the resilience policy (\`presets.redis\` without retries: timeout + breaker; timeout raised to 5 s for the run, see the script); under that policy the cache sends its commands without node-redis' own per-command timer (an \`AbortSignal.timeout\`, 5 s by default, armed for every command of the raw node-redis rows), since the policy's shorter timeout always fires first. The "no resilience policy" row keeps node-redis' timer. µs/op is wall time (Redis and the network included); client CPU µs/op is this process's CPU time per call, steadier on a shared machine.

**Sequential L2 hits**

| variant | µs/op (median) | range | client CPU µs/op | ops/s | ratio |
|---|---:|---:|---:|---:|---:|
${table(seqRes, base, 'raw node-redis')}

**L1 hits** (in-process)

| variant | µs/op (median) | range | client CPU µs/op | ops/s | ratio |
|---|---:|---:|---:|---:|---:|
${table(l1Res, l1Ours, 'ours')}

**${CONCURRENCY} concurrent callers** (µs/op = wall time / calls)

| variant | µs/op (median) | range | client CPU µs/op | ops/s | ratio |
|---|---:|---:|---:|---:|---:|
${table(concRes, cBase, 'raw node-redis')}

**Zipf(1.0) reads over ${ZIPF_KEYS.toLocaleString('en')} keys, PostgreSQL loader** (${ZIPF_REQUESTS.toLocaleString('en')} requests, ${ZIPF_CONC} concurrent, cold cache at start, TTL 10 min)

| variant | pg queries | hit rate | wall s | req/s |
|---|---:|---:|---:|---:|
| no cache (every request queries pg) | ${noCacheQueries.toLocaleString('en')} | — | ${fmt(noCacheSeconds)} | ${fmt(ZIPF_REQUESTS / noCacheSeconds, 0)} |
| @mem0-stack/cache getOrSet (L2) | ${cachedQueries.toLocaleString('en')} | ${fmt(hitRate * 100, 1)} % | ${fmt(cachedSeconds)} | ${fmt(ZIPF_REQUESTS / cachedSeconds, 0)} |
| @mem0-stack/cache getOrSet, L1 (2,000 entries) + L2 | ${l1Queries.toLocaleString('en')} | ${fmt(zl.hitRatio * 100, 1)} % (L1 ${fmt((zl.l1Hits / zl.requests) * 100, 1)} %) | ${fmt(l1Seconds)} | ${fmt(ZIPF_REQUESTS / l1Seconds, 0)} |

The loader is a primary-key lookup on a local PostgreSQL (a cheap query); a miss costs three Redis round trips (lookup; lock + re-read + versions in one pipeline; versioned write) plus the query. Wall times share the machine's cores with Redis and PostgreSQL.

Degraded calls during the run (Redis skipped, loader answered): ${degraded}${degraded > 0 ? ' — **the cache rows are not valid for this run**' : ''}.

Targets:
- L2 hit ≤ 1.1× raw node-redis GET + JSON.parse: ${fmt(ours / base)}× wall — ${met(ours / base <= 1.1)} (client CPU: ${fmt((seqRes.get('@mem0-stack/cache getOrSet, L2 hit')?.cpu as number) / (seqRes.get('raw node-redis GET + JSON.parse')?.cpu as number))}×). Against node-redis without its per-command timer, as the cache sends its commands: ${fmt(ours / (seqRes.get('raw node-redis GET + JSON.parse, no command timer')?.median as number))}× wall, ${fmt((seqRes.get('@mem0-stack/cache getOrSet, L2 hit')?.cpu as number) / (seqRes.get('raw node-redis GET + JSON.parse, no command timer')?.cpu as number))}× CPU: the cache's own cost.
- L1 hit ≤ 1 µs: ${fmt(l1Ours, 3)} µs — ${met(l1Ours <= 1)} (bentocache L1 hit here: ${fmt(l1Bento)} µs, ${fmt(l1Bento / l1Ours, 1)}× ours).
- getOrSet vs bentocache, sequential: ${fmt(ours / bentoSeq)}× bentocache's time; with ${CONCURRENCY} concurrent callers: ${fmt(cOurs / cBento)}× — ${met(cOurs < cBento)} (beat it under concurrency).
- Zipf: hit rate ${fmt(hitRate * 100, 1)} % (≥ 80 % ${met(hitRate >= 0.8)}), pg queries −${fmt(reduction * 100, 1)} % vs no cache (≥ 80 % ${met(reduction >= 0.8)}).

Reproduce: \`npx tsc -b packages/cache && npm run bench -w @mem0-stack/cache\`.
`;
  console.log(md);
  writeSection('cache', '@mem0-stack/cache — hit cost, concurrency, and database load', md);

  // ---- cleanup
  await Promise.all([l2.close(), bare.close(), l1.close(), zipfCache.close(), zipfL1.close()]);
  await bento.disconnectAll();
  for (const pattern of [`${PREFIX}*`, `bench:bento:${run}*`]) {
    for await (const batch of nr.scanIterator({ MATCH: pattern, COUNT: 1000 }))
      if (batch.length) await nr.del(batch);
  }
  io.disconnect();
  await nr.quit();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
