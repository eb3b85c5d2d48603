// Service CPU per request for a set of environment variants: a diagnostic, not a target check.
// Each run starts the service in a fresh process on the seeded dataset (reseeded before every
// run), sends the same request sequence (the benchmark's Zipf mix) over 20 keep-alive
// connections, and divides the service's CPU time (/proc, user + system) over the measured
// requests by their count. CPU per request is steadier than req/s on a shared machine, so this
// is how a change in the preload or the cache shows itself; run-to-run noise here was ±10%.
//
//   VARIANTS='{"none":{"PRELOAD":"none"},"ours":{},"ours-sampled":{"OTEL_TRACES_SAMPLER":"always_off"}}' \
//     npm run bench:cpu -w memory-service
//
// A variant is a set of environment variables for the service; PRELOAD=none runs it without
// `--require @mem0-stack/otel/register`. The preload exports to the real collector when it is
// built (collector/_build), else to testkit's sink. ROUNDS (3), WARM (3000) and N (8000)
// requests per run; PROFDIR=<dir> writes a V8 CPU profile of each run to <dir>/<variant>/.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { Pool } from 'pg';
import { createClient } from 'redis';
import { migrate } from '../src/migrate';
import { createRequestMix, type MixRequest } from '../src/requestMix';
import { seedDatabase } from '../src/seed';
import { startBenchCollector } from './benchCollector';
import { ensureBenchDatabase, memoryIdsByUser } from './benchDatabase';

const env = process.env;
const WARM = Number(env.WARM || 3000);
const N = Number(env.N || 8000);
const ROUNDS = Number(env.ROUNDS || 3);
const CONNECTIONS = 20;
const root = join(__dirname, '..', '..', '..');
const serviceDir = join(__dirname, '..');

/** CPU time (user + system) of a process in µs, from /proc (10 ms ticks). */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

function send(port: number, agent: Agent, q: MixRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const r = request(
      { host: '127.0.0.1', port, path: q.path, method: q.method, headers: q.headers, agent },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    r.on('error', reject);
    r.end(q.body);
  });
}

async function main() {
  const variants = JSON.parse(env.VARIANTS || '{"none":{"PRELOAD":"none"},"ours":{}}') as Record<
    string,
    Record<string, string>
  >;
  const db = await ensureBenchDatabase();
  const pool = new Pool({ connectionString: db, max: 1 });
  await migrate(pool);
  const collector = await startBenchCollector(root);
  const results = new Map<string, number[]>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, venv] of Object.entries(variants)) {
        await seedDatabase(pool, { count: 10_000, users: 500 });
        const ids = await memoryIdsByUser(pool);
        const port = 41_000 + Math.floor(Math.random() * 1000);
        const preload = venv.PRELOAD === 'none' ? [] : ['--require', '@mem0-stack/otel/register'];
        const profile = env.PROFDIR ? ['--cpu-prof', '--cpu-prof-dir', join(env.PROFDIR, name)] : [];
        const child = spawn(process.execPath, [...profile, ...preload, 'dist/server.js'], {
          cwd: serviceDir,
          env: {
            ...env,
            PORT: String(port),
            DATABASE_URL: db,
            MEM0_CACHE: 'on',
            MEM0_CACHE_PREFIX: `bench:cpu:${process.pid}:${round}:${name}:`,
            MEM0_LOG_LEVEL: 'info',
            MEM0_SLOW_QUERY_MS: '1000',
            OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL: collector.kind === 'sink' ? 'http/json' : 'http/protobuf',
            OTEL_SERVICE_NAME: 'memory-service-cpu-bench',
            OTEL_METRIC_EXPORT_INTERVAL: '10000',
            OTEL_LOG_LEVEL: 'error',
            ...venv,
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        try {
          for (let i = 0; ; i++) {
            if (child.exitCode !== null || i > 300) throw new Error(`service (${name}) did not start`);
            const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
              (r) => r.ok,
              () => false,
            );
            if (ok) break;
            await new Promise((r) => setTimeout(r, 100));
          }
          const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
          const next = createRequestMix({ users: 500, zipfS: 1.1, seed: 1000, ids });
          const all = Array.from({ length: WARM + N }, () => next());
          let i = 0;
          let c0 = 0;
          const worker = async () => {
            while (i < all.length) {
              const k = i++;
              if (k === WARM) c0 = cpuMicros(child.pid as number);
              await send(port, agent, all[k] as MixRequest);
            }
          };
          await Promise.all(Array.from({ length: CONNECTIONS }, worker));
          const us = (cpuMicros(child.pid as number) - c0) / N;
          results.set(name, [...(results.get(name) ?? []), us]);
          process.stderr.write(`round ${round} ${name.padEnd(24)} ${us.toFixed(1)} µs CPU per request\n`);
          agent.destroy();
        } finally {
          // A service that already exited (it failed to start) emits no second 'exit'.
          if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            await exited;
          }
        }
      }
    }
  } finally {
    await collector.stop();
    await pool.end();
    // The runs' cache entries: one prefix per process.
    const redis = createClient({ url: env.REDIS_URL || 'redis://127.0.0.1:6379' });
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `bench:cpu:${process.pid}:*`, COUNT: 1000 })) {
      if (keys.length > 0) await redis.unlink(keys);
    }
    await redis.quit();
  }
  const first = Object.keys(variants)[0] as string;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
  const base = median(results.get(first) ?? []);
  for (const [name, xs] of results) {
    const m = median(xs);
    process.stdout.write(
      `${name.padEnd(24)} median ${m.toFixed(1)} µs CPU per request (${(m / base).toFixed(2)}× ${first})\n`,
    );
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
