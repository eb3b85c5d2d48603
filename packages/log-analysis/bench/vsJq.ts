// Lines per second of `mem0-logs errors --json` against jq computing the same aggregation
// (error counts by category, severity and code, plus the record count) over the same
// generated file. Runs alternate (ours, jq -R, jq, ours, …) so load drift hits all alike;
// each variant's median round is reported. Cost is measured twice: wall time, and the child's
// CPU time (user + sys, from GNU time) which is steadier on a shared machine.
//
// Two jq baselines: plain `jq -n 'reduce inputs …'` stops at the first malformed line, so it
// runs on a clean copy of the file; `jq -R 'fromjson?'` skips malformed lines like we do and
// runs on the real file. Before timing, the three outputs are checked to agree.
//
//   npm run bench -w @mem0-stack/log-analysis      (BENCH_LINES, BENCH_ROUNDS to change)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error -- plain .mjs helper shared by every package's bench, no type declarations.
import { writeSection } from '../../../scripts/bench-report.mjs';
import { generateLines, writeLogFile } from '../test/generateLogs';

const LINES = Number(process.env.BENCH_LINES ?? 300_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLI = join(__dirname, '..', 'dist', 'cli.js');
const TIME = '/usr/bin/time';

const JQ_AGG = `{records:0, errors:0, cat:{}, sev:{}, code:{}};
  .records += 1
  | if ($r["error.category"] != null) then
      .errors += 1
      | .cat[$r["error.category"]] += 1
      | .sev[$r["error.severity"] // "(none)"] += 1
      | .code[$r["error.code"] // "(none)"] += 1
    else . end`;

type Run = { wallMs: number; cpuMs: number | null; stdout: string };

function run(cmd: string, args: string[]): Run {
  const useTime = existsSync(TIME);
  const t0 = process.hrtime.bigint();
  const r = useTime
    ? spawnSync(TIME, ['-f', '%U %S', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 })
    : spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  let cpuMs: number | null = null;
  if (useTime) {
    const m = /([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
    if (m) cpuMs = (Number(m[1]) + Number(m[2])) * 1000;
  }
  return { wallMs, cpuMs, stdout: r.stdout };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`build first: npx tsc -b packages/log-analysis (${CLI} missing)`);
  try {
    execFileSync('jq', ['--version']);
  } catch {
    throw new Error('jq is not installed: apt-get install -y jq (scripts/install-system-deps.sh)');
  }
  const jqVersion = execFileSync('jq', ['--version'], { encoding: 'utf8' }).trim();
  const load = loadavg()[0]!.toFixed(1);
  const dir = mkdtempSync(join(tmpdir(), 'mem0-logs-bench-'));
  try {
    const file = join(dir, 'app.log');
    const clean = join(dir, 'clean.log');
    const truth = await writeLogFile(file, { lines: LINES, malformedEvery: 1000 });
    writeFileSync(clean, `${[...generateLines({ lines: LINES })].join('\n')}\n`);
    const mb = statSync(file).size / 2 ** 20;

    const variants = [
      {
        name: '**mem0-logs errors --json**',
        file,
        cmd: process.execPath,
        args: [CLI, 'errors', '--json', '--quiet', file],
      },
      {
        name: "jq -R -n 'reduce (inputs | fromjson? | objects) …' (skips malformed lines)",
        file,
        cmd: 'jq',
        args: ['-R', '-n', '-c', `reduce (inputs | fromjson? | objects) as $r (${JQ_AGG})`, file],
      },
      {
        name: "jq -n 'reduce inputs …' (clean copy: jq stops at a malformed line)",
        file: clean,
        cmd: 'jq',
        args: ['-n', '-c', `reduce (inputs | objects) as $r (${JQ_AGG})`, clean],
      },
      {
        name: 'mem0-logs errors --json (clean copy)',
        file: clean,
        cmd: process.execPath,
        args: [CLI, 'errors', '--json', '--quiet', clean],
      },
    ];

    // Same query, same answer: check before timing anything.
    const ours = JSON.parse(run(variants[0]!.cmd, variants[0]!.args).stdout);
    const theirs = JSON.parse(run(variants[1]!.cmd, variants[1]!.args).stdout);
    const structured = ours.byCategory.filter((c: { key: string }) => c.key !== '(none)');
    const ourCat = Object.fromEntries(
      structured.map((c: { key: string; count: number }) => [c.key, c.count]),
    );
    if (
      ours.records !== theirs.records ||
      JSON.stringify(ourCat, Object.keys(ourCat).sort()) !==
        JSON.stringify(theirs.cat, Object.keys(ourCat).sort())
    ) {
      throw new Error(
        `results differ: ours ${JSON.stringify({ records: ours.records, ourCat })} jq ${JSON.stringify(theirs)}`,
      );
    }
    if (ours.records !== truth.records)
      throw new Error(`records ${ours.records} ≠ generated ${truth.records}`);

    const results = variants.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < variants.length; i++) {
        const k = (i + round) % variants.length;
        const v = variants[k]!;
        const r = run(v.cmd, v.args);
        results[k]!.wall.push(r.wallMs);
        if (r.cpuMs !== null) results[k]!.cpu.push(r.cpuMs);
        console.log(
          `round ${round + 1} ${v.name}: ${(r.wallMs / 1000).toFixed(2)} s wall, ${r.cpuMs === null ? '-' : (r.cpuMs / 1000).toFixed(2)} s CPU`,
        );
      }
    }
    const rate = (ms: number) => Math.round(LINES / (ms / 1000));
    const jqWall = median(results[1]!.wall);
    const jqCpu = results[1]!.cpu.length ? median(results[1]!.cpu) : Number.NaN;
    const rows = variants.map((v, i) => {
      const w = median(results[i]!.wall);
      const c = results[i]!.cpu.length ? median(results[i]!.cpu) : Number.NaN;
      return `| ${v.name.replaceAll('|', '\\|')} | ${rate(w).toLocaleString('en-US')} | ${Number.isNaN(c) ? '-' : rate(c).toLocaleString('en-US')} | ${(jqWall / w).toFixed(2)}× | ${Number.isNaN(c) ? '-' : `${(jqCpu / c).toFixed(2)}×`} |`;
    });
    const oursWall = median(results[0]!.wall);
    const oursCpu = results[0]!.cpu.length ? median(results[0]!.cpu) : Number.NaN;
    const speedup = jqCpu / oursCpu;
    const md = [
      `${LINES.toLocaleString('en-US')} generated lines (${mb.toFixed(0)} MiB, contract format, mixed services, 1 malformed line per 1 000), ${ROUNDS} rounds alternating, median shown. Same aggregation in every variant — record count and error counts by \`error.category\`, \`error.severity\`, \`error.code\` — checked to agree before timing; \`mem0-logs errors\` also computes top messages, trend, recovery and per-service counts. ${jqVersion}. CPU = the child's user + sys time (GNU time). Load average at start: ${load} (on 2 cores, wall-clock figures suffer most when it is high).`,
      '',
      '| variant | lines/s (wall) | lines/s (CPU) | speed vs jq -R (wall) | speed vs jq -R (CPU) |',
      '|---|---:|---:|---:|---:|',
      ...rows,
      '',
      `Target: faster than jq — ${speedup > 1 ? `**met**: ${speedup.toFixed(2)}× jq's rate by CPU time, ${(jqWall / oursWall).toFixed(2)}× by wall time` : `**missed**: ${speedup.toFixed(2)}× jq's rate by CPU time`}.`,
      '',
      'Reproduce: `npm run bench -w @mem0-stack/log-analysis` (BENCH_LINES, BENCH_ROUNDS to change the size).',
    ].join('\n');
    writeSection('log-analysis', '@mem0-stack/log-analysis — mem0-logs errors vs jq, lines per second', md);
    console.log(`\n${md}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
