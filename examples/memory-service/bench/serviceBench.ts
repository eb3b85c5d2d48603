// `npm run bench -w memory-service`: the service's performance benchmark. Every scenario
// runs alternately with its baseline (A B A B …) in this one script and reports medians
// and ratios; figures go to docs/benchmarks.md and a latency chart to docs/.
//
// Knobs: BENCH_SECONDS (measured seconds per run, default 8), BENCH_ROUNDS (pairs per
// scenario, default 2), BENCH_CONNECTIONS (default 50), BENCH_MEMORIES (default 10000),
// BENCH_USERS (default 500). Longer: BENCH_SECONDS=30 BENCH_ROUNDS=3.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startRedisServer } from '@mem0-stack/testkit';
import autocannon from 'autocannon';
import { Pool } from 'pg';
import { createClient } from 'redis';
import { formatMarkdown, machineLine, writeSection } from '../../../scripts/bench-report.mjs';
import { cacheTags, changedTags, createdTags, searchTags } from '../src/cacheTags';
import { loadConfig } from '../src/config';
import { createRandom, SEARCH_TERMS, userId, zipf } from '../src/dataset';
import { parseTsquery, type SearchPlan, statements } from '../src/memoryRepository';
import { migrate } from '../src/migrate';
import { createRequestMix } from '../src/requestMix';
import { seedDatabase } from '../src/seed';
import { startBenchCollector } from './benchCollector';
import { BENCH_DB_NAME, ensureBenchDatabase, memoryIdsByUser } from './benchDatabase';
import { latencyChart } from './latencyChart';

const env = process.env;
const num = (name: string, d: number) => (env[name] && Number(env[name]) > 0 ? Number(env[name]) : d);
const SECONDS = num('BENCH_SECONDS', 8);
const WARMUP_SECONDS = num('BENCH_WARMUP_SECONDS', 3);
/** Scenario 1 warms each run with the first N requests of the sequence, to reach steady state. */
const CACHE_WARMUP_REQUESTS = num('BENCH_CACHE_WARMUP_REQUESTS', 60_000);
const ROUNDS = num('BENCH_ROUNDS', 2);
const CONNECTIONS = num('BENCH_CONNECTIONS', 50);
const MEMORIES = num('BENCH_MEMORIES', 10_000);
const USERS = num('BENCH_USERS', 500);
const RESPONSE_SECONDS = num('BENCH_RESPONSE_SECONDS', 4);
/** Which scenarios to run (`BENCH_SCENARIOS=1,3`); docs are written only by a full run. */
const SCENARIOS = new Set((env.BENCH_SCENARIOS || '1,2,3,4').split(',').map((x) => x.trim()));
const ZIPF_S = 1.1;
const MIX_SEED = 1000;
const root = join(__dirname, '..', '..', '..');
const serviceDir = join(__dirname, '..');
const docsDir = join(root, 'docs');
const DB_NAME = BENCH_DB_NAME;
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat times are in 1/100 s
const DEFAULT_COMPRESS_THRESHOLD = loadConfig({}).compressThresholdBytes;
/** The page size whose first page a POST keeps fresh (the service's default; the mix asks for it). */
const DEFAULT_PAGE_SIZE = loadConfig({}).defaultPageSize;
const KNOBS = [
  'BENCH_SECONDS',
  'BENCH_WARMUP_SECONDS',
  'BENCH_CACHE_WARMUP_REQUESTS',
  'BENCH_ROUNDS',
  'BENCH_CONNECTIONS',
  'BENCH_MEMORIES',
  'BENCH_USERS',
  'BENCH_RESPONSE_SECONDS',
  'BENCH_QUERIES',
];
const COMMAND = `${KNOBS.filter((k) => env[k])
  .map((k) => `${k}=${env[k]}`)
  .join(' ')} npm run bench -w memory-service`.trim();

const log = (s: string) => process.stderr.write(`${s}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? (s[m] as number)
      : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const pct = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const f3 = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : 'n/a');
const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a');
const change = (a: number, b: number) =>
  Number.isFinite(a / b) ? `${a >= b ? '+' : '−'}${Math.abs((100 * (a - b)) / b).toFixed(0)}%` : 'n/a';
// For figures judged against a target at its edge (pg queries −80%): a rounded −80% may be −79.6%.
const change1 = (a: number, b: number) =>
  Number.isFinite(a / b) ? `${a >= b ? '+' : '−'}${Math.abs((100 * (a - b)) / b).toFixed(1)}%` : 'n/a';

/** CPU ticks (user+system) and peak RSS of a process, from /proc. */
function procStats(pid: number): { cpuSeconds: number; peakRssMb: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime and stime are fields 14 and 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { cpuSeconds: ticks / CLK_TCK, peakRssMb: hwm ? Number(hwm[1]) / 1024 : Number.NaN };
  } catch {
    return { cpuSeconds: Number.NaN, peakRssMb: Number.NaN };
  }
}

/** Set in main(): the bench's own redis-server and a reader of PostgreSQL backend pids. */
let redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
let redisPid: number | undefined;
let backendPids: (() => Promise<number[]>) | undefined;
/** Set while scenario 3 runs: the collector the preloads export to (its CPU shares the cores). */
let collectorPid: number | undefined;

/** CPU seconds of the service's PostgreSQL backends and of the bench's redis-server, by pid. */
async function dependencyCpu(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const pid of (await backendPids?.().catch(() => [])) ?? [])
    out.set(`pg:${pid}`, procStats(pid).cpuSeconds);
  if (redisPid) out.set('redis', procStats(redisPid).cpuSeconds);
  if (collectorPid) out.set('collector', procStats(collectorPid).cpuSeconds);
  return out;
}

/** CPU spent between two snapshots (a backend that appeared in between counts from zero). */
function cpuDelta(a: Map<string, number>, b: Map<string, number>, prefix: string): number {
  let sum = 0;
  for (const [k, v] of b) if (k.startsWith(prefix) && Number.isFinite(v)) sum += v - (a.get(k) ?? 0);
  return sum;
}

/** The pid of the redis-server listening on `port`, from /proc (undefined when not found). */
function findRedisPid(port: number): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // redis-server rewrites its title to "redis-server 127.0.0.1:<port>".
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.startsWith('redis-server') && (cmd.includes(`:${port}`) || cmd.includes(` ${port} `)))
        return Number(d);
    } catch {}
  }
  return undefined;
}

type Variant = {
  label: string;
  env?: Record<string, string>;
  preload?: string[];
};

type RunResult = {
  label: string;
  requests: number;
  /** Requests the server finished in the window (the divisor of per-request costs). */
  served: number;
  /** Requests of the mix sent during the warm-up and during the measured window. */
  issuedWarmup: number;
  /** Cache hit rate over the warm-up (from a cold cache), NaN when not measured. */
  warmupHitRate: number;
  issuedMeasured: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  non2xx: number;
  dbQueries: number;
  cacheHits: number;
  cacheMisses: number;
  cpuSeconds: number;
  /** CPU of the service's PostgreSQL backends and of the redis-server in the window. */
  pgCpuSeconds: number;
  redisCpuSeconds: number;
  /** CPU of the OTLP collector in the window (scenario 3; 0 when none runs). */
  collectorCpuSeconds: number;
  peakRssMb: number;
  bytesPerResponse: number;
};

type Service = { url: string; child: ChildProcess; stop(): Promise<void> };

async function startServiceProcess(databaseUrl: string, v: Variant): Promise<Service> {
  const port = await freePort();
  // BENCH_PROFILE_DIR=<dir>: a V8 CPU profile of every service run, to see where the time goes.
  const profile = env.BENCH_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', env.BENCH_PROFILE_DIR] : [];
  const child = spawn(process.execPath, [...profile, ...(v.preload ?? []), 'dist/server.js'], {
    cwd: serviceDir,
    env: {
      ...env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      MEM0_SLOW_QUERY_MS: '1000',
      MEM0_LOG_LEVEL: 'warn',
      OTEL_SDK_DISABLED: 'true',
      ...v.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service (${v.label}) exited: ${err}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service (${v.label}) not up in 30 s: ${err}`);
    }
    await sleep(100);
  }
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(12_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Counter of statements the server executed in the bench database, when pg_stat_statements is on. */
let pgCalls: (() => Promise<number>) | undefined;

async function stats(url: string) {
  const get = async () =>
    (await (await fetch(`${url}/internal/stats`)).json()) as {
      http?: { requests?: number; inFlight?: number };
      cache?: { hits?: number; stale?: number; requests?: number };
      db?: { queries?: number };
    };
  // Snapshot only when nothing is in flight: a request cut off by the end of a run has run its
  // queries but would not be counted among the requests.
  let s = await get();
  for (let i = 0; i < 50 && (s.http?.inFlight ?? 0) > 0; i++) {
    await sleep(100);
    s = await get();
  }
  // A stale answer (stale-while-revalidate / grace) spared the database too: count it as a hit.
  const hits = (s.cache?.hits ?? 0) + (s.cache?.stale ?? 0);
  return {
    served: s.http?.requests ?? 0,
    hits,
    misses: (s.cache?.requests ?? 0) - hits,
    queries: pgCalls ? await pgCalls() : (s.db?.queries ?? 0),
  };
}

/** Requests for one run; `issued` counts the requests autocannon has sent (in sequence order). */
type RequestSet = unknown[] & { issued?: { n: number } };

/**
 * The read/write mix (src/requestMix.ts) as autocannon requests. The warm-up and the measured
 * run of one `measure()` share one set, so the measured run continues the sequence instead of
 * replaying what the warm-up just cached.
 */
function mixedRequests(ids: Map<string, string[]>, seed: number): RequestSet {
  const next = createRequestMix({ users: USERS, zipfS: ZIPF_S, seed, ids });
  const issued = { n: 0 };
  const set: RequestSet = [
    {
      setupRequest: (req: Record<string, unknown>) => {
        issued.n++;
        return { ...req, ...next() };
      },
    },
  ];
  set.issued = issued;
  return set;
}

/**
 * The hit rate of an ideal cache on the same request sequence: unbounded, never expiring, no
 * Redis, no races; only the service's own writes change entries, as src/app.ts does: a POST
 * invalidates its tags but keeps the user's first page at the default size fresh (write-through)
 * when it is cached, and a PATCH drops what holds the memory but writes the memory itself
 * through. (A POST also writes its new memory through to `mem:<id>`: the mix only asks for the
 * seeded ids, so that entry is never read and is left out.) Requests
 * `[0, skip)` warm it; `[skip, skip + count)` are counted. The yardstick for the real cache, and
 * the ceiling this workload allows. List pages and search results also carry a tag per memory
 * they hold (the service's `tagsOf`): a page holds a PATCHed memory when its rank among the
 * user's memories (newest first, in the database) is below 20 minus the user's POSTs so far; a
 * search result is taken to hold it when the memory's content matches the query at all (more
 * than the real top 10, so the ideal errs low).
 */
async function idealHitRate(
  pool: Pool,
  ids: Map<string, string[]>,
  seed: number,
  skip: number,
  count: number,
): Promise<number> {
  const next = createRequestMix({ users: USERS, zipfS: ZIPF_S, seed, ids });
  const reqs = Array.from({ length: skip + count }, () => next());
  const owner = new Map<string, string>();
  for (const [u, list] of ids) for (const id of list) owner.set(id, u);
  // Lexemes from PostgreSQL itself, as the service gets them (same parser, same stemmer).
  const contents = reqs.filter((r) => r.method === 'POST').map((r) => JSON.parse(r.body as string).content);
  const lexemes = (
    await pool.query<{ l: string[] }>(
      "SELECT tsvector_to_array(to_tsvector('english', c)) AS l FROM unnest($1::text[]) WITH ORDINALITY AS t(c, i) ORDER BY i",
      [contents],
    )
  ).rows.map((r) => r.l);
  const plans = new Map<string, SearchPlan>();
  for (const term of SEARCH_TERMS) {
    const r = await pool.query<{ t: string }>("SELECT websearch_to_tsquery('english', $1)::text AS t", [
      term,
    ]);
    plans.set(term, parseTsquery(r.rows[0]?.t ?? ''));
  }
  // Where each PATCHed memory sits: its rank in the user's list and its content's lexemes.
  const patched = [
    ...new Set(reqs.filter((r) => r.method === 'PATCH').map((r) => r.path.slice('/v1/memories/'.length))),
  ];
  const facts = new Map<string, { rank: number; lexemes: Set<string> }>();
  for (const r of (
    await pool.query<{ id: string; rank: string; l: string[] }>(
      `SELECT id, rank, l FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC, id DESC) - 1 AS rank,
         tsvector_to_array(content_tsv) AS l FROM memories WHERE user_id IN (SELECT user_id FROM memories WHERE id = ANY($1::uuid[]))) t
       WHERE id = ANY($1::uuid[])`,
      [patched],
    )
  ).rows)
    facts.set(r.id, { rank: Number(r.rank), lexemes: new Set(r.l) });
  const postsBy = new Map<string, number>();
  const cached = new Set<string>();
  const byTag = new Map<string, Set<string>>();
  const put = (key: string, tags: string[]) => {
    cached.add(key);
    for (const t of tags) {
      const keys = byTag.get(t) ?? new Set<string>();
      keys.add(key);
      byTag.set(t, keys);
    }
  };
  const invalidate = (tags: string[]) => {
    for (const t of tags) {
      for (const k of byTag.get(t) ?? []) cached.delete(k);
      byTag.delete(t);
    }
  };
  let posts = 0;
  let hits = 0;
  let reads = 0;
  reqs.forEach((r, i) => {
    const url = new URL(r.path, 'http://x');
    let key: string;
    let tags: string[];
    if (r.method === 'POST') {
      const u = JSON.parse(r.body as string).user_id as string;
      postsBy.set(u, (postsBy.get(u) ?? 0) + 1);
      const first = `list:${u}:${DEFAULT_PAGE_SIZE}`;
      const refreshed = cached.has(first);
      invalidate(createdTags(u, lexemes[posts++] ?? []));
      if (refreshed) put(first, [cacheTags.lists(u)]);
      return;
    }
    const id = url.pathname.startsWith('/v1/memories/') ? url.pathname.slice('/v1/memories/'.length) : '';
    if (r.method === 'PATCH') {
      const u = owner.get(id) ?? '';
      const f = facts.get(id);
      // The entries holding the memory carry its tag (tagsOf): drop them as the real cache would.
      if (f === undefined || f.rank < 20 - (postsBy.get(u) ?? 0)) cached.delete(`list:${u}:20`);
      for (const [term, plan] of plans)
        if (f === undefined || plan.any || plan.lexemes.some((l) => f.lexemes.has(l)))
          cached.delete(`search:${u}:10:${term}`);
      invalidate(changedTags(u, id));
      put(`mem:${id}`, [cacheTags.memory(id)]);
      return;
    }
    const u = url.searchParams.get('user_id') ?? '';
    if (url.pathname === '/v1/memories') {
      key = `list:${u}:${url.searchParams.get('limit')}`;
      tags = [cacheTags.lists(u)];
    } else if (url.pathname === '/v1/memories/search') {
      const q = url.searchParams.get('q') ?? '';
      key = `search:${u}:${url.searchParams.get('limit')}:${q}`;
      tags = searchTags(u, plans.get(q) ?? { lexemes: [], any: true });
    } else {
      key = `mem:${id}`;
      tags = [cacheTags.memory(id)];
    }
    if (i >= skip) {
      reads++;
      if (cached.has(key)) hits++;
    }
    put(key, tags);
  });
  return reads === 0 ? Number.NaN : hits / reads;
}

type LoadOpts = {
  requests: unknown[];
  seconds: number;
  warmupSeconds?: number;
  /** Warm up with this many requests instead of for `warmupSeconds`. */
  warmupRequests?: number;
  /** Stop after this many requests (autocannon's `amount`) instead of after `seconds`. */
  amount?: number;
  headers?: Record<string, string>;
  reconnectRate?: number;
};

function load(
  url: string,
  o: LoadOpts,
): Promise<{ result: autocannon.Result; latencies: number[]; bytes: number; statuses: Map<number, number> }> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let bytes = 0;
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url,
        connections: CONNECTIONS,
        ...(o.amount ? { amount: o.amount } : { duration: o.seconds }),
        requests: o.requests as autocannon.Request[],
        headers: o.headers,
        ...(o.reconnectRate ? { reconnectRate: o.reconnectRate } : {}),
      },
      (err, result) =>
        err ? reject(err) : resolve({ result, latencies: latencies.sort((a, b) => a - b), bytes, statuses }),
    );
    inst.on('response', (_c: unknown, status: number, resBytes: number, ms: number) => {
      latencies.push(ms);
      if (status >= 300) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      bytes += resBytes;
    });
  });
}

async function measure(
  databaseUrl: string,
  v: Variant,
  requests: () => RequestSet,
  loadOpts: Partial<LoadOpts> = {},
): Promise<RunResult> {
  const svc = await startServiceProcess(databaseUrl, v);
  try {
    const seconds = loadOpts.seconds ?? SECONDS;
    const warmup = loadOpts.warmupSeconds ?? WARMUP_SECONDS;
    const set = requests();
    const w0 = await stats(svc.url);
    if (loadOpts.warmupRequests)
      await load(svc.url, { ...loadOpts, requests: set, seconds: 0, amount: loadOpts.warmupRequests });
    else if (warmup > 0) await load(svc.url, { ...loadOpts, requests: set, seconds: warmup });
    const issuedWarmup = set.issued?.n ?? 0;
    const s0 = await stats(svc.url);
    const p0 = procStats(svc.child.pid as number);
    const d0 = await dependencyCpu();
    const { result, latencies, bytes, statuses } = await load(svc.url, {
      ...loadOpts,
      requests: set,
      seconds,
    });
    const s1 = await stats(svc.url);
    const p1 = procStats(svc.child.pid as number);
    const d1 = await dependencyCpu();
    const n = result.requests.total;
    const served = s1.served - s0.served;
    const r: RunResult = {
      label: v.label,
      requests: n,
      served,
      issuedWarmup,
      warmupHitRate: (s0.hits - w0.hits) / (s0.hits - w0.hits + s0.misses - w0.misses),
      issuedMeasured: (set.issued?.n ?? 0) - issuedWarmup,
      rps: n / seconds,
      p50: pct(latencies, 50),
      p95: pct(latencies, 95),
      p99: pct(latencies, 99),
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
      // The /internal/stats calls themselves run no query and are not counted as served.
      dbQueries: s1.queries - s0.queries,
      cacheHits: s1.hits - s0.hits,
      cacheMisses: s1.misses - s0.misses,
      cpuSeconds: p1.cpuSeconds - p0.cpuSeconds,
      pgCpuSeconds: cpuDelta(d0, d1, 'pg:'),
      redisCpuSeconds: cpuDelta(d0, d1, 'redis'),
      collectorCpuSeconds: cpuDelta(d0, d1, 'collector'),
      peakRssMb: p1.peakRssMb,
      bytesPerResponse: n > 0 ? bytes / n : Number.NaN,
    };
    log(
      `  ${v.label.padEnd(34)} ${String(n).padStart(7)} req  ${f1(r.rps).padStart(7)} req/s  p50 ${f1(r.p50)}  p95 ${f1(r.p95)}  p99 ${f1(r.p99)} ms  q/req ${f3(r.dbQueries / served)}  cpu ${f2(r.cpuSeconds)} s (+pg ${f2(r.pgCpuSeconds)} +redis ${f2(r.redisCpuSeconds)}${collectorPid ? ` +collector ${f2(r.collectorCpuSeconds)}` : ''})  rss ${f1(r.peakRssMb)} MB  non2xx ${r.non2xx}${statuses.size > 0 ? ` (${[...statuses].map(([c, n]) => `${c}×${n}`).join(', ')})` : ''} err ${r.errors}`,
    );
    return r;
  } finally {
    await svc.stop();
  }
}

/** Runs the variants alternately for ROUNDS rounds and returns the runs per variant. */
async function alternate(
  title: string,
  databaseUrl: string,
  variants: Variant[],
  requests: () => RequestSet,
  loadOpts: Partial<LoadOpts> = {},
  beforeEach?: () => Promise<void>,
) {
  log(`\n${title}`);
  const runs = new Map<string, RunResult[]>(variants.map((v) => [v.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Swap the order every round so neither side always runs on a warmer machine.
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      await beforeEach?.();
      runs.get(v.label)?.push(await measure(databaseUrl, v, requests, loadOpts));
    }
  }
  return runs;
}

type Summary = {
  label: string;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  qPerReq: number;
  hitRate: number;
  warmupHitRate: number;
  cpuPer10k: number;
  /** Service + its PostgreSQL backends + redis-server, CPU seconds per 10k requests. */
  totalCpuPer10k: number;
  /** The OTLP collector's CPU seconds per 10k requests (scenario 3). */
  collectorCpuPer10k: number;
  rssMb: number;
  bytes: number;
  non2xx: number;
  errors: number;
};

function summarize(label: string, rs: RunResult[]): Summary {
  return {
    label,
    rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50)),
    p95: median(rs.map((r) => r.p95)),
    p99: median(rs.map((r) => r.p99)),
    qPerReq: median(rs.map((r) => r.dbQueries / r.served)),
    hitRate: median(
      rs.map((r) => (r.cacheHits + r.cacheMisses > 0 ? r.cacheHits / (r.cacheHits + r.cacheMisses) : 0)),
    ),
    warmupHitRate: median(rs.map((r) => r.warmupHitRate)),
    cpuPer10k: median(rs.map((r) => (r.cpuSeconds / r.served) * 10_000)),
    totalCpuPer10k: median(
      rs.map((r) => ((r.cpuSeconds + r.pgCpuSeconds + r.redisCpuSeconds) / r.served) * 10_000),
    ),
    collectorCpuPer10k: median(rs.map((r) => (r.collectorCpuSeconds / r.served) * 10_000)),
    rssMb: median(rs.map((r) => r.peakRssMb)),
    bytes: median(rs.map((r) => r.bytesPerResponse)),
    non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
    errors: rs.reduce((a, r) => a + r.errors, 0),
  };
}

async function pgStatStatementsAvailable(pool: Pool): Promise<boolean> {
  try {
    const r = await pool.query("SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'");
    if (!String(r.rows[0]?.setting ?? '').includes('pg_stat_statements')) return false;
    await pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await pool.query('SELECT sum(calls) FROM pg_stat_statements');
    return true;
  } catch {
    return false;
  }
}

async function deleteRedisPrefix(prefix: string) {
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  try {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length) await redis.del(keys);
    }
  } finally {
    await redis.close();
  }
}

// ── Scenario 2: indexed schema + keyset/tsvector queries vs a naive schema ──────────
const NAIVE = {
  setup: `
    DROP TABLE IF EXISTS memories_naive;
    CREATE TABLE memories_naive AS SELECT id, user_id, content, metadata, created_at, updated_at FROM memories;
    ALTER TABLE memories_naive ADD PRIMARY KEY (id);
    ANALYZE memories_naive;`,
  // What a first version usually looks like: OFFSET paging, tsvector computed per row.
  listFirst: `SELECT id, user_id, content, metadata, created_at, updated_at FROM memories_naive
    WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
  search: `SELECT id, user_id, content, metadata, created_at, updated_at FROM memories_naive
    WHERE user_id = $1 AND to_tsvector('english', content) @@ websearch_to_tsquery('english', $2)
    ORDER BY created_at DESC LIMIT $3`,
};

async function timeQueries(
  pool: Pool,
  label: string,
  queries: Array<{ name: string; text: string; values: unknown[] }>,
) {
  const times: number[] = [];
  for (const q of queries) {
    const t = process.hrtime.bigint();
    await pool.query(q);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return {
    label,
    p50: pct(times, 50),
    p95: pct(times, 95),
    mean: times.reduce((a, b) => a + b, 0) / times.length,
  };
}

async function queryScenario(databaseUrl: string) {
  log('\nScenario 2 — indexed schema + keyset pagination + stored tsvector vs naive schema (query time, ms)');
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  await pool.query(NAIVE.setup);
  const N = num('BENCH_QUERIES', 300);
  const makeQueries = (kind: 'list' | 'page5' | 'search', naive: boolean, seed: number) => {
    const random = createRandom(seed);
    const pickUser = zipf(USERS, ZIPF_S, random);
    return Array.from({ length: N }, () => {
      const u = userId(pickUser());
      const term = SEARCH_TERMS[Math.floor(random() * SEARCH_TERMS.length)] as string;
      if (kind === 'search')
        return naive
          ? { name: 'naive_search', text: NAIVE.search, values: [u, term, 10] }
          : { name: 'opt_search', text: statements.search, values: [u, term, 10] };
      if (kind === 'list')
        return naive
          ? { name: 'naive_list', text: NAIVE.listFirst, values: [u, 21, 0] }
          : { name: 'opt_list', text: statements.listFirst, values: [u, 21] };
      // Page 5: OFFSET 80 vs a keyset cursor far in the past of the newest rows.
      return naive
        ? { name: 'naive_list', text: NAIVE.listFirst, values: [u, 21, 80] }
        : {
            name: 'opt_list_after',
            text: statements.listAfter,
            values: [u, '2000-01-01T00:00:00Z', '00000000-0000-4000-8000-000000000000', 21],
          };
    });
  };
  const out: Array<{ kind: string; opt: number[]; naive: number[]; optP95: number[]; naiveP95: number[] }> =
    [];
  for (const kind of ['list', 'page5', 'search'] as const) {
    const row = {
      kind,
      opt: [] as number[],
      naive: [] as number[],
      optP95: [] as number[],
      naiveP95: [] as number[],
    };
    for (let round = 0; round < Math.max(2, ROUNDS); round++) {
      const order = round % 2 === 0 ? [false, true] : [true, false];
      for (const naive of order) {
        const r = await timeQueries(pool, kind, makeQueries(kind, naive, 100 + round));
        (naive ? row.naive : row.opt).push(r.mean);
        (naive ? row.naiveP95 : row.optP95).push(r.p95);
      }
    }
    log(
      `  ${kind.padEnd(8)} optimised mean ${f2(median(row.opt))} ms  naive mean ${f2(median(row.naive))} ms`,
    );
    out.push(row);
  }
  await pool.query('DROP TABLE IF EXISTS memories_naive');
  await pool.end();
  return out;
}

async function main() {
  const started = Date.now();
  const cleanups: Array<() => Promise<unknown>> = [];
  const results: Partial<Results> = {};
  if (!existsSync(join(serviceDir, 'dist', 'server.js'))) {
    throw new Error(
      'examples/memory-service/dist/server.js is missing: run `npx tsc -b examples/memory-service` (or npm run build) first',
    );
  }
  const databaseUrl = await ensureBenchDatabase();
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  await migrate(pool);
  log(`Seeding ${MEMORIES} memories for ${USERS} users into ${DB_NAME}…`);
  await seedDatabase(pool, { count: MEMORIES, users: USERS });
  const ids = await memoryIdsByUser(pool);
  const statStatements = await pgStatStatementsAvailable(pool);
  // As text: a JS Date would cut the microseconds, and the last seeded rows would look newer.
  const seededUntil = (await pool.query<{ t: string }>('SELECT max(created_at)::text AS t FROM memories'))
    .rows[0]?.t;
  await pool.end();
  // Every run POSTs memories (8% of its requests): without this, later runs and scenarios would
  // see a bigger table than the seeded one.
  const datasetPool = new Pool({ connectionString: databaseUrl, max: 1 });
  cleanups.push(() => datasetPool.end());
  const restoreDataset = async () => {
    await datasetPool.query('DELETE FROM memories WHERE created_at > $1::timestamptz', [seededUntil]);
    await datasetPool.query('VACUUM (ANALYZE) memories');
  };
  // A redis-server of the bench's own: no other suite's traffic in the figures, and its CPU
  // can be counted with the service's.
  const redis = await startRedisServer();
  cleanups.push(() => redis.stop());
  redisUrl = redis.url;
  redisPid = findRedisPid(redis.port);
  {
    const admin = new URL(databaseUrl);
    admin.pathname = '/postgres';
    const pidPool = new Pool({ connectionString: admin.toString(), max: 1 });
    cleanups.push(() => pidPool.end());
    backendPids = async () =>
      (
        await pidPool.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'memory-service'",
          [DB_NAME],
        )
      ).rows.map((r) => r.pid);
  }
  log(`redis-server for the bench on ${redisUrl} (pid ${redisPid ?? 'unknown'})`);
  if (statStatements) {
    // Asked from the `postgres` database so the counting query is not itself counted.
    const admin = new URL(databaseUrl);
    admin.pathname = '/postgres';
    const statPool = new Pool({ connectionString: admin.toString(), max: 1 });
    cleanups.push(() => statPool.end());
    pgCalls = async () =>
      Number(
        (
          await statPool.query(
            'SELECT coalesce(sum(s.calls), 0)::bigint AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1',
            [DB_NAME],
          )
        ).rows[0].n,
      );
  }
  log(
    `pg queries per request: ${statStatements ? 'pg_stat_statements' : "the service's own query counter (pg_stat_statements is not in shared_preload_libraries here)"}`,
  );

  const sections: string[] = [];
  const chart: Array<{ group: string; label: string; p50: number; p95: number; p99: number }> = [];

  if (SCENARIOS.has('1')) {
    // ── Scenario 1: cache on vs off ──
    let prefixN = 0;
    const prefixes: string[] = [];
    // A fresh key prefix per run: each cache-on run starts cold, like a fresh deploy.
    const freshPrefix = () => {
      const p = `bench:memory-service:${process.pid}:${prefixN++}:`;
      prefixes.push(p);
      return p;
    };
    const OFF = 'cache off (baseline)';
    const REDIS = 'cache on, Redis only';
    const L1 = 'cache on, L1 + Redis';
    const cacheRuns = await alternate(
      `Scenario 1 — cache on vs cache off (${CONNECTIONS} connections, ${SECONDS} s per run after a warm-up of ${CACHE_WARMUP_REQUESTS} requests, ${ROUNDS} rounds)`,
      databaseUrl,
      [
        { label: OFF, env: { MEM0_CACHE: 'off' } },
        {
          label: REDIS,
          get env() {
            return { MEM0_CACHE: 'on', MEM0_CACHE_L1: 'off', MEM0_CACHE_PREFIX: freshPrefix() };
          },
        },
        {
          label: L1,
          get env() {
            return { MEM0_CACHE: 'on', MEM0_CACHE_L1: 'on', MEM0_CACHE_PREFIX: freshPrefix() };
          },
        },
      ],
      // The same request sequence for every variant and round.
      () => mixedRequests(ids, MIX_SEED),
      { warmupRequests: CACHE_WARMUP_REQUESTS },
      restoreDataset,
    );
    for (const p of prefixes) await deleteRedisPrefix(p).catch(() => {});
    // The yardstick: an ideal cache on exactly the requests each cache-on run sent.
    const simPool = new Pool({ connectionString: databaseUrl, max: 1 });
    const idealOf = async (label: string) =>
      median(
        await Promise.all(
          (cacheRuns.get(label) ?? []).map((r) =>
            idealHitRate(simPool, ids, MIX_SEED, r.issuedWarmup, r.issuedMeasured),
          ),
        ),
      );
    const ideal = new Map([
      [REDIS, await idealOf(REDIS)],
      [L1, await idealOf(L1)],
    ]);
    const idealSteady = await idealHitRate(simPool, ids, MIX_SEED, 100_000, 50_000);
    await simPool.end();
    const idealText = `An ideal cache (unbounded, never expiring, only the service's writes change entries: tag invalidations remove them, write-throughs keep or set them) on the same request sequence would hit the rate in the "ideal" column over the same measured windows (after the same warm-up), and ${(100 * idealSteady).toFixed(1)}% in steady state (requests 100 000–150 000 of the sequence): the ceiling this workload allows.`;
    log(`  → ${idealText}`);
    const off = summarize(OFF, cacheRuns.get(OFF) ?? []);
    const cacheOn = [REDIS, L1].map((l) => summarize(l, cacheRuns.get(l) ?? []));
    for (const s of [off, ...cacheOn])
      chart.push({ ...s, group: 'cache', label: s.label.replace(' (baseline)', '') });
    const cacheRow = (s: Summary) =>
      `| ${s.label} | ${f1(s.rps)} | ${f1(s.p50)} | ${f1(s.p95)} | ${f1(s.p99)} | ${f3(s.qPerReq)} | ${s === off ? '—' : `${(100 * s.hitRate).toFixed(1)}%`} | ${s === off ? '—' : `${(100 * (ideal.get(s.label) ?? Number.NaN)).toFixed(1)}%`} | ${s === off ? '—' : `${(100 * s.warmupHitRate).toFixed(1)}%`} | ${f2(s.cpuPer10k)} | ${f2(s.totalCpuPer10k)} | ${f1(s.rssMb)} | ${s.non2xx} | ${s.errors} |`;
    const versus = (on: Summary) =>
      `${on.label} vs off: throughput ${ratio(on.rps, off.rps)}, p95 ${change(on.p95, off.p95)}, pg queries per request ${change1(on.qPerReq, off.qPerReq)}, CPU per request ${change(on.cpuPer10k, off.cpuPer10k)} in the service and ${change(on.totalCpuPer10k, off.totalCpuPer10k)} with PostgreSQL and Redis, peak RSS ${change(on.rssMb, off.rssMb)}, hit rate ${(100 * on.hitRate).toFixed(1)}%.`;
    for (const on of cacheOn) log(`  → ${versus(on)}`);
    sections.push(
      [
        `### 1. Cache on vs off — ${CONNECTIONS} connections, Zipf(s=${ZIPF_S}) over ${USERS} users, ${MEMORIES} memories, 90% reads / 10% writes`,
        '',
        '| variant | req/s | p50 ms | p95 ms | p99 ms | pg queries / req | cache hit rate | ideal cache, same requests | hit rate during the warm-up (cold start) | service CPU s / 10k req | service + PostgreSQL + Redis CPU s / 10k req | peak RSS MB | non-2xx | errors |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...[off, ...cacheOn].map(cacheRow),
        '',
        ...cacheOn.map((on) => `- ${versus(on)}`),
        '',
        idealText,
        '',
        `Targets: p95 < 200 ms at ${CONNECTIONS} connections, hit rate ≥ 80%, pg queries −80%, CPU per request −30%. Each cache-on run starts with an empty cache (fresh key prefix); the first ${CACHE_WARMUP_REQUESTS.toLocaleString('en-US')} requests of the sequence warm it and are not measured (their hit rate is the cold-start column), so the measured window is the cache in steady state, as a running service has it; every run, cache off included, sends the same request sequence (the measured window continues where the warm-up stopped).`,
        `pg queries counted by ${statStatements ? 'pg_stat_statements (calls in the bench database)' : 'the service’s own query counter (pg_stat_statements is not in shared_preload_libraries on this server)'}; CPU (utime + stime) and peak RSS (VmHWM) read from /proc: the service process, its PostgreSQL backends (by pid from pg_stat_activity) and the bench's own redis-server; per request the server finished. The load generator runs on the same machine.`,
      ].join('\n'),
    );
    results.cache = {
      off,
      redis: cacheOn[0] as Summary,
      l1: cacheOn[1] as Summary,
      idealRedis: ideal.get(REDIS) ?? Number.NaN,
      idealL1: ideal.get(L1) ?? Number.NaN,
      idealSteady,
    };
  }
  if (SCENARIOS.has('2')) {
    // ── Scenario 2: schema/query optimisation ──
    await restoreDataset();
    const q = await queryScenario(databaseUrl);
    const queryLabel = {
      list: 'list, first page',
      page5: 'list, page 5 (keyset vs OFFSET 80)',
      search: 'full-text search',
    };
    sections.push(
      [
        '### 2. Indexed schema + keyset pagination + stored tsvector vs naive schema (SQL time per query, client-side, ms)',
        '',
        '| query | optimised mean | naive mean | change | optimised p95 | naive p95 |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
        ...q.map(
          (r) =>
            `| ${queryLabel[r.kind as keyof typeof queryLabel]} | ${f2(median(r.opt))} | ${f2(median(r.naive))} | ${change(median(r.opt), median(r.naive))} | ${f2(median(r.optP95))} | ${f2(median(r.naiveP95))} |`,
        ),
        '',
        `Naive: only a primary key, \`OFFSET\` paging, \`to_tsvector()\` computed per row. Optimised: composite (user_id, created_at, id) index, keyset cursor, GIN index on a stored tsvector. ${num('BENCH_QUERIES', 300)} queries per run (Zipf users), ${Math.max(2, ROUNDS)} alternating runs, medians. Target −50%.`,
      ].join('\n'),
    );
    results.queries = q.map((r) => ({
      label: queryLabel[r.kind as keyof typeof queryLabel],
      optimised: median(r.opt),
      naive: median(r.naive),
    }));
  }
  if (SCENARIOS.has('3')) {
    // ── Scenario 3: preload cost ──
    const NONE = 'no preload (baseline)';
    const OURS = '@mem0-stack/otel/register';
    const UPSTREAM = 'auto-instrumentations-node/register';
    const FULL = '@mem0-stack/otel/register, MEM0_OTEL_SPAN_DETAIL=full';
    const SAMPLED = '@mem0-stack/otel/register, 10% of traces sampled';
    const variants: Variant[] = [{ label: NONE }];
    const notes: string[] = [];
    let ourRegister: string | undefined;
    try {
      ourRegister = require.resolve('@mem0-stack/otel/register', { paths: [serviceDir] });
    } catch {
      notes.push('`@mem0-stack/otel/register` was not available when this ran: its row is missing.');
    }
    const collector = await startBenchCollector(root).catch((err: Error) => {
      notes.push(`collector: ${err.message}`);
      return undefined;
    });
    collectorPid = collector?.pid;
    const otelEnv = {
      OTEL_SDK_DISABLED: 'false',
      OTEL_SERVICE_NAME: 'memory-service-bench',
      ...(collector
        ? {
            OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
            // The collector takes protobuf (the default of both preloads); the sink only JSON.
            OTEL_EXPORTER_OTLP_PROTOCOL: collector.kind === 'sink' ? 'http/json' : 'http/protobuf',
          }
        : {}),
      OTEL_METRIC_EXPORT_INTERVAL: '10000',
      // Request lines are logged, so the log bridge and the OTLP log export are part of the cost.
      MEM0_LOG_LEVEL: 'info',
    };
    if (ourRegister) {
      variants.push({ label: OURS, preload: ['--require', ourRegister], env: otelEnv });
      // Reference rows: upstream's span set (a span per express middleware and pg checkout), and
      // head sampling as a production service at this rate would run it (logs and metrics stay whole).
      variants.push({
        label: FULL,
        preload: ['--require', ourRegister],
        env: { ...otelEnv, MEM0_OTEL_SPAN_DETAIL: 'full' },
      });
      variants.push({
        label: SAMPLED,
        preload: ['--require', ourRegister],
        env: { ...otelEnv, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
      });
    }
    variants.push({
      label: UPSTREAM,
      preload: ['--require', '@opentelemetry/auto-instrumentations-node/register'],
      env: {
        ...otelEnv,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_LOGS_EXPORTER: 'otlp',
        // Its default detectors include cloud ones that probe metadata endpoints on start.
        OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
      },
    });
    const preloadPrefix = `bench:memory-service:${process.pid}:preload:`;
    let preloadRuns: Map<string, RunResult[]>;
    try {
      // The variants share one key prefix: one unreported run first fills it, so that the first
      // measured run does not start with a colder cache than the others.
      log('  (warming the shared cache prefix; not reported)');
      await restoreDataset();
      await measure(
        databaseUrl,
        { label: 'warm-up', env: { MEM0_CACHE: 'on', MEM0_CACHE_PREFIX: preloadPrefix } },
        () => mixedRequests(ids, MIX_SEED),
      );
      preloadRuns = await alternate(
        `Scenario 3 — preload cost (${collector ? `exporting to the ${collector.kind}` : 'no collector'}), cache on, logs at info`,
        databaseUrl,
        variants.map((v) => ({
          ...v,
          env: { MEM0_CACHE: 'on', MEM0_CACHE_PREFIX: preloadPrefix, MEM0_LOG_LEVEL: 'info', ...v.env },
        })),
        () => mixedRequests(ids, MIX_SEED),
        {},
        restoreDataset,
      );
    } finally {
      collectorPid = undefined;
      await collector?.stop();
      await deleteRedisPrefix(preloadPrefix).catch(() => {});
    }
    const none = summarize(NONE, preloadRuns.get(NONE) ?? []);
    const pre = variants.map((v) => summarize(v.label, preloadRuns.get(v.label) ?? []));
    for (const s of pre) chart.push({ ...s, group: 'preload', label: s.label.replace(' (baseline)', '') });
    const oursS = pre.find((s) => s.label === OURS);
    const upS = pre.find((s) => s.label === UPSTREAM);
    const preloadVerdict = [
      oursS ? `${OURS}: ${ratio(oursS.rps, none.rps)} of no-preload throughput (target ≥ 0.90×)` : undefined,
      upS ? `${UPSTREAM}: ${ratio(upS.rps, none.rps)}` : undefined,
      oursS && upS ? `ours vs upstream: ${ratio(oursS.rps, upS.rps)} throughput (target > 1×)` : undefined,
    ].filter(Boolean);
    log(`  → ${preloadVerdict.join('; ')}`);
    sections.push(
      [
        `### 3. Preload cost — ${collector ? collector.describe : 'no collector available: exporters point nowhere'}`,
        '',
        '| variant | req/s | throughput vs no preload | p50 ms | p95 ms | p99 ms | CPU s / 10k req | collector CPU s / 10k req | peak RSS MB | non-2xx | errors |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...pre.map(
          (s) =>
            `| ${s.label} | ${f1(s.rps)} | ${ratio(s.rps, none.rps)} | ${f1(s.p50)} | ${f1(s.p95)} | ${f1(s.p99)} | ${f2(s.cpuPer10k)} | ${collector?.pid === undefined ? 'n/a' : f2(s.collectorCpuPer10k)} | ${f1(s.rssMb)} | ${s.non2xx} | ${s.errors} |`,
        ),
        '',
        `${preloadVerdict.join('; ')}.`,
        `Same mixed load as scenario 1, cache on (L1 + Redis), request lines logged at info; both preloads export traces, metrics and logs over OTLP/HTTP to the same endpoint. The target applies to the default row (\`@mem0-stack/otel/register\`: every trace sampled, MEM0_OTEL_SPAN_DETAIL=lean). The two rows below it are references: upstream's span set (\`full\`), and 10% head sampling (\`OTEL_TRACES_SAMPLER=parentbased_traceidratio\`, \`OTEL_TRACES_SAMPLER_ARG=0.1\`; every log record and metric is still exported).`,
        "CPU s / 10k req is the service process; the collector column is the collector process in the same window (/proc utime + stime). Both share the machine's 2 cores with the load generator, PostgreSQL and Redis, so what the collector spends is capacity the service does not get here; in production the collector runs on its own cores or host.",
        ...notes.map((n) => `Note: ${n}`),
      ].join('\n'),
    );
    results.preload = { none, ours: oursS, upstream: upS, backend: collector?.kind ?? 'none' };
  }
  if (SCENARIOS.has('4')) {
    // ── Scenario 4: response optimisations ──
    const resp = await responseScenario(databaseUrl, ids);
    sections.push(resp.markdown);
    results.response = resp.pairs;
  }
  if (!['1', '2', '3', '4'].every((n) => SCENARIOS.has(n))) {
    log(`\npartial run (BENCH_SCENARIOS=${[...SCENARIOS].join(',')}): docs/ left as they are`);
    for (const c of cleanups) await c().catch(() => {});
    return;
  }
  const svgPath = join(docsDir, 'memory-service-latency.svg');
  writeFileSync(svgPath, latencyChart(chart, machineLine()));
  sections.push(
    '![latency percentiles per scenario](memory-service-latency.svg)',
    'The same figures as a chart: docs/memory-service-latency.svg (p50/p95/p99 per variant, written by this benchmark).',
  );
  const md = [
    `Command: \`${COMMAND}\`; medians of ${ROUNDS} alternating runs per variant (order swapped every round); each run starts the service in a fresh child process; autocannon (${CONNECTIONS} connections) runs in the bench process on the same machine. Preliminary when the machine is shared.`,
    '',
    ...sections.flatMap((s) => [s, '']),
  ].join('\n');
  writeSection('memory-service', 'memory-service — cache, schema, preload and response optimisations', md);
  writeGuideResults(results as Results);
  log(
    `\nwrote docs/benchmarks.md (section memory-service), docs/memory-service-latency.svg and the results table of docs/performance-optimization-guide.md in ${Math.round((Date.now() - started) / 1000)} s`,
  );
  for (const c of cleanups) await c().catch(() => {});
}

type Pair = { name: string; a: Summary; b: Summary };

async function responseScenario(databaseUrl: string, ids: Map<string, string[]>) {
  log(
    `\nScenario 4 — response optimisations (cache on, hot user list of 50, ${CONNECTIONS} connections, ${RESPONSE_SECONDS} s runs)`,
  );
  const hot = userId(0);
  const prefix = `bench:memory-service:${process.pid}:resp:`;
  const list =
    (extra = '') =>
    (): RequestSet => [{ method: 'GET', path: `/v1/memories?user_id=${hot}&limit=50${extra}` }];
  const cacheEnv = { MEM0_CACHE: 'on', MEM0_CACHE_PREFIX: prefix };
  const pairs: Pair[] = [];
  const short = { seconds: RESPONSE_SECONDS, warmupSeconds: 1 };
  const pair = async (
    name: string,
    a: Variant,
    b: Variant,
    req: () => RequestSet,
    extraA: Partial<LoadOpts> = {},
    extraB: Partial<LoadOpts> = {},
    reqB: () => RequestSet = req,
  ) => {
    const optsA = { ...short, ...extraA };
    const optsB = { ...short, ...extraB };
    const ra: RunResult[] = [];
    const rb: RunResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        ra.push(await measure(databaseUrl, a, req, optsA));
        rb.push(await measure(databaseUrl, b, reqB, optsB));
      } else {
        rb.push(await measure(databaseUrl, b, reqB, optsB));
        ra.push(await measure(databaseUrl, a, req, optsA));
      }
    }
    pairs.push({ name, a: summarize(a.label, ra), b: summarize(b.label, rb) });
  };
  await pair(
    `compression (gzip/br above ${DEFAULT_COMPRESS_THRESHOLD} B)`,
    { label: 'compressed', env: cacheEnv },
    { label: 'uncompressed', env: { ...cacheEnv, MEM0_COMPRESS_THRESHOLD_BYTES: '0' } },
    list(),
    { headers: { 'accept-encoding': 'br, gzip' } },
    { headers: { 'accept-encoding': 'br, gzip' } },
  );
  await pair(
    'field selection',
    { label: '?fields=id,content', env: cacheEnv },
    { label: 'all fields', env: cacheEnv },
    list('&fields=id,content'),
    {},
    {},
    list(),
  );
  if (ids.get(hot)?.length) {
    const svc = await startServiceProcess(databaseUrl, { label: 'etag probe', env: cacheEnv });
    const etag = (await fetch(`${svc.url}/v1/memories?user_id=${hot}&limit=50`)).headers.get('etag') ?? '';
    await svc.stop();
    await pair(
      'conditional GET (ETag)',
      { label: 'If-None-Match → 304', env: cacheEnv },
      { label: 'no validator → 200', env: cacheEnv },
      list(),
      { headers: { 'if-none-match': etag } },
      {},
    );
  }
  await pair(
    'keep-alive',
    { label: 'keep-alive', env: cacheEnv },
    { label: 'new connection per request', env: cacheEnv },
    list(),
    {},
    // The server closes each connection after its response; autocannon opens a new one.
    { headers: { connection: 'close' } },
  );
  await deleteRedisPrefix(prefix).catch(() => {});
  for (const p of pairs) {
    log(
      `  → ${p.name}: throughput ${ratio(p.a.rps, p.b.rps)}, bytes/response ${change(p.a.bytes, p.b.bytes)}`,
    );
  }
  const markdown = [
    `### 4. Response optimisations — GET /v1/memories?user_id=<hot user>&limit=50, cache on, ${CONNECTIONS} connections, ${RESPONSE_SECONDS} s runs`,
    '',
    '| optimisation | with | req/s | p95 ms | bytes / response | without | req/s | p95 ms | bytes / response | throughput ratio | bytes change |',
    '| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
    ...pairs.map(
      ({ name, a, b }) =>
        `| ${name} | ${a.label} | ${f1(a.rps)} | ${f1(a.p95)} | ${Math.round(a.bytes)} | ${b.label} | ${f1(b.rps)} | ${f1(b.p95)} | ${Math.round(b.bytes)} | ${ratio(a.rps, b.rps)} | ${change(a.bytes, b.bytes)} |`,
    ),
    '',
    'Bytes per response are what autocannon received (headers + body) on the wire. On loopback the network is free, so compression shows its CPU cost, not its transfer saving; the bytes column is the saving a real network would see.',
  ].join('\n');
  return { markdown, pairs };
}

type Results = {
  cache: {
    off: Summary;
    redis: Summary;
    l1: Summary;
    idealRedis: number;
    idealL1: number;
    idealSteady: number;
  };
  queries: Array<{ label: string; optimised: number; naive: number }>;
  preload: { none: Summary; ours: Summary | undefined; upstream: Summary | undefined; backend: string };
  response: Pair[];
};

/**
 * Writes the "measured effect of each optimisation" table into the performance guide, between
 * its results markers, from this run's figures (never typed by hand). Everything else in the
 * guide, including the cache engineer's section, is left as it is.
 */
function writeGuideResults(r: Results) {
  const file = join(docsDir, 'performance-optimization-guide.md');
  const start = '<!-- memory-service:results:start -->';
  const end = '<!-- memory-service:results:end -->';
  const { off, redis, l1, idealRedis, idealL1, idealSteady } = r.cache;
  const rows: string[][] = [
    [
      'Query-result cache in Redis (tags, single-flight)',
      '1',
      `pg queries/request ${f3(off.qPerReq)} → ${f3(redis.qPerReq)} (${change1(redis.qPerReq, off.qPerReq)}); hit rate ${(100 * redis.hitRate).toFixed(1)}% (an ideal cache: ${(100 * idealRedis).toFixed(1)}% on the same requests, ${(100 * idealSteady).toFixed(1)}% in steady state); p95 ${f1(off.p95)} → ${f1(redis.p95)} ms; service CPU/10k req ${f2(off.cpuPer10k)} → ${f2(redis.cpuPer10k)} s (${change(redis.cpuPer10k, off.cpuPer10k)}); with PostgreSQL + Redis ${f2(off.totalCpuPer10k)} → ${f2(redis.totalCpuPer10k)} s (${change(redis.totalCpuPer10k, off.totalCpuPer10k)}); throughput ${ratio(redis.rps, off.rps)}`,
    ],
    [
      'In-process L1 in front of Redis',
      '1',
      `hit rate ${(100 * l1.hitRate).toFixed(1)}% (ideal ${(100 * idealL1).toFixed(1)}%); vs Redis only: throughput ${ratio(l1.rps, redis.rps)}; p95 ${f1(redis.p95)} → ${f1(l1.p95)} ms; service CPU/10k req ${f2(redis.cpuPer10k)} → ${f2(l1.cpuPer10k)} s; vs no cache: pg queries ${change1(l1.qPerReq, off.qPerReq)}, CPU/request ${change(l1.cpuPer10k, off.cpuPer10k)} (service), ${change(l1.totalCpuPer10k, off.totalCpuPer10k)} (with PostgreSQL + Redis), peak RSS ${f1(off.rssMb)} → ${f1(l1.rssMb)} MB`,
    ],
    ...r.queries.map((q) => [
      q.label.startsWith('full-text')
        ? 'Stored tsvector + GIN index (search)'
        : q.label.includes('page 5')
          ? 'Keyset cursor instead of OFFSET (deep pages)'
          : 'Composite (user_id, created_at, id) index (list)',
      '2',
      `${q.label}: ${f2(q.naive)} → ${f2(q.optimised)} ms mean (${change(q.optimised, q.naive)})`,
    ]),
    ...r.response.map((p) => [
      p.name.charAt(0).toUpperCase() + p.name.slice(1),
      '4',
      `bytes/response ${Math.round(p.b.bytes)} → ${Math.round(p.a.bytes)} (${change(p.a.bytes, p.b.bytes)}); throughput ${ratio(p.a.rps, p.b.rps)}; p95 ${f1(p.b.p95)} → ${f1(p.a.p95)} ms`,
    ]),
  ];
  const { none, ours, upstream } = r.preload;
  if (ours)
    rows.push([
      'Curated preload (@mem0-stack/otel/register)',
      '3',
      `throughput ${ratio(ours.rps, none.rps)} of no preload${upstream ? `, ${ratio(ours.rps, upstream.rps)} of auto-instrumentations-node/register (${ratio(upstream.rps, none.rps)} of no preload)` : ''}; CPU/10k req ${f2(none.cpuPer10k)} → ${f2(ours.cpuPer10k)} s${upstream ? ` (upstream ${f2(upstream.cpuPer10k)} s)` : ''}; exporting to the ${r.preload.backend}`,
    ]);
  const table = [
    start,
    `_Written by \`${COMMAND}\` on ${new Date().toISOString().slice(0, 16)}Z — ${machineLine()} Full tables: [benchmarks](benchmarks.md#memory-service--cache-schema-preload-and-response-optimisations)._`,
    '',
    '| optimisation | bench scenario | measured effect (baseline → optimised) |',
    '| --- | :---: | --- |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    end,
  ].join('\n');
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) doc = doc.slice(0, i) + table + doc.slice(j + end.length);
  else doc = `${doc.trimEnd()}\n\n## Measured effects\n\n${table}\n`;
  writeFileSync(file, doc);
  formatMarkdown(file);
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`bench failed: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
