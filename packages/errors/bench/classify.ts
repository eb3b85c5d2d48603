// How much does classify() cost per failure, against the hand-written `switch (err.code)` an
// application would otherwise write? Fresh error objects every call (no memoisation), plus the
// memoised path (the same failure seen by retry, breaker and telemetry) and problemDetails().
// Run: npm run bench -w @mem0-stack/errors
import { DatabaseError } from 'pg-protocol/dist/messages';
import { z } from 'zod';
import { writeSection } from '../../../scripts/bench-report.mjs';
import { AppError, classify, problemDetails } from '../src/index';

type Make = () => unknown;

const scenarios: Array<[string, Make]> = [
  [
    'pg deadlock (DatabaseError 40P01)',
    () =>
      Object.assign(new DatabaseError('deadlock detected', 100, 'error'), {
        code: '40P01',
        severity: 'ERROR',
      }),
  ],
  [
    'ECONNREFUSED',
    () =>
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
        code: 'ECONNREFUSED',
        syscall: 'connect',
      }),
  ],
  [
    'fetch failed → cause ECONNRESET',
    () =>
      new TypeError('fetch failed', {
        cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      }),
  ],
  ['ZodError (2 issues)', () => z.object({ a: z.string(), b: z.number() }).safeParse({ a: 1, b: 'x' }).error],
  ['AppError', () => new AppError('quota', { code: 'QUOTA', category: 'rate_limited' })],
  ['unknown Error (unclassified)', () => new Error('something odd')],
];

/** What an application writes without this package: a switch on `code`. */
function handWritten(err: unknown): { code: string; retryable: boolean; status: number } {
  const code = (err as { code?: unknown })?.code;
  switch (code) {
    case '40P01':
    case '40001':
      return { code: 'DB_RETRY', retryable: true, status: 503 };
    case '23505':
      return { code: 'DB_UNIQUE', retryable: false, status: 409 };
    case 'ECONNREFUSED':
    case 'ECONNRESET':
      return { code: 'NET', retryable: true, status: 503 };
    default: {
      const cause = (err as { cause?: { code?: unknown } })?.cause;
      if (cause?.code === 'ECONNRESET') return { code: 'NET', retryable: true, status: 503 };
      return { code: 'INTERNAL', retryable: false, status: 500 };
    }
  }
}

const N = 2000;
const ROUNDS = 15;
let sink = 0;

// CPU time of this process, not wall time: the machine is shared, and waiting for a core
// would be charged to whichever side happened to be descheduled.
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function timeOver(errors: unknown[], fn: (e: unknown) => unknown): number {
  const t0 = cpuNs();
  for (const e of errors) sink += (fn(e) as { status: number }).status;
  return (cpuNs() - t0) / errors.length;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const rows: string[] = [];
const fmt = (ns: number) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
for (const [name, make] of scenarios) {
  const base: number[] = [];
  const ours: number[] = [];
  const memo: number[] = [];
  for (let r = 0; r < ROUNDS + 2; r++) {
    // Fresh objects each round, built outside the timed loops (stack capture is not ours).
    const a = Array.from({ length: N }, make);
    const b = Array.from({ length: N }, make);
    const order = r % 2 === 0;
    const tBase = order ? timeOver(a, handWritten) : 0;
    const tOurs = timeOver(b, classify);
    const tBase2 = order ? tBase : timeOver(a, handWritten);
    const tMemo = timeOver(b, classify); // same objects again: memoised
    if (r < 2) continue; // warm-up
    base.push(tBase2);
    ours.push(tOurs);
    memo.push(tMemo);
  }
  const mb = median(base);
  const mo = median(ours);
  rows.push(`| ${name} | ${fmt(mb)} | ${fmt(mo)} | ${(mo / mb).toFixed(1)}× | ${fmt(median(memo))} |`);
}

// problemDetails: classification + body + headers for a fresh error.
const pd: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const errs = Array.from({ length: N }, scenarios[0]![1]);
  const t0 = cpuNs();
  for (const e of errs) sink += problemDetails(e, { url: '/v1/memories/1', headers: {} }).status;
  pd.push((cpuNs() - t0) / N);
}

const table = [
  '| Thrown value | hand-written `switch (code)` (baseline) | `classify()` fresh object | ratio | `classify()` memoised |',
  '|---|---|---|---|---|',
  ...rows,
].join('\n');
const md = `${table}

\`problemDetails()\` (classify + RFC 9457 body + headers, pg deadlock): ${fmt(median(pd))} per call.

Process CPU time per call (\`process.cpuUsage\`, so time spent waiting for a core on a busy machine is not counted), median of ${ROUNDS} alternating rounds of ${N} fresh error objects created outside the timed loop.
The baseline only maps a handful of codes; \`classify()\` runs every rule over the cause chain,
validates the result and picks a user message. It runs on failures only, and the memoised
column is what the retry policy, the breaker and telemetry pay when they look at the same failure again.`;
console.log(md);
console.log(`(sink ${sink})`);
writeSection('errors', '@mem0-stack/errors: cost of classifying a failure', md);
