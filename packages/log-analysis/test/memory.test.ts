import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Truth, writeLogFile } from './generateLogs';
import { requireBuilt, runBin, tempDir } from './helpers';

// 1M lines are generated and analysed by a child process: minutes, not seconds, on a busy box.
jest.setTimeout(600_000);

/**
 * The stated memory bound (README "Limits"): one million lines (~450 MB) analysed by
 * `report` (every analysis in one pass) within 160 MB RSS while V8's old space is capped at
 * 64 MB. An implementation that kept lines, messages or durations per record would need
 * hundreds of MB and die of heap exhaustion under that cap instead of finishing.
 */
const LINES = 1_000_000;
const RSS_BOUND_KB = 160 * 1024;

let t: ReturnType<typeof tempDir>;
let big: string;
let truth: Truth;
let preload: string;

beforeAll(async () => {
  requireBuilt();
  t = tempDir();
  big = join(t.dir, 'big.log');
  // Every error message unique (the worst case for the top-messages table), mixed services,
  // one malformed line per thousand.
  truth = await writeLogFile(big, { lines: LINES, malformedEvery: 1000, uniqueMessages: true });
  preload = join(t.dir, 'rss.js');
  writeFileSync(
    preload,
    "process.on('exit', () => process.stderr.write('MAXRSS_KB=' + process.resourceUsage().maxRSS + '\\n'));\n",
  );
});
afterAll(() => t.cleanup());

function maxRss(stderr: string): number {
  const m = /MAXRSS_KB=(\d+)/.exec(stderr);
  if (!m) throw new Error(`no RSS reported: ${stderr}`);
  return Number(m[1]);
}

it(`analyses ${LINES.toLocaleString('en-US')} lines in bounded memory (child process RSS)`, async () => {
  expect(statSync(big).size).toBeGreaterThan(400 * 1024 * 1024);
  const r = await runBin(['report', '--json', '--quiet', big], {
    nodeArgs: ['--max-old-space-size=64', '--require', preload],
    timeoutMs: 500_000,
  });
  expect(r.stderr).not.toContain('heap out of memory');
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(doc.input).toMatchObject({ lines: truth.lines, records: truth.records, malformed: truth.malformed });
  expect(doc.errors.errors).toBe(truth.errors);
  expect(doc.latency.requests).toBe(truth.requests);
  // The unique messages overflowed the bounded counter: counts are flagged as lower bounds.
  expect(doc.errors.approximate).toBe(true);
  const rss = maxRss(r.stderr);
  // Reported so the figure is visible in the test log, not only pass/fail.
  console.log(
    `report over ${LINES} lines: max RSS ${(rss / 1024).toFixed(1)} MiB (bound ${RSS_BOUND_KB / 1024} MiB)`,
  );
  expect(rss).toBeLessThan(RSS_BOUND_KB);
});
