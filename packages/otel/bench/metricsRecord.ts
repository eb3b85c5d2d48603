// CPU per metric record on the request path, through the real MeterProvider and a reader:
// the SDK's own attribute hashing ("before") vs the memoised hash the preload installs
// ("after"), for the attribute sets the memory-service records on every request; and the pg
// pool connection counters, which upstream updates on every pool event and the preload reads
// at collection time instead. Variants alternate in one process, order rotated every round;
// medians of the rounds, and the spread of the per-round ratios as the noise.
//
//   npm run bench:metrics -w @mem0-stack/otel    (BENCH_ROUNDS, BENCH_RECORDS to change the size)
import type { Attributes, BatchObservableResult, Observable } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
// @ts-expect-error -- plain .mjs helper shared by every package's bench, no type declarations.
import { writeSection } from '../../../scripts/bench-report.mjs';
import { type HashFn, installFastAttributeHash } from '../src/internal/fastAttributeHash';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

const sdkUtils = require('@opentelemetry/sdk-metrics/build/src/utils') as { hashAttributes: HashFn };
const canonical = sdkUtils.hashAttributes;
if (installFastAttributeHash() !== 'installed') throw new Error('memoised hash not installed');
const memoised = sdkUtils.hashAttributes;

/** A meter whose instruments hash with `hash` (series maps take the function when built). */
function meterWith(hash: HashFn) {
  sdkUtils.hashAttributes = hash;
  try {
    const reader = new Reader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter('bench');
    return {
      reader,
      histogram: meter.createHistogram('h'),
      counter: meter.createCounter('c'),
      upDown: meter.createUpDownCounter('u'),
    };
  } finally {
    sdkUtils.hashAttributes = memoised;
  }
}

// Evaluated and not shipped: an identity memo for frozen objects on top of the trie, and
// callers passing one cached frozen object per attribute set (rows marked "not shipped").
const identity = new WeakMap<object, string>();
const frozenMemo: HashFn = (a) => {
  if (!Object.isFrozen(a)) return memoised(a);
  let h = identity.get(a);
  if (h === undefined) {
    h = memoised(a);
    identity.set(a, h);
  }
  return h;
};

const before = meterWith(canonical);
const after = meterWith(memoised);
const afterFrozen = meterWith(frozenMemo);

const OPS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];
const NAMES = ['memories.list', 'memories.get', 'memories.search', 'memories.create'];
const CACHES = ['memories', 'searches', 'lists', 'users'];
// What callers would pass if they cached their attribute sets: the same frozen object per set.
const timedSets = NAMES.map((operation) => Object.freeze({ operation, outcome: 'success' }));
const invalidationSets = CACHES.map((name) =>
  Object.freeze({
    'cache.name': name,
    'cache.invalidation.kind': 'tag',
    'cache.invalidation.origin': 'local',
  }),
);

type Inst = ReturnType<typeof meterWith>;
type Scenario = { name: string; variants: Array<{ label: string; run: (n: number) => void }> };

// instrumentation-pg's recordOperationDuration: a new 5-key object per query.
const pgDuration = (m: Inst) => (n: number) => {
  for (let i = 0; i < n; i++) {
    const a: Attributes = {};
    a['db.namespace'] = 'memories';
    a['server.port'] = 5432;
    a['server.address'] = '127.0.0.1';
    a['db.operation.name'] = OPS[i & 3];
    a['db.system.name'] = 'postgresql';
    m.histogram.record(i * 1e-6, a);
  }
};
// logging's timed(): { operation, outcome } built per call, or one cached frozen object per set.
const timedFresh = (m: Inst) => (n: number) => {
  for (let i = 0; i < n; i++) m.histogram.record(i * 1e-3, { operation: NAMES[i & 3], outcome: 'success' });
};
const timedCached = (m: Inst) => (n: number) => {
  for (let i = 0; i < n; i++) m.histogram.record(i * 1e-3, timedSets[i & 3] as Attributes);
};
// cache's invalidation counter: 3 keys.
const invalidationFresh = (m: Inst) => (n: number) => {
  for (let i = 0; i < n; i++)
    m.counter.add(1, {
      'cache.name': CACHES[i & 3],
      'cache.invalidation.kind': 'tag',
      'cache.invalidation.origin': 'local',
    });
};
const invalidationCached = (m: Inst) => (n: number) => {
  for (let i = 0; i < n; i++) m.counter.add(1, invalidationSets[i & 3] as Attributes);
};

// Upstream's pool listener body (instrumentation-pg utils.updateCounter), once per pool event.
const pgUtils = require('@opentelemetry/instrumentation-pg/build/src/utils') as {
  updateCounter(
    poolName: string,
    pool: { totalCount: number; idleCount: number; waitingCount: number },
    count: unknown,
    pending: unknown,
    latest: { used: number; idle: number; pending: number },
  ): { used: number; idle: number; pending: number };
};
const poolEvents = (m: Inst) => (n: number) => {
  // acquire then release, as a pool.query does: the idle count flips between events.
  const pool = { totalCount: 2, idleCount: 2, waitingCount: 0 };
  let latest = { used: 0, idle: 0, pending: 0 };
  for (let i = 0; i < n; i++) {
    pool.idleCount = i & 1 ? 2 : 1;
    latest = pgUtils.updateCounter('127.0.0.1:5432/memories', pool, m.upDown, m.upDown, latest);
  }
};

const scenarios: Scenario[] = [
  {
    name: 'pg `db.client.operation.duration` (new 5-key object per query)',
    variants: [
      { label: 'SDK hash', run: pgDuration(before) },
      { label: '**memoised hash**', run: pgDuration(after) },
    ],
  },
  {
    name: 'logging `timed()` → `operation.duration` ({ operation, outcome })',
    variants: [
      { label: 'SDK hash, new object per call', run: timedFresh(before) },
      { label: '**memoised hash**, new object per call', run: timedFresh(after) },
      { label: '(not shipped) memoised hash, cached frozen object', run: timedCached(after) },
      { label: '(not shipped) + identity memo of frozen objects', run: timedCached(afterFrozen) },
    ],
  },
  {
    name: 'cache `cache.invalidations` counter (3 keys)',
    variants: [
      { label: 'SDK hash, new object per call', run: invalidationFresh(before) },
      { label: '**memoised hash**, new object per call', run: invalidationFresh(after) },
      { label: '(not shipped) memoised hash, cached frozen object', run: invalidationCached(after) },
      { label: '(not shipped) + identity memo of frozen objects', run: invalidationCached(afterFrozen) },
    ],
  },
  {
    name: 'pg pool event (upstream: 3 up/down-counter adds per connect/acquire/release/remove)',
    variants: [
      { label: 'upstream listener, SDK hash', run: poolEvents(before) },
      { label: 'upstream listener, memoised hash (`MEM0_OTEL_SPAN_DETAIL=full`)', run: poolEvents(after) },
    ],
  },
];

function cpuNs(run: (n: number) => void): number {
  const t0 = process.cpuUsage();
  run(RECORDS);
  const u = process.cpuUsage(t0);
  return ((u.user + u.system) * 1000) / RECORDS;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

// Warm-up: JIT and first-sight series out of the measured rounds.
for (const s of scenarios) for (const v of s.variants) v.run(RECORDS / 10);

const lines: string[] = [];
const log = (l: string) => {
  lines.push(l);
  process.stdout.write(`${l}\n`);
};
log('| scenario | variant | ns / record (median) | vs first row | per-round ratio range |');
log('| --- | --- | ---: | ---: | ---: |');
for (const s of scenarios) {
  const times = s.variants.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    const k = s.variants.length;
    for (let j = 0; j < k; j++) {
      const idx = (j + r) % k;
      times[idx]?.push(cpuNs((s.variants[idx] as { run: (n: number) => void }).run));
    }
  }
  const base = times[0] as number[];
  const baseMedian = median(base);
  s.variants.forEach((v, i) => {
    const t = times[i] as number[];
    const ratios = t.map((x, r) => x / (base[r] as number));
    const range = i === 0 ? '' : `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
    log(
      `| ${i === 0 ? s.name : ''} | ${v.label} | ${median(t).toFixed(0)} | ${(median(t) / baseMedian).toFixed(2)}× | ${range} |`,
    );
  });
}

// The replacement of the pool listeners: one batch callback per collection, whatever the traffic.
const { observePools } = require('../src/internal/createPgInstrumentation') as {
  observePools(r: BatchObservableResult, c: Observable, p: Observable, pools: Set<unknown>): void;
};
const livePool = { totalCount: 2, idleCount: 1, waitingCount: 0 };
const tracked = new Set([
  {
    ref: new WeakRef(livePool),
    name: 'p',
    used: Object.freeze({ s: 'used' }),
    idle: Object.freeze({ s: 'idle' }),
    pending: Object.freeze({}),
  },
]);
let observed = 0;
const sinkResult = { observe: () => void observed++ } as unknown as BatchObservableResult;
const collections = 20_000;
const t0 = process.cpuUsage();
for (let i = 0; i < collections; i++) observePools(sinkResult, {} as Observable, {} as Observable, tracked);
const u = process.cpuUsage(t0);
const perCollection = ((u.user + u.system) * 1000) / collections;
log('');
log(
  `Observed pool metrics (the default): no work per pool event; the collection callback reads one pool in ${perCollection.toFixed(0)} ns (${observed / collections} observations), once per export interval.`,
);
log('');
log(
  `${ROUNDS} alternating rounds × ${RECORDS} records per variant, order rotated each round; CPU time (process.cpuUsage). Rows marked "not shipped": alternatives measured and left out (their gain over the shipped row is what they would add).`,
);
log('Reproduce: `npm run bench:metrics -w @mem0-stack/otel`.');

for (const s of [before, after, afterFrozen]) void s.reader.shutdown();
writeSection('otel-metrics', '@mem0-stack/otel — metric records on the request path', lines.join('\n'));
