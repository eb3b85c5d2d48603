// Per-call overhead of a composed retry + circuit breaker + timeout on a successful call:
// our presets.database() vs cockatiel's wrap(retry, circuitBreaker, timeout) vs a bare async
// call. Variants run in alternating rounds (order rotated each round) in one process, so drift
// and GC hit them alike; the median round is reported.
//
//   npm run bench -w @mem0-stack/resilience          (BENCH_ROUNDS / BENCH_CALLS to change)
import {
  circuitBreaker as cbCircuitBreaker,
  retry as cbRetry,
  timeout as cbTimeout,
  ExponentialBackoff,
  handleAll,
  SamplingBreaker,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
// @ts-expect-error -- plain .mjs helper shared by every package's bench, no type declarations.
import { writeSection } from '../../../scripts/bench-report.mjs';
import { presets, timeout } from '../src/index';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);

const work = async (): Promise<number> => 1;

function cockatielWrap(strategy: TimeoutStrategy) {
  return wrap(
    cbRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
    cbCircuitBreaker(handleAll, {
      halfOpenAfter: 5_000,
      breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000, minimumRps: 2 }),
    }),
    cbTimeout(5_000, strategy),
  );
}

type Variant = { name: string; run: () => Promise<unknown> };

const ours = presets.database({ name: 'bench' });
const cockAggressive = cockatielWrap(TimeoutStrategy.Aggressive);
const cockCooperative = cockatielWrap(TimeoutStrategy.Cooperative);
const ourTimeout = timeout(5_000);
const cockTimeout = cbTimeout(5_000, TimeoutStrategy.Aggressive);

const variants: Variant[] = [
  { name: 'bare async call', run: () => work() },
  { name: 'cockatiel wrap(retry, breaker, timeout Aggressive)', run: () => cockAggressive.execute(work) },
  { name: 'cockatiel wrap(retry, breaker, timeout Cooperative)', run: () => cockCooperative.execute(work) },
  { name: '**ours: presets.database()** (retry + breaker + timeout)', run: () => ours.execute(work) },
  {
    name: 'ours: presets.database(), callee reads ctx.signal',
    run: () => ours.execute(({ signal }) => (signal.aborted ? 0 : work())),
  },
  { name: 'cockatiel timeout(5000) alone', run: () => cockTimeout.execute(work) },
  { name: 'ours: timeout(5000) alone', run: () => ourTimeout.execute(work) },
];

async function batch(v: Variant): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await v.run();
  return Number(process.hrtime.bigint() - t0) / CALLS; // ns per call
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  // Warm-up: let the JIT settle on every path.
  for (const v of variants) await batch(v);
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
    for (const v of order) samples.get(v.name)!.push(await batch(v));
  }
  const med = new Map(variants.map((v) => [v.name, median(samples.get(v.name)!)]));
  const bare = med.get(variants[0]!.name)!;
  const cock = med.get(variants[1]!.name)!;
  const mine = med.get(variants[3]!.name)!;
  const us = (ns: number) => (ns / 1000).toFixed(2);
  const rows = variants.map((v) => {
    const ns = med.get(v.name)!;
    const over = Math.max(0, ns - bare);
    return `| ${v.name} | ${us(ns)} | ${us(over)} | ${(ns / cock).toFixed(3)}× |`;
  });
  const ratio = mine / cock;
  const overheadRatio = (mine - bare) / (cock - bare);
  const table = [
    '| variant | µs / call (median of rounds) | overhead over bare (µs) | vs cockatiel wrap (Aggressive) |',
    '|---|---:|---:|---:|',
    ...rows,
  ].join('\n');
  const verdict = ratio <= 0.25 ? 'meets' : 'MISSES';
  const notes = [
    `Sequential successful calls, ${ROUNDS} alternating rounds × ${CALLS} calls per variant, order rotated each round; \`tsx bench/overhead.ts\`.`,
    `**presets.database() / cockatiel wrap = ${ratio.toFixed(3)}×** per call (overhead-only ratio ${overheadRatio.toFixed(3)}×); target ≤ 0.25× — ${verdict} the target.`,
    "Why cheaper: one shared deadline checker for every timeout in the process instead of a setTimeout + AbortController + abort listener per call, and an AbortController only when the callee reads `ctx.signal`. The breaker is cockatiel's; the retry loop is a thin one over cockatiel's backoff generators.",
    'Row "callee reads ctx.signal": reading the signal costs one AbortController (most of the difference); `ctx.onAbort(fn)` gives the same cancellation hook without one (resilientPool uses it for pg cancel; resilientRedis passes a signal only while the client is reconnecting).',
  ].join('\n\n');
  console.log(table);
  console.log(`\n${notes}`);
  writeSection('resilience', '@mem0-stack/resilience — per-call policy overhead', `${table}\n\n${notes}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
