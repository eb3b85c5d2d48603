#!/usr/bin/env node
// `npm run demo`: builds what is needed, starts the telemetry pipeline and the example
// memory service under the preload, seeds it, drives a short load and prints what a new
// user should look at. Every step has a deadline: the demo always exits by itself.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const serviceDir = join(root, 'examples', 'memory-service');
const require = createRequire(join(serviceDir, 'package.json'));
const env = process.env;
const DATABASE_URL = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/mem0_demo';
const REDIS_URL = env.REDIS_URL || 'redis://127.0.0.1:6379';
const BUILD_TIMEOUT_MS = Number(env.MEM0_DEMO_BUILD_TIMEOUT_MS) || 15 * 60_000;
const RUN_TIMEOUT_MS = Number(env.MEM0_DEMO_TIMEOUT_MS) || 170_000;
const LOAD_SECONDS = Number(env.MEM0_DEMO_LOAD_SECONDS) || 15;
const SEED_COUNT = Number(env.MEM0_DEMO_SEED) || 2000;
const SEED_USERS = 100;
const outDir = join(root, '.tmp', 'demo'); // .tmp/ is git-ignored

const tty = process.stdout.isTTY;
const c = (code, s) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (s) => c('1', s);
const dim = (s) => c('2', s);
const step = (s) => console.log(`\n${c('36', '▶')} ${bold(s)}`);
const ok = (s) => console.log(`  ${c('32', '✓')} ${s}`);
const warn = (s) => console.log(`  ${c('33', '!')} ${s}`);

const children = new Set();
let finished = false;

function killAll(signal = 'SIGKILL') {
  for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill(signal);
}
function fail(message, code = 1) {
  if (!finished) {
    finished = true;
    console.error(`\n${c('31', '✗')} ${message}`);
  }
  killAll();
  process.exit(code);
}
process.on('SIGINT', () => fail('interrupted', 130));
process.on('SIGTERM', () => fail('terminated', 143));
process.on('unhandledRejection', (err) => fail(`unexpected error: ${err?.stack ?? err}`));

/** Runs a command with inherited output and a hard deadline. */
function run(cmd, args, { timeoutMs, cwd = root, quiet = false } = {}) {
  return new Promise((resolve) => {
    const ch = spawn(cmd, args, { cwd, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', env });
    children.add(ch);
    let out = '';
    ch.stdout?.on('data', (d) => {
      out += d;
    });
    ch.stderr?.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => {
      ch.kill('SIGKILL');
      out += `\n(killed after ${Math.round(timeoutMs / 1000)} s)`;
    }, timeoutMs);
    ch.on('error', (err) => {
      out += String(err);
    });
    ch.on('close', (code) => {
      clearTimeout(timer);
      children.delete(ch);
      resolve({ code, out });
    });
  });
}

function tcpOpen(host, port, timeoutMs = 1500) {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (v) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function redisPing(url, timeoutMs = 1500) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (v) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
    s.once('error', () => done(false));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitHttp(url, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return r;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

function pct(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// ─────────────────────────────────────────────────────────────────────────────
const t0 = Date.now();
console.log(bold('mem0-stack demo') + dim(' — the example memory service under the OpenTelemetry preload'));

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 6))
  fail(`Node ${process.version} is too old: mem0-stack needs Node ≥ 20.6.`);
if (!existsSync(join(root, 'node_modules')))
  fail('node_modules is missing: run `npm ci` first (then `npm run demo`).');

// 1. Dependencies first: a missing database should fail in seconds, not after a build.
step('Checking PostgreSQL and Redis');
const pgUrl = new URL(DATABASE_URL);
const pgHost = pgUrl.hostname || '127.0.0.1';
const pgPort = Number(pgUrl.port || 5432);
const [pgUp, redisUp] = await Promise.all([tcpOpen(pgHost, pgPort), redisPing(REDIS_URL)]);
if (!pgUp || !redisUp) {
  const pgVersions = existsSync('/etc/postgresql') ? '$(ls /etc/postgresql)' : '<version>';
  console.log('');
  if (!pgUp) {
    warn(`PostgreSQL is not reachable at ${pgHost}:${pgPort} (DATABASE_URL=${DATABASE_URL}). Start it with:`);
    console.log(`      pg_ctlcluster --skip-systemctl-redirect ${pgVersions} main start`);
    console.log(
      dim('      (or: sudo systemctl start postgresql; or point DATABASE_URL at a running server)'),
    );
  }
  if (!redisUp) {
    warn(`Redis is not reachable at ${REDIS_URL}. Start it with:`);
    console.log('      redis-server --daemonize yes --port 6379 --save "" --appendonly no');
    console.log(dim('      (or point REDIS_URL at a running server)'));
  }
  fail('the demo needs PostgreSQL and Redis; start them as shown above and run `npm run demo` again.', 2);
}
ok(`PostgreSQL ${pgHost}:${pgPort} and Redis ${REDIS_URL} are reachable`);

// 2. Build (incremental: seconds after the first time).
step('Building the packages and the example service');
const build = await run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], {
  timeoutMs: BUILD_TIMEOUT_MS,
});
if (build.code !== 0)
  fail('the build failed (output above). Fix it, or run `npm run build` to see every error.');
ok('built');

const collectorBin = join(root, 'collector', '_build', 'otelcol-mem0');
if (!existsSync(collectorBin) && existsSync(join(root, 'collector', 'build.sh'))) {
  const go = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).stdout.trim();
  if (go) {
    step('Building the OpenTelemetry Collector (first run only; uses Go and the module proxy)');
    const r = await run('sh', [join(root, 'collector', 'build.sh')], { timeoutMs: 10 * 60_000, quiet: true });
    if (r.code === 0 && existsSync(collectorBin)) ok(`collector built: ${relative(root, collectorBin)}`);
    else
      warn(
        `collector build failed; continuing with the local OTLP sink.\n${dim(r.out.split('\n').slice(-8).join('\n'))}`,
      );
  } else warn('Go is not installed: skipping the collector build (the demo uses a local OTLP sink instead).');
}

// The run phase has its own deadline: whatever happens, we stop and exit.
const runDeadline = setTimeout(
  () => fail(`the demo did not finish within ${RUN_TIMEOUT_MS / 1000} s; stopped.`),
  RUN_TIMEOUT_MS,
);
runDeadline.unref();
mkdirSync(outDir, { recursive: true });

// 3. Telemetry backend: the real collector when built, else an in-process OTLP sink.
step('Starting the telemetry pipeline');
let otlpEndpoint;
let telemetry = { kind: 'none', describe: [] };
let sink;
if (existsSync(collectorBin)) {
  const otlpPort = await freePort();
  const healthPort = await freePort();
  const traceFile = join(outDir, 'collector-traces.json');
  const logFile = join(outDir, 'collector-logs.json');
  const cfg = join(outDir, 'otelcol-demo.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    cfg,
    `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlpPort}
exporters:
  file/traces:
    path: ${traceFile}
  file/logs:
    path: ${logFile}
  debug:
    verbosity: basic
extensions:
  health_check:
    endpoint: 127.0.0.1:${healthPort}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file/traces]
    logs:
      receivers: [otlp]
      exporters: [file/logs]
    metrics:
      receivers: [otlp]
      exporters: [debug]
`,
  );
  const log = createWriteStream(join(outDir, 'collector.log'));
  const col = spawn(collectorBin, ['--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(col);
  col.stdout.pipe(log);
  col.stderr.pipe(log);
  try {
    await waitHttp(`http://127.0.0.1:${healthPort}/`, 20_000, 'the collector');
    otlpEndpoint = `http://127.0.0.1:${otlpPort}`;
    telemetry = {
      kind: 'collector',
      describe: [
        `collector: ${relative(root, collectorBin)} (config ${relative(root, cfg)}), OTLP/HTTP on ${otlpEndpoint}`,
        `traces written by the collector: ${relative(root, traceFile)}`,
        `logs written by the collector:   ${relative(root, logFile)}`,
      ],
    };
    ok(`collector running (OTLP/HTTP ${otlpEndpoint})`);
  } catch (err) {
    col.kill('SIGKILL');
    warn(
      `${err.message}; see ${relative(root, join(outDir, 'collector.log'))}. Falling back to the local OTLP sink.`,
    );
  }
} else {
  warn(
    `no collector binary at ${relative(root, collectorBin)} (build it with collector/build.sh, needs Go): using a local OTLP sink instead.`,
  );
}
if (!otlpEndpoint) {
  try {
    const { startOtlpSink } = require('@mem0-stack/testkit');
    sink = await startOtlpSink();
    otlpEndpoint = sink.url;
    telemetry = { kind: 'sink', describe: [`local OTLP/HTTP sink (in the demo process) on ${sink.url}`] };
    ok(`local OTLP sink on ${sink.url}`);
  } catch (err) {
    warn(`could not start the local OTLP sink (${err.message}); telemetry export is off for this run.`);
  }
}

// 4. The service, under the preload when the otel package provides it.
step('Starting the memory service');
let preload = [];
try {
  require.resolve('@mem0-stack/otel/register');
  preload = ['--require', '@mem0-stack/otel/register'];
} catch {
  warn('@mem0-stack/otel/register is not available yet: the service runs WITHOUT the preload (no traces).');
}
await ensureDatabase();
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const serviceLogPath = join(outDir, 'service.log');
const serviceLog = createWriteStream(serviceLogPath);
const svc = spawn(process.execPath, [...preload, 'dist/server.js'], {
  cwd: serviceDir,
  stdio: ['ignore', 'pipe', 'pipe'],
  env: {
    ...env,
    PORT: String(port),
    DATABASE_URL,
    REDIS_URL,
    OTEL_SERVICE_NAME: env.OTEL_SERVICE_NAME || 'memory-service',
    OTEL_RESOURCE_ATTRIBUTES: env.OTEL_RESOURCE_ATTRIBUTES || 'deployment.environment=demo',
    ...(otlpEndpoint
      ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }
      : {}),
    OTEL_METRIC_EXPORT_INTERVAL: '5000',
    OTEL_BSP_SCHEDULE_DELAY: '500',
    OTEL_BLRP_SCHEDULE_DELAY: '500',
  },
});
children.add(svc);
let serviceOut = '';
svc.stdout.on('data', (d) => {
  serviceOut += d;
  serviceLog.write(d);
});
svc.stderr.on('data', (d) => serviceLog.write(d));
svc.on('exit', (code, signal) => {
  if (!finished && !stopping)
    fail(`the service exited unexpectedly (${signal ?? code}); see ${relative(root, serviceLogPath)}`);
});
let stopping = false;
try {
  await waitHttp(`${base}/healthz`, 30_000, 'the service');
} catch (err) {
  fail(`${err.message}; last output:\n${serviceOut.split('\n').slice(-10).join('\n')}`);
}
const ready = await (await fetch(`${base}/readyz`)).json();
ok(
  `listening on ${base} (${preload.length ? 'with' : 'without'} the preload); readiness: ${JSON.stringify(ready)}`,
);

// 5. Seed through the API, so creation is traced and logged like real traffic.
step(`Seeding ${SEED_COUNT} memories for ${SEED_USERS} users through the API`);
const { generateMemories, zipf, createRandom, userId, SEARCH_TERMS } = require('./dist/dataset.js');
{
  const items = [...generateMemories({ count: SEED_COUNT, users: SEED_USERS, seed: Date.now() % 100000 })];
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < items.length) {
      const m = items[next++];
      const r = await fetch(`${base}/v1/memories`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(m),
      }).catch(() => undefined);
      if (r?.status !== 201) failed++;
      await r?.arrayBuffer().catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  if (failed > 0) warn(`${failed} of ${items.length} creates failed`);
  ok(`${items.length - failed} memories created`);
}

// 6. Load: 90% reads (Zipf over users), 10% writes, with a progress bar.
step(`Driving ${LOAD_SECONDS} s of load (autocannon, 20 connections, 90% reads / 10% writes)`);
const before = await (await fetch(`${base}/internal/stats`)).json();
const autocannon = require('autocannon');
const random = createRandom(11);
const pickUser = zipf(SEED_USERS, 1.1, random);
const latencies = [];
const result = await new Promise((resolve, reject) => {
  const inst = autocannon(
    {
      url: base,
      connections: 20,
      duration: LOAD_SECONDS,
      requests: [
        {
          setupRequest: (req) => {
            const u = userId(pickUser());
            const r = random();
            if (r < 0.1) {
              return {
                ...req,
                method: 'POST',
                path: '/v1/memories',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({
                  user_id: u,
                  content: `demo load note ${Math.floor(random() * 1e6)} about green tea`,
                }),
              };
            }
            if (r < 0.35) {
              const q = SEARCH_TERMS[Math.floor(random() * SEARCH_TERMS.length)];
              return { ...req, method: 'GET', path: `/v1/memories/search?user_id=${u}&q=${q}&limit=10` };
            }
            return { ...req, method: 'GET', path: `/v1/memories?user_id=${u}&limit=20` };
          },
        },
      ],
    },
    (err, res) => (err ? reject(err) : resolve(res)),
  );
  const started = Date.now();
  const width = 30;
  const timer = setInterval(() => {
    const f = Math.min(1, (Date.now() - started) / (LOAD_SECONDS * 1000));
    const bar = '█'.repeat(Math.round(f * width)).padEnd(width, '░');
    const line = `  [${bar}] ${Math.round(f * 100)}%`;
    if (tty) process.stdout.write(`\r${line}`);
    else if (Math.round(f * 100) % 25 === 0) console.log(line);
  }, 500);
  inst.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  inst.on('done', () => {
    clearInterval(timer);
    if (tty) process.stdout.write('\n');
  });
});
const after = await (await fetch(`${base}/internal/stats`)).json();

// 7. One traced request to follow end to end.
const sampleUser = userId(0);
const sample = await fetch(`${base}/v1/memories/search?user_id=${sampleUser}&q=tea`);
const sampleId = sample.headers.get('x-correlation-id');
const traceResponse = sample.headers.get('traceresponse');
await sample.arrayBuffer();
await sleep(1500); // let the batch processors export

// 8. Summary.
const hits = (after.cache?.hits ?? 0) - (before.cache?.hits ?? 0);
const misses = (after.cache?.misses ?? 0) - (before.cache?.misses ?? 0);
const queries = (after.db?.queries ?? 0) - (before.db?.queries ?? 0);
latencies.sort((a, b) => a - b);
const p = (q) => pct(latencies, q).toFixed(1);
console.log(`\n${bold('Results')}`);
console.log(
  `  requests served     ${result.requests.total} in ${result.duration} s (${Math.round(result.requests.average)} req/s), errors ${result.errors}, non-2xx ${result.non2xx}`,
);
console.log(`  latency             p50 ${p(50)} ms · p95 ${p(95)} ms · p99 ${p(99)} ms`);
if (after.cache?.enabled) {
  const rate = hits + misses > 0 ? (100 * hits) / (hits + misses) : 0;
  console.log(`  cache hit rate      ${rate.toFixed(1)}% (${hits} hits, ${misses} misses)`);
  console.log(`  DB queries saved    ${hits} (${queries} queries ran for ${result.requests.total} requests)`);
} else {
  console.log(
    '  cache               off (the cache package is not wired in yet): every read went to PostgreSQL',
  );
  console.log(`  DB queries          ${queries} for ${result.requests.total} requests`);
}

console.log(`\n${bold('Follow one request')}`);
console.log(`  GET /v1/memories/search?user_id=${sampleUser}&q=tea`);
console.log(`  x-correlation-id: ${sampleId}${traceResponse ? `   traceresponse: ${traceResponse}` : ''}`);
const lines = serviceOut.split('\n').filter((l) => sampleId && l.includes(sampleId));
if (lines.length) {
  console.log(`  its log lines (${lines.length}):`);
  for (const l of lines.slice(0, 8)) console.log(`    ${dim(l.length > 300 ? `${l.slice(0, 300)}…` : l)}`);
} else console.log(dim('  (no log line carried it: request logging is not wired in yet)'));
if (sink && sampleId) {
  const spans = sink.spans().filter((s) => s.traceId === sampleId);
  if (spans.length) console.log(`  spans in that trace: ${spans.map((s) => s.name).join(', ')}`);
}

console.log(`\n${bold('Where to look')}`);
console.log(`  service logs (JSON lines):  ${relative(root, serviceLogPath)}`);
for (const d of telemetry.describe) console.log(`  ${d}`);
if (await tcpOpen('127.0.0.1', 3000, 300)) {
  console.log(
    '  Grafana:  http://127.0.0.1:3000  (Explore → Tempo: search the trace id above; Loki: {service_name="memory-service"})',
  );
} else {
  console.log(
    dim(
      '  Grafana/Tempo/Loki: start the full stack with `docker compose -f collector/docker-compose.yaml up -d`, then re-run.',
    ),
  );
}
console.log(
  `  analyse the logs:           npx mem0-logs correlate ${sampleId ?? '<id>'} ${relative(root, serviceLogPath)}`,
);

// 9. Stop everything, gracefully first.
stopping = true;
svc.kill('SIGTERM');
const exited = await Promise.race([
  new Promise((r) => svc.once('exit', () => r(true))),
  sleep(12_000).then(() => false),
]);
if (!exited) warn('the service did not stop within 12 s; killed.');
await sink?.close();
killAll('SIGTERM');
finished = true;
clearTimeout(runDeadline);
console.log(`\n${c('32', 'done')} in ${Math.round((Date.now() - t0) / 1000)} s.`);
process.exit(0);

async function ensureDatabase() {
  const pg = require('pg');
  const admin = new URL(DATABASE_URL);
  const name = decodeURIComponent(admin.pathname.slice(1)) || 'mem0_demo';
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      ok(`created database ${name}`);
    }
  } catch (err) {
    fail(`could not prepare database ${name}: ${err.message}`);
  } finally {
    await client.end().catch(() => {});
  }
}
