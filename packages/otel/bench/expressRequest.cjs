/**
 * Cost per request of an express 5 app (bench/express-app.cjs: request id, on-finished logger,
 * JSON body parser, a router mounted under /api) under the preload, side by side. Every
 * variant's server runs at once; they are measured in turns of BENCH_WINDOW requests, the order
 * rotating each turn, and the ratio of two variants in the same turn cancels most of the
 * machine's drift. The load generator (this process) is not counted. Two measures:
 *
 * - CPU time (default): each server's own process.cpuUsage() before and after its turn. Honest
 *   but noisy on a shared machine (the kernel's network work is most of it).
 * - Instructions (BENCH_CALLGRIND=1): each server runs under `valgrind --tool=callgrind`, its
 *   counters zeroed before its turn and dumped after (callgrind_control), so the figure is the
 *   instructions the server process executed per request, all threads (JIT, GC) included:
 *   independent of the machine's load, but ~50× slower, so use small windows.
 *
 *   node packages/otel/bench/expressRequest.cjs
 *   BENCH_BASELINE=.tmp/otel-baseline node packages/otel/bench/expressRequest.cjs
 *   BENCH_CALLGRIND=1 BENCH_ROUNDS=1 BENCH_TURNS=3 BENCH_WINDOW=300 BENCH_WARMUP=1000 \
 *     BENCH_BASELINE=.tmp/otel-baseline node packages/otel/bench/expressRequest.cjs
 *
 * Variants: `none` (no preload), `otel` (this build's `--require @mem0-stack/otel/register`),
 * and `baseline` (`<BENCH_BASELINE>/dist/register.js`) when BENCH_BASELINE is set (several:
 * BENCH_BASELINE=old=<dir>,mid=<dir> names them `old` and `mid`); a baseline
 * is e.g. `cp -a packages/otel/dist packages/otel/package.json .tmp/otel-baseline/` from an
 * older checkout (a directory inside the repository, so it resolves the same node_modules).
 * BENCH_ROUNDS (2; fresh servers each), BENCH_TURNS (10 per round), BENCH_WINDOW (1000
 * requests), BENCH_WARMUP (2000), BENCH_CONCURRENCY (8); BENCH_CPU_PROF=<dir> writes a V8 CPU
 * profile per server. Each server collects its garbage (gc()) before each turn. Exporters are
 * off (OTEL_*_EXPORTER=none): spans are still created, sampled and ended.
 */
const { execFile, spawn } = require('node:child_process');
const { mkdtempSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const http = require('node:http');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TURNS = Number(process.env.BENCH_TURNS ?? 10);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 1000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PROF = process.env.BENCH_CPU_PROF;
const CALLGRIND = process.env.BENCH_CALLGRIND === '1';
const APP = join(__dirname, 'express-app.cjs');
const unit = CALLGRIND ? 'instructions' : 'µs CPU';

const variants = [
  { id: 'none', args: [] },
  { id: 'otel', args: ['--require', require.resolve('@mem0-stack/otel/register')] },
];
// BENCH_BASELINE=<dir> or <label>=<dir>,<label>=<dir>,…
for (const spec of (process.env.BENCH_BASELINE ?? '').split(',').filter(Boolean)) {
  const eq = spec.indexOf('=');
  const id = eq === -1 ? 'baseline' : spec.slice(0, eq);
  const dir = eq === -1 ? spec : spec.slice(eq + 1);
  variants.push({ id, args: ['--require', join(resolve(dir), 'dist', 'register.js')] });
}
const baselines = variants.slice(2).map((v) => v.id);

const env = {
  ...process.env,
  OTEL_TRACES_EXPORTER: 'none',
  OTEL_METRICS_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
  OTEL_LOG_LEVEL: 'error',
  OTEL_SERVICE_NAME: 'express-bench',
};
const cgDir = CALLGRIND ? mkdtempSync(join(tmpdir(), 'express-bench-cg-')) : undefined;

function startServer(variant, round) {
  const nodeArgs = ['--expose-gc', ...variant.args];
  if (PROF) {
    nodeArgs.push(
      '--cpu-prof',
      '--cpu-prof-dir',
      PROF,
      '--cpu-prof-name',
      `${variant.id}-${round}.cpuprofile`,
    );
  }
  nodeArgs.push(APP);
  const stdio = ['ignore', 'inherit', 'inherit', 'ipc'];
  const child = CALLGRIND
    ? spawn(
        'valgrind',
        [
          '--tool=callgrind',
          '--smc-check=all-non-file',
          '--quiet',
          `--callgrind-out-file=${join(cgDir, `${variant.id}-${round}.%p`)}`,
          process.execPath,
          ...nodeArgs,
        ],
        { env, stdio },
      )
    : spawn(process.execPath, nodeArgs, { env, stdio });
  const replies = [];
  let waiting;
  child.on('message', (m) => {
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(m);
    } else replies.push(m);
  });
  const next = () =>
    new Promise((r) => {
      const m = replies.shift();
      if (m !== undefined) r(m);
      else waiting = r;
    });
  return { child, next, dumps: 0 };
}

const body = JSON.stringify({ name: 'widget', tags: ['a', 'b'], size: 3 });

function send(agent, port, i) {
  return new Promise((resolveReq, reject) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/items/${i % 100}`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolveReq() : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function load(port, count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let issued = 0;
  const worker = async () => {
    while (issued < count) await send(agent, port, issued++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
}

async function start(variant, round) {
  const server = startServer(variant, round);
  const { port } = await server.next();
  await load(port, WARMUP);
  return { ...server, port, variant, round };
}

function callgrindTotal(server) {
  server.dumps++;
  const name = `${server.variant.id}-${server.round}.${server.child.pid}.${server.dumps}`;
  const file = readdirSync(cgDir).find((f) => f === name);
  if (!file) throw new Error(`no callgrind dump ${name}`);
  const m = /^totals:\s+(\d+)/m.exec(readFileSync(join(cgDir, file), 'utf8'));
  if (!m) throw new Error(`no totals in ${name}`);
  return Number(m[1]);
}

/**
 * callgrind reads control commands only while the process runs, and an idle server sleeps:
 * ping it over IPC until the command is through (a timer in the server would add its own
 * wake-ups, more of them the slower the machine, to the measured turn).
 */
async function callgrindControl(server, command) {
  const ctl = execFile('callgrind_control', [command, String(server.child.pid)]);
  const ping = setInterval(() => server.child.send('ping'), 20);
  try {
    await new Promise((ok, fail) =>
      ctl.on('exit', (code) =>
        code === 0 ? ok() : fail(new Error(`callgrind_control ${command}: ${code}`)),
      ),
    );
  } finally {
    clearInterval(ping);
  }
}

async function turn(server) {
  server.child.send('gc');
  await server.next();
  server.child.send('cpu');
  const before = await server.next();
  if (CALLGRIND) await callgrindControl(server, '--zero');
  await load(server.port, WINDOW);
  if (CALLGRIND) await callgrindControl(server, '--dump');
  server.child.send('cpu');
  const after = await server.next();
  if (after.finished - before.finished !== WINDOW) throw new Error(`${server.variant.id}: requests lost`);
  return CALLGRIND ? callgrindTotal(server) / WINDOW : (after.cpuMicros - before.cpuMicros) / WINDOW;
}

async function stop(server) {
  server.child.send('exit');
  await new Promise((r) => server.child.once('exit', r));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const num = (x) => (CALLGRIND ? Math.round(x).toLocaleString('en') : x.toFixed(1));

(async () => {
  const per = Object.fromEntries(variants.map((v) => [v.id, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const servers = [];
    for (const v of variants) servers.push(await start(v, r));
    for (let t = 0; t < TURNS; t++) {
      // Rotate the order so no variant always runs first after another's turn.
      for (let k = 0; k < servers.length; k++) {
        const server = servers[(t + k) % servers.length];
        per[server.variant.id].push(await turn(server));
      }
    }
    for (const server of servers) await stop(server);
    process.stderr.write(`round ${r + 1}/${ROUNDS} done\n`);
  }
  const n = ROUNDS * TURNS;
  const fmt = (xs) => `${num(median(xs))} (${num(Math.min(...xs))}–${num(Math.max(...xs))})`;
  console.log(`server ${unit} per request, median (min–max) of ${n} turns × ${WINDOW} requests:`);
  for (const v of variants) console.log(`  ${v.id.padEnd(9)} ${fmt(per[v.id])}`);
  console.log('per turn:');
  for (const v of variants) console.log(`  ${v.id.padEnd(9)} ${per[v.id].map(num).join(' ')}`);
  const ratios = (a, b) => per[a].map((x, i) => x / per[b][i]);
  const quartiles = (xs) => {
    const s = [...xs].sort((x, y) => x - y);
    return `${s[Math.floor((s.length - 1) / 4)].toFixed(3)}–${s[Math.ceil(((s.length - 1) * 3) / 4)].toFixed(3)}`;
  };
  const show = (a, b) => {
    const rs = ratios(a, b);
    console.log(`  ${a}/${b}: median ${median(rs).toFixed(3)}, interquartile ${quartiles(rs)}`);
  };
  console.log('paired ratios, same turn:');
  show('otel', 'none');
  // The preload's own share: what each adds over no preload in the same turn.
  const added = (id) => per[id].map((x, i) => x - per.none[i]);
  for (const b of baselines) {
    show(b, 'none');
    show('otel', b);
    const x = added('otel');
    const y = added(b);
    console.log(
      `  added over none (median of turns): otel ${num(median(x))}, ${b} ${num(median(y))}, ratio ${median(x.map((v, i) => v / y[i])).toFixed(3)}`,
    );
  }
  if (cgDir) rmSync(cgDir, { recursive: true, force: true });
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
