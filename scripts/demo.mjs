#!/usr/bin/env node
// `npm run demo`: builds what is needed, starts the telemetry pipeline and the example memory
// service under the preload, seeds it, drives a short load and prints what a new user should
// look at. Every step has a deadline and every child is stopped on the way out: the demo always
// ends by itself. Options: --keep (leave everything running until Ctrl-C), --help.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const serviceDir = join(root, 'examples', 'memory-service');
const require = createRequire(join(serviceDir, 'package.json'));
const env = process.env;
const args = new Set(process.argv.slice(2));
if (args.has('--help') || args.has('-h')) {
  console.log(`Usage: npm run demo [-- --keep]

Builds the packages and the example service, starts an OpenTelemetry Collector (built with Go on
first use) and the memory service under the preload, seeds data, drives ${Number(env.MEM0_DEMO_LOAD_SECONDS) || 15} s of load and prints
latency, cache and correlation results.

  --keep   leave the service and the collector running after the summary (Ctrl-C stops them)

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/mem0_demo), REDIS_URL
(default redis://127.0.0.1:6379), MEM0_DEMO_LOAD_SECONDS, MEM0_DEMO_SEED (memories to create),
MEM0_DEMO_CONNECTIONS, MEM0_DEMO_SKIP_COLLECTOR_BUILD=1.`);
  process.exit(0);
}
const KEEP = args.has('--keep');
const DATABASE_URL = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/mem0_demo';
const REDIS_URL = env.REDIS_URL || 'redis://127.0.0.1:6379';
const BUILD_TIMEOUT_MS = Number(env.MEM0_DEMO_BUILD_TIMEOUT_MS) || 15 * 60_000;
const RUN_TIMEOUT_MS = Number(env.MEM0_DEMO_TIMEOUT_MS) || 170_000;
const LOAD_SECONDS = Number(env.MEM0_DEMO_LOAD_SECONDS) || 15;
const CONNECTIONS = Number(env.MEM0_DEMO_CONNECTIONS) || 20;
const SEED_COUNT = Number(env.MEM0_DEMO_SEED) || 1500;
const SEED_USERS = 100;
const outDir = join(root, '.tmp', 'demo'); // .tmp/ is git-ignored
const rel = (p) => relative(process.cwd(), p) || '.';

const tty = process.stdout.isTTY;
const c = (code, s) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (s) => c('1', s);
const dim = (s) => c('2', s);
const step = (s) => console.log(`\n${c('36', '▶')} ${bold(s)}`);
const ok = (s) => console.log(`  ${c('32', '✓')} ${s}`);
const warn = (s) => console.log(`  ${c('33', '!')} ${s}`);

// Everything started here, stopped on every way out (children, the collectors, the sink).
const children = new Set();
const stoppers = [];
let finished = false;

function killAll(signal = 'SIGKILL') {
  for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill(signal);
}
// Last started, first stopped: the service flushes into the collector, the collector into its
// Tempo/Loki stand-in, which is stopped (and its files kept) last.
async function stopAll() {
  for (const stop of stoppers.splice(0).reverse()) {
    await Promise.race([
      Promise.resolve()
        .then(stop)
        .catch(() => {}),
      new Promise((r) => setTimeout(r, 8000)),
    ]);
  }
  killAll();
}
let failing = false;
/** Reports, stops everything and exits; the returned promise never settles (`await fail(…)`). */
function fail(message, code = 1) {
  if (!finished) {
    finished = true;
    console.error(`\n${c('31', '✗')} ${message}`);
  }
  // Once: a later error (the main flow runs on while the children stop) must not start a second
  // stopAll, which finds nothing left to wait for and exits while the first is still stopping.
  if (failing) return new Promise(() => {});
  failing = true;
  // Bounded: whatever is stuck, the process ends within seconds.
  setTimeout(() => {
    killAll();
    process.exit(code);
  }, 9000).unref();
  stopAll().finally(() => process.exit(code));
  return new Promise(() => {});
}
process.on('SIGINT', () => {
  if (failing) {
    // A second Ctrl-C: do not wait for the graceful stop.
    killAll();
    process.exit(130);
  }
  return KEEP && finished ? stopAll().finally(() => process.exit(0)) : fail('interrupted', 130);
});
process.on('SIGTERM', () => fail('terminated', 143));
process.on('unhandledRejection', (err) => fail(`unexpected error: ${err?.stack ?? err}`));
// A rejected top-level `await` is an uncaught exception, not an unhandled rejection: without
// this, Node prints the stack and exits at once, leaving the service running.
process.on('uncaughtException', (err) => fail(`unexpected error: ${err?.stack ?? err}`));

/** Runs a command with a hard deadline; output shown live, or kept for the error message. */
function run(cmd, argv, { timeoutMs, cwd = root, quiet = false } = {}) {
  return new Promise((resolve) => {
    const ch = spawn(cmd, argv, { cwd, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', env });
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

/**
 * The compose stack answers as Grafana on 3000 and as an OTLP/HTTP receiver on 4318; an open
 * port alone (a dev server on 3000, anything on 4318) is not it.
 */
async function composeStackUp() {
  if (!(await tcpOpen('127.0.0.1', 3000, 300)) || !(await tcpOpen('127.0.0.1', 4318, 300))) return false;
  try {
    const grafana = await fetch('http://127.0.0.1:3000/api/health', { signal: AbortSignal.timeout(1000) });
    const health = await grafana.json().catch(() => undefined);
    if (!grafana.ok || typeof health?.database !== 'string') return false;
    const otlp = await fetch('http://127.0.0.1:4318/v1/traces', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(1000),
    });
    await otlp.arrayBuffer();
    return otlp.ok;
  } catch {
    return false;
  }
}

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

async function getJson(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return r.json();
}

function pct(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function bar(fraction, width = 30) {
  const f = Math.max(0, Math.min(1, fraction));
  return `[${'█'.repeat(Math.round(f * width)).padEnd(width, '░')}] ${String(Math.round(f * 100)).padStart(3)}%`;
}

/** A progress line that redraws in a terminal and prints at quarters otherwise. */
function progress(label) {
  let lastQuarter = -1;
  return {
    update(fraction, extra = '') {
      if (tty) process.stdout.write(`\r  ${bar(fraction)} ${label} ${extra}   `);
      else {
        const q = Math.floor(Math.min(1, fraction) * 4);
        if (q > lastQuarter) {
          lastQuarter = q;
          console.log(`  ${bar(q / 4)} ${label} ${extra}`);
        }
      }
    },
    done() {
      if (tty) process.stdout.write('\n');
    },
  };
}

// ─────────────────────────────────────────────────────────────────────────────
const t0 = Date.now();
console.log(
  `${bold('mem0-stack demo')}${dim(' — the example memory service under the OpenTelemetry preload')}`,
);

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 6))
  await fail(`Node ${process.version} is too old: mem0-stack needs Node ≥ 20.6.`);
if (!existsSync(join(root, 'node_modules')))
  await fail('node_modules is missing: run `npm ci` first (then `npm run demo`).');

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
    warn(
      `PostgreSQL is not reachable at ${pgHost}:${pgPort} (DATABASE_URL=${DATABASE_URL}). Start it with one of:`,
    );
    console.log(
      `      sudo pg_ctlcluster --skip-systemctl-redirect ${pgVersions} main start   # Debian/Ubuntu`,
    );
    console.log('      sudo systemctl start postgresql');
    console.log(
      '      docker run -d --name mem0-pg -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16',
    );
    console.log(dim('      (or point DATABASE_URL at a running server; the demo creates its database)'));
  }
  if (!redisUp) {
    warn(`Redis is not reachable at ${REDIS_URL}. Start it with one of:`);
    console.log('      redis-server --daemonize yes --port 6379 --save "" --appendonly no');
    console.log('      docker run -d --name mem0-redis -p 6379:6379 redis:7');
    console.log(dim('      (or point REDIS_URL at a running server)'));
  }
  await fail(
    'the demo needs PostgreSQL and Redis; start them as shown above and run `npm run demo` again.',
    2,
  );
}
ok(`PostgreSQL ${pgHost}:${pgPort} and Redis ${REDIS_URL} are reachable`);

// 2. Build the service and the packages it uses (incremental: seconds after the first time).
step('Building the example service and the packages it uses');
const build = await run(
  'npx',
  // memory-service... = the service and every package it depends on; log-analysis for the
  // `mem0-logs` commands printed at the end.
  [
    'turbo',
    'run',
    'build',
    '--filter=memory-service...',
    '--filter=@mem0-stack/log-analysis',
    '--output-logs=errors-only',
  ],
  {
    timeoutMs: BUILD_TIMEOUT_MS,
  },
);
if (build.code !== 0)
  await fail('the build failed (output above). Fix it, or run `npm run build` to see every error.');
ok('built');

const collectorBin = join(root, 'collector', '_build', 'otelcol-mem0');
const collectorMissing = !existsSync(collectorBin);
if (
  (collectorMissing || collectorStale()) &&
  existsSync(join(root, 'collector', 'build.sh')) &&
  !env.MEM0_DEMO_SKIP_COLLECTOR_BUILD
) {
  const go = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).stdout.trim();
  if (go) {
    step(
      collectorMissing
        ? 'Building the OpenTelemetry Collector with ocb (first run only: a few minutes)'
        : 'Rebuilding the OpenTelemetry Collector: collector/builder-config.yaml changed since its build',
    );
    const started = Date.now();
    const ticker = setInterval(() => {
      if (tty) process.stdout.write(`\r  … ${Math.round((Date.now() - started) / 1000)} s`);
    }, 1000);
    const r = await run('bash', [join(root, 'collector', 'build.sh')], {
      timeoutMs: 15 * 60_000,
      quiet: true,
    });
    clearInterval(ticker);
    if (tty) process.stdout.write('\n');
    if (r.code === 0 && existsSync(collectorBin)) ok(`collector built: ${rel(collectorBin)}`);
    else
      warn(
        `the collector build failed; continuing with ${existsSync(collectorBin) ? 'the previous binary' : 'a local OTLP sink'}.\n${dim(r.out.split('\n').slice(-8).join('\n'))}`,
      );
  } else if (collectorMissing)
    warn('Go is not installed: skipping the collector build (a local OTLP sink stands in for it).');
}

// The run phase has its own deadline: whatever happens, we stop and exit.
const runDeadline = setTimeout(
  () => fail(`the demo did not finish within ${RUN_TIMEOUT_MS / 1000} s; stopped.`),
  RUN_TIMEOUT_MS,
);
runDeadline.unref();
mkdirSync(outDir, { recursive: true });
const testkit = require('@mem0-stack/testkit');

// 3. Telemetry: the compose stack's collector when it runs, else the shipped collector config
// with a second collector standing in for Tempo and Loki, else an in-process OTLP sink.
step('Starting the telemetry pipeline');
let otlpEndpoint;
let backend; // { kind, spans(), logs(), raw?(), describe[] }
const grafanaUp = await composeStackUp();
if (grafanaUp) {
  otlpEndpoint = 'http://127.0.0.1:4318';
  backend = { kind: 'compose', describe: ['collector of the compose stack: OTLP/HTTP on 127.0.0.1:4318'] };
  ok('the compose stack (collector/docker-compose.yaml) is running: exporting to its collector');
} else if (existsSync(collectorBin)) {
  try {
    const tempo = await testkit.startCollectorSink();
    stoppers.push(async () => {
      // Keep what "Tempo" and "Loki" received: the sink's directory goes away with it.
      for (const [from, to] of [
        ['traces.jsonl', 'tempo-traces.jsonl'],
        ['logs.jsonl', 'loki-logs.jsonl'],
      ])
        if (existsSync(join(tempo.dir, from))) copyFileSync(join(tempo.dir, from), join(outDir, to));
      await tempo.cleanup();
    });
    const col = await testkit.startCollector({
      env: {
        TEMPO_ENDPOINT: tempo.otlpGrpcEndpoint,
        LOKI_ENDPOINT: tempo.otlpHttpUrl,
        // No Prometheus here: metrics go to the collector's debug exporter only.
        OTELCOL_METRICS_EXPORTERS: '[debug]',
        OTELCOL_SPANMETRICS_FLUSH_INTERVAL: '5s',
        DEPLOYMENT_ENVIRONMENT: 'demo',
      },
    });
    stoppers.push(async () => {
      writeFileSync(join(outDir, 'collector.log'), col.output());
      await col.cleanup();
    });
    otlpEndpoint = col.otlpHttpUrl;
    backend = {
      kind: 'collector',
      spans: () => tempo.spans(),
      logs: () => tempo.logs(),
      raw: () => tempo.raw('traces'),
      describe: [
        `collector: ${rel(collectorBin)} with the shipped ${rel(join(root, 'collector', 'otelcol-config.yaml'))}`,
        `  (memory limiter, health-check filter, normalisation, redaction, span metrics), OTLP/HTTP ${otlpEndpoint}`,
        `what Tempo received (OTLP JSON lines): ${rel(join(outDir, 'tempo-traces.jsonl'))}`,
        `what Loki received (OTLP JSON lines):  ${rel(join(outDir, 'loki-logs.jsonl'))}`,
        KEEP
          ? `span metrics (RED, Prometheus format): http://${col.prometheusExporterTarget}/metrics`
          : 'span metrics (RED, Prometheus format) and the live service: run with `npm run demo -- --keep`',
        `collector's own log: ${rel(join(outDir, 'collector.log'))}`,
      ],
    };
    ok(
      `collector running with the shipped config (OTLP/HTTP ${otlpEndpoint}); a second one stands in for Tempo and Loki`,
    );
  } catch (err) {
    warn(`could not start the collector (${err.message}); falling back to the local OTLP sink.`);
    await stopAll();
  }
} else {
  warn(
    `no collector binary at ${rel(collectorBin)} (collector/build.sh builds it; needs Go): using a local OTLP sink.`,
  );
}
if (!otlpEndpoint) {
  const sink = await testkit.startOtlpSink();
  stoppers.push(() => sink.close());
  otlpEndpoint = sink.url;
  backend = {
    kind: 'sink',
    spans: () => sink.spans(),
    logs: () => sink.logs(),
    describe: [`local OTLP/HTTP sink in the demo process on ${sink.url} (no collector)`],
  };
  ok(`local OTLP sink on ${sink.url}`);
}

// 4. The service, under the preload.
step('Starting the memory service under the preload');
let preload = [];
try {
  require.resolve('@mem0-stack/otel/register');
  preload = ['--require', '@mem0-stack/otel/register'];
} catch {
  warn('@mem0-stack/otel/register is not built: the service runs WITHOUT the preload (no traces).');
}
await prepareDatabase();
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const cachePrefix = `memory-service-demo:${Date.now().toString(36)}:`;
const serviceLogPath = join(outDir, 'service.log');
const serviceErrPath = join(outDir, 'service.stderr.log');
const serviceLog = createWriteStream(serviceLogPath);
const serviceErr = createWriteStream(serviceErrPath);
const svc = spawn(process.execPath, [...preload, 'dist/server.js'], {
  cwd: serviceDir,
  stdio: ['ignore', 'pipe', 'pipe'],
  env: {
    ...env,
    PORT: String(port),
    DATABASE_URL,
    REDIS_URL,
    MEM0_CACHE_PREFIX: cachePrefix,
    MEM0_SLOW_QUERY_MS: env.MEM0_SLOW_QUERY_MS || '100',
    OTEL_SERVICE_NAME: env.OTEL_SERVICE_NAME || 'memory-service',
    OTEL_RESOURCE_ATTRIBUTES: env.OTEL_RESOURCE_ATTRIBUTES || 'deployment.environment=demo',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
    // The in-process sink reads JSON; the collector takes either.
    ...(backend.kind === 'sink' ? { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } : {}),
    OTEL_METRIC_EXPORT_INTERVAL: '5000',
    OTEL_METRIC_EXPORT_TIMEOUT: '4000',
    OTEL_BSP_SCHEDULE_DELAY: '500',
    OTEL_BLRP_SCHEDULE_DELAY: '500',
  },
});
children.add(svc);
let serviceOut = '';
let stopping = false;
svc.stdout.on('data', (d) => {
  // Keep the tail only: the full log is in the file.
  serviceOut = (serviceOut + d).slice(-8 * 1024 * 1024);
  serviceLog.write(d);
});
// stderr (the preload's own diagnostics) apart, so service.log stays pure JSON lines.
let serviceStderr = '';
svc.stderr.on('data', (d) => {
  serviceStderr = (serviceStderr + d).slice(-64 * 1024);
  serviceErr.write(d);
});
svc.on('exit', (code, signal) => {
  if (!finished && !stopping)
    fail(
      `the service exited unexpectedly (${signal ?? code}); its log: ${rel(serviceLogPath)}\n${serviceOut.split('\n').slice(-12).join('\n')}`,
    );
});
stoppers.push(async () => {
  stopping = true;
  if (svc.exitCode !== null) return;
  svc.kill('SIGTERM');
  await Promise.race([new Promise((r) => svc.once('exit', r)), sleep(12_000)]);
});
try {
  await waitHttp(`${base}/healthz`, 30_000, 'the service');
} catch (err) {
  await fail(
    `${err.message}; last output:\n${(serviceOut + serviceStderr).split('\n').slice(-12).join('\n')}`,
  );
}
const ready = await getJson(`${base}/readyz`);
ok(`listening on ${base} (${preload.length ? 'with' : 'without'} the preload); /readyz: ${ready.status}`);

// 5. Seed through the API, so creation is traced and logged like real traffic.
step(`Seeding ${SEED_COUNT} memories for ${SEED_USERS} users through the API`);
const { generateMemories, userId } = require('./dist/dataset.js');
const { createRequestMix } = require('./dist/requestMix.js');
const ids = new Map();
{
  const items = [...generateMemories({ count: SEED_COUNT, users: SEED_USERS, seed: 7 })];
  let next = 0;
  let done = 0;
  let failed = 0;
  const bar = progress('memories');
  const worker = async () => {
    while (next < items.length) {
      const m = items[next++];
      const r = await fetch(`${base}/v1/memories`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(m),
        signal: AbortSignal.timeout(10_000),
      }).catch(() => undefined);
      const body = await r?.json().catch(() => undefined);
      if (r?.status === 201 && body?.id) {
        const list = ids.get(m.user_id) ?? [];
        list.unshift(body.id);
        ids.set(m.user_id, list);
      } else failed++;
      done++;
      bar.update(done / items.length, `${done}/${items.length}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  bar.done();
  if (failed > 0) warn(`${failed} of ${items.length} creates failed (see ${rel(serviceLogPath)})`);
  ok(`${items.length - failed} memories created`);
}

// 6. Load: ≈ 90% reads over Zipf-distributed users, 10% writes, with a progress bar.
step(
  `Driving ${LOAD_SECONDS} s of load: ${CONNECTIONS} connections, ≈ 90% reads / 10% writes, Zipf over users`,
);
const before = await getJson(`${base}/internal/stats`);
const autocannon = require('autocannon');
const nextRequest = createRequestMix({ users: SEED_USERS, seed: 11, ids });
const latencies = [];
const statuses = new Map();
const result = await new Promise((resolve, reject) => {
  const inst = autocannon(
    {
      url: base,
      connections: CONNECTIONS,
      duration: LOAD_SECONDS,
      requests: [{ setupRequest: (req) => ({ ...req, ...nextRequest() }) }],
    },
    (err, res) => (err ? reject(err) : resolve(res)),
  );
  const started = Date.now();
  const bar = progress('load');
  const timer = setInterval(() => {
    const f = (Date.now() - started) / (LOAD_SECONDS * 1000);
    bar.update(f, `${latencies.length} requests`);
  }, 250);
  inst.on('response', (_client, status, _bytes, ms) => {
    latencies.push(ms);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  });
  inst.on('done', () => {
    clearInterval(timer);
    bar.update(1, `${latencies.length} requests`);
    bar.done();
  });
});
// Requests cut off by the end of the run finish (or fail) before the counters are read.
let after = await getJson(`${base}/internal/stats`);
for (let i = 0; i < 30 && (after.http?.inFlight ?? 0) > 0; i++) {
  await sleep(100);
  after = await getJson(`${base}/internal/stats`);
}

// 7. One request to follow end to end.
// A write: it shows a business event, the database insert and the cache invalidation.
const sampleUser = userId(0);
const sampleBody = { user_id: sampleUser, content: 'prefers green tea after lunch' };
const samplePath = '/v1/memories';
const sample = await fetch(`${base}${samplePath}`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(sampleBody),
});
const sampleId = sample.headers.get('x-correlation-id');
const traceResponse = sample.headers.get('traceresponse');
const sampleItem = (await sample.json().catch(() => ({}))).id ?? ids.get(sampleUser)?.[0];
// Let the request line (written when the response finishes) reach the log.
await sleep(300);

// 8. Results.
const served = (after.http?.requests ?? 0) - (before.http?.requests ?? 0);
const hits =
  (after.cache?.hits ?? 0) +
  (after.cache?.stale ?? 0) -
  (before.cache?.hits ?? 0) -
  (before.cache?.stale ?? 0);
const lookups = (after.cache?.requests ?? 0) - (before.cache?.requests ?? 0);
const queries = (after.db?.queries ?? 0) - (before.db?.queries ?? 0);
latencies.sort((a, b) => a - b);
const ms = (q) => `${pct(latencies, q).toFixed(1)} ms`;
const statusText = [...statuses.entries()]
  .sort((a, b) => a[0] - b[0])
  .map(([s, n]) => `${s}×${n}`)
  .join(' ');
console.log(`\n${bold('Results')}`);
console.log(
  `  requests served     ${result.requests.total} in ${result.duration} s (${Math.round(result.requests.total / result.duration)} req/s); status ${statusText}; errors ${result.errors + result.timeouts}`,
);
console.log(
  `  latency             p50 ${ms(50)} · p95 ${ms(95)} · p99 ${ms(99)}  (${CONNECTIONS} connections, same machine)`,
);
if (after.cache?.enabled) {
  const rate = lookups > 0 ? (100 * hits) / lookups : 0;
  console.log(
    `  cache hit rate      ${rate.toFixed(1)}% (${hits} of ${lookups} cached reads; L1 + Redis, tag invalidation on every write)`,
  );
  console.log(
    dim(
      '                      (a short run that starts with an empty cache; `npm run bench -w memory-service` compares it with an ideal cache)',
    ),
  );
  console.log(
    `  DB queries saved    ${hits} (each hit is a query PostgreSQL did not run): ${queries} queries for ${served} requests = ${(queries / Math.max(1, served)).toFixed(2)} per request`,
  );
} else {
  console.log(`  cache               off (MEM0_CACHE=off): ${queries} queries for ${served} requests`);
}

// The shutdown flush delivers the last spans; stop the service before reading the backend.
const sampleLines = jsonLines(serviceOut).filter((l) => sampleId && l.correlation_id === sampleId);
let spans = [];
if (!KEEP) {
  step('Stopping the service gracefully (drain, close pool and Redis, flush telemetry)');
  const stopStarted = Date.now();
  stopping = true;
  svc.kill('SIGTERM');
  const exit = await Promise.race([
    new Promise((r) => svc.once('exit', (code, signal) => r({ code, signal }))),
    sleep(12_000).then(() => undefined),
  ]);
  if (exit)
    ok(`stopped in ${((Date.now() - stopStarted) / 1000).toFixed(1)} s (exit ${exit.signal ?? exit.code})`);
  else warn('the service did not stop within 12 s; it will be killed.');
}
if (backend.spans && sampleId) {
  const deadline = Date.now() + 8000;
  // Logs travel their own pipeline (and batch) next to the spans: wait for both.
  while (Date.now() < deadline) {
    spans = backend.spans().filter((s) => s.traceId === sampleId);
    const logsIn = !backend.logs || backend.logs().some((l) => l.traceId === sampleId);
    if (spans.some((s) => !s.parentSpanId) && logsIn) break;
    await sleep(250);
  }
}

console.log(`\n${bold('Follow one request')}`);
console.log(`  POST ${samplePath} ${JSON.stringify(sampleBody)}`);
console.log(`  x-correlation-id: ${sampleId}${traceResponse ? `   traceresponse: ${traceResponse}` : ''}`);
if (sampleId && traceResponse?.includes(sampleId))
  console.log(dim('  (the correlation id is the trace id: logs and traces join on it)'));
if (sampleLines.length) {
  console.log(`  its log lines (${sampleLines.length}, from ${rel(serviceLogPath)}):`);
  for (const l of sampleLines.slice(0, 8)) console.log(`    ${formatLine(l)}`);
} else console.log(dim('  (no log line carried it; see the service log)'));
if (spans.length) {
  console.log(
    `  its spans (${spans.length}, as ${backend.kind === 'collector' ? 'Tempo would receive them from the collector' : 'exported'}):`,
  );
  for (const line of spanTree(spans, backend.raw?.())) console.log(`    ${line}`);
  if (backend.logs) {
    const n = backend.logs().filter((l) => l.traceId === sampleId).length;
    console.log(
      dim(
        `  and ${n} OTLP log record${n === 1 ? '' : 's'} with the same trace id reached the ${backend.kind === 'collector' ? 'Loki stand-in' : 'sink'}`,
      ),
    );
  }
} else if (backend.kind === 'compose') console.log(dim('  (search the trace id in Grafana, below)'));

console.log(`\n${bold('Where to look')}`);
console.log(
  `  service log (JSON lines)   ${rel(serviceLogPath)}   (preload diagnostics: ${rel(serviceErrPath)})`,
);
for (const d of backend.describe) console.log(`  ${d}`);
if (backend.kind === 'compose') {
  const tempoUrl = `http://127.0.0.1:3000/explore?left=${encodeURIComponent(JSON.stringify({ datasource: 'tempo', queries: [{ refId: 'A', queryType: 'traceql', query: sampleId }] }))}`;
  console.log(`  Grafana: http://127.0.0.1:3000 — this trace in Tempo: ${tempoUrl}`);
  console.log('  Loki: {service_name="memory-service"} | json; dashboards: "Service RED", "Cache", "Errors"');
} else {
  console.log(
    dim(
      '  Grafana, Tempo, Loki, Prometheus: `docker compose -f collector/docker-compose.yaml up -d`, then run the demo again.',
    ),
  );
}
const cli = `node ${rel(join(root, 'packages', 'log-analysis', 'dist', 'cli.js'))}`;
console.log(`  this request's timeline    ${cli} trace ${sampleId ?? '<id>'} ${rel(serviceLogPath)}`);
console.log(`  latency by route           ${cli} latency ${rel(serviceLogPath)}`);
console.log(`  errors, if any             ${cli} errors ${rel(serviceLogPath)}`);
if (sampleItem)
  console.log(
    `  try it                     curl -i ${base}/v1/memories/${sampleItem}${KEEP ? '' : dim('   (with --keep)')}`,
  );

finished = true;
clearTimeout(runDeadline);
if (KEEP) {
  console.log(`\n${c('32', 'running')} — the service is on ${base}; Ctrl-C stops everything.`);
  await new Promise(() => {});
}
await stopAll();
await cleanCache();
console.log(`\n${c('32', 'done')} in ${Math.round((Date.now() - t0) / 1000)} s.`);
process.exit(0);

// ─────────────────────────────────────────────────────────────────────────────

function jsonLines(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {}
  }
  return out;
}

/** One log record as a short line: time, level, message and its most telling fields. */
function formatLine(l) {
  const keys = [
    'memory.id',
    'user.id',
    'http.response.status_code',
    'duration_ms',
    'db.query.name',
    'db.query.text',
    'cache.tags',
    'error.code',
    'trace_id',
  ];
  const fields = keys
    .filter((k) => l[k] !== undefined)
    .map((k) => {
      const v = typeof l[k] === 'string' ? l[k] : JSON.stringify(l[k]);
      return `${k}=${v.length > 70 ? `${v.slice(0, 70)}…` : v}`;
    });
  const level = String(l.level).padEnd(5);
  return `${String(l.timestamp ?? '').slice(11, 23)} ${level} ${l.message}  ${dim(fields.join(' '))}`;
}

/** The trace as an indented tree with durations (from the raw OTLP JSON when we have it). */
function spanTree(list, raw) {
  const times = new Map();
  for (const doc of raw ?? []) {
    for (const rs of doc.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? []) {
          times.set(s.spanId, Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6);
        }
  }
  const byParent = new Map();
  const idsSet = new Set(list.map((s) => s.spanId));
  for (const s of list) {
    const p = s.parentSpanId && idsSet.has(s.parentSpanId) ? s.parentSpanId : '';
    byParent.set(p, [...(byParent.get(p) ?? []), s]);
  }
  const out = [];
  const walk = (parent, depth) => {
    for (const s of byParent.get(parent) ?? []) {
      if (out.length >= 14) return;
      const d = times.get(s.spanId);
      out.push(
        `${'  '.repeat(depth)}${depth ? '└ ' : ''}${s.name}${d !== undefined ? dim(`  ${d.toFixed(2)} ms`) : ''}`,
      );
      walk(s.spanId, depth + 1);
    }
  };
  walk('', 0);
  return out;
}

async function prepareDatabase() {
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
    } else if (name === 'mem0_demo') {
      // The demo's own database: start from the same data every run.
      const db = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
      await db.connect();
      await db.query("SELECT to_regclass('memories') IS NOT NULL AS t").then(async (x) => {
        if (x.rows[0].t) await db.query('TRUNCATE memories');
      });
      await db.end();
    }
  } catch (err) {
    await fail(`could not prepare database ${name}: ${err.message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The binary predates the manifest: collector/build.sh stamps it with sha256(builder-config.yaml + build.sh). */
function collectorStale() {
  try {
    const dir = join(root, 'collector');
    const hash = createHash('sha256')
      .update(readFileSync(join(dir, 'builder-config.yaml')))
      .update(readFileSync(join(dir, 'build.sh')))
      .digest('hex');
    return readFileSync(join(dir, '_build', '.manifest.sha256'), 'utf8').trim() !== hash;
  } catch {
    return true;
  }
}

async function cleanCache() {
  try {
    const { createClient } = require('redis');
    const r = createClient({ url: REDIS_URL, socket: { connectTimeout: 2000, reconnectStrategy: false } });
    r.on('error', () => {});
    await r.connect();
    for await (const keys of r.scanIterator({ MATCH: `${cachePrefix}*`, COUNT: 1000 }))
      if (keys.length) await r.del(keys);
    await r.close();
  } catch {
    // Entries expire by themselves (TTL); nothing else to do.
  }
}
