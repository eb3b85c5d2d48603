import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import {
  type Collector,
  createTestDatabase,
  freePort,
  type PrometheusServer,
  type RedisServer,
  startCollector,
  startPrometheus,
  startRedisServer,
  waitFor,
} from '@mem0-stack/testkit';
import { REPO } from './markdown';

// The stack the documented commands run against: the example memory service under the preload
// (its own database, its own redis-server, PostgreSQL reached through a TCP proxy the test can
// cut) → the ocb-built collector with the shipped config → Debian's Prometheus with the shipped
// prometheus.yml and alert rules. Tempo and Loki cannot run here: the collector's endpoints for
// them point at a closed port, as testkit's startCollector does by default.

/** A TCP proxy to PostgreSQL: `cut()` kills its connections and refuses new ones (an outage). */
export type PgProxy = { url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> };

export async function startPgProxy(target: URL): Promise<PgProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
        sockets.add(client);
        sockets.add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
      server = s;
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  await listen();
  const url = new URL(target.toString());
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { url: url.toString(), cut: stop, restore: listen, close: stop };
}

export type Stack = {
  serviceUrl: string;
  databaseUrl: string;
  redisUrl: string;
  collector: Collector;
  prom: PrometheusServer;
  /** The service's stdout (its JSON log), as written so far. */
  logFile: string;
  /** Trace id of a request that failed with 404 (for `mem0-logs trace`). */
  traceId: string;
  stop(): Promise<void>;
};

/** collector/prometheus/prometheus.yml with the compose host names replaced by this run's ports. */
function prometheusConfig(collector: Collector, promPort: number): string {
  return readFileSync(join(REPO, 'collector', 'prometheus', 'prometheus.yml'), 'utf8')
    .replace(/scrape_interval: 15s/, 'scrape_interval: 2s')
    .replace(/evaluation_interval: 15s/, 'evaluation_interval: 2s')
    .replace('otel-collector:8889', collector.prometheusExporterTarget)
    .replace('otel-collector:8888', collector.telemetryTarget)
    .replace('localhost:9090', `127.0.0.1:${promPort}`);
}

type Res = { status: number; headers: Headers; body: string };

async function call(base: string, path: string, init: RequestInit = {}): Promise<Res> {
  const r = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(20_000) });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

const post = (base: string, body: unknown) =>
  call(base, '/v1/memories', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startStack(workspace: string): Promise<Stack> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const databaseUrl = await createTestDatabase('mem0_docs_test');
    const proxy = await startPgProxy(new URL(databaseUrl));
    cleanups.push(() => proxy.close());
    const redis: RedisServer = await startRedisServer();
    cleanups.push(() => redis.stop());

    const promPort = await freePort();
    const collector = await startCollector({
      env: {
        PROMETHEUS_REMOTE_WRITE_ENDPOINT: `http://127.0.0.1:${promPort}/api/v1/write`,
        OTELCOL_SPANMETRICS_FLUSH_INTERVAL: '2s',
        OTELCOL_RETRY_MAX_ELAPSED: '10s',
        OTELCOL_RETRY_MAX_INTERVAL: '2s',
      },
    });
    cleanups.push(() => collector.cleanup());
    const rules = readFileSync(join(REPO, 'collector', 'prometheus', 'rules', 'mem0-alerts.yml'), 'utf8');
    const prom = await startPrometheus({
      port: promPort,
      config: prometheusConfig(collector, promPort),
      files: { 'rules/mem0-alerts.yml': rules },
    });
    cleanups.push(() => prom.cleanup());

    // The service, exactly as the runbook starts it, stdout to memory-service.log.
    const port = await freePort();
    const logFile = join(workspace, 'memory-service.log');
    const log = createWriteStream(logFile);
    const stderr = createWriteStream(join(workspace, 'memory-service.stderr'));
    const child: ChildProcess = spawn(
      process.execPath,
      ['--require', '@mem0-stack/otel/register', 'examples/memory-service/dist/server.js'],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          PORT: String(port),
          DATABASE_URL: proxy.url,
          REDIS_URL: redis.url,
          OTEL_SERVICE_NAME: 'memory-service',
          OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=docs-test',
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl,
          OTEL_METRIC_EXPORT_INTERVAL: '1000',
          OTEL_BSP_SCHEDULE_DELAY: '200',
          OTEL_BLRP_SCHEDULE_DELAY: '200',
          // Short attempts so the PostgreSQL outage below costs seconds, not minutes.
          MEM0_DB_TIMEOUT_MS: '1000',
        },
      },
    );
    child.stdout?.pipe(log);
    child.stderr?.pipe(stderr);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      await new Promise<void>((r) => log.end(() => r()));
      await new Promise<void>((r) => stderr.end(() => r()));
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
        return (await call(base, '/healthz').catch(() => undefined))?.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'memory service /healthz' },
    );

    const traceId = await drive(base, redis, proxy);

    // Metrics need a few export intervals and scrapes to reach Prometheus.
    await waitFor(
      async () => {
        const names = await prom.labelValues('__name__');
        return (
          [
            'app_errors_total',
            'traces_spanmetrics_calls_total',
            'resilience_circuit_state',
            'cache_requests_total',
          ].every((n) => names.includes(n)) &&
          (await prom.query('service_route:request_duration_seconds:p95_5m')).length > 0
        );
      },
      { timeoutMs: 90_000, intervalMs: 1000, what: 'metrics in Prometheus' },
    );

    return {
      serviceUrl: base,
      databaseUrl,
      redisUrl: redis.url,
      collector,
      prom,
      logFile,
      traceId,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * A day in the life, compressed: normal traffic, a Redis outage, a PostgreSQL outage (cut at
 * the proxy, so the pool's connections die and new ones are refused), recovery. Returns the
 * trace id of a 404 for the `mem0-logs trace` examples.
 */
async function drive(base: string, redis: RedisServer, proxy: PgProxy): Promise<string> {
  const expectStatus = (r: Res, ok: number[], what: string) => {
    if (!ok.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    return r;
  };
  // Normal traffic.
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    const r = expectStatus(
      await post(base, { user_id: i % 2 ? 'alice' : 'bob', content: `likes green tea, note ${i}` }),
      [201],
      'create',
    );
    ids.push((JSON.parse(r.body) as { id: string }).id);
  }
  for (let round = 0; round < 3; round++) {
    for (const u of ['alice', 'bob']) {
      expectStatus(await call(base, `/v1/memories?user_id=${u}&limit=5`), [200], 'list');
      expectStatus(await call(base, `/v1/memories/search?user_id=${u}&q=tea`), [200], 'search');
    }
    for (const id of ids.slice(0, 4)) expectStatus(await call(base, `/v1/memories/${id}`), [200], 'get');
  }
  const missing = expectStatus(
    await call(base, '/v1/memories/00000000-0000-0000-0000-000000000000'),
    [404],
    'missing memory',
  );
  const traceId = missing.headers.get('x-correlation-id') ?? '';
  expectStatus(await post(base, { content: '' }), [400], 'invalid body');

  // Redis outage: reads keep working from PostgreSQL, readiness says degraded.
  await redis.stop();
  await sleep(500);
  for (let i = 0; i < 10; i++)
    expectStatus(await call(base, `/v1/memories?user_id=alice&limit=${i + 1}`), [200], 'list without Redis');
  expectStatus(
    await post(base, { user_id: 'alice', content: 'written while Redis was down' }),
    [201],
    'create',
  );
  const degraded = JSON.parse(expectStatus(await call(base, '/readyz'), [200], 'readyz').body) as {
    status: string;
  };
  if (degraded.status !== 'degraded') throw new Error(`readyz during the Redis outage: ${degraded.status}`);
  await redis.start();
  await waitFor(
    async () => (JSON.parse((await call(base, '/readyz')).body) as { status: string }).status === 'ok',
    { timeoutMs: 20_000, intervalMs: 250, what: 'readiness ok after Redis is back' },
  );

  // PostgreSQL outage: writes fail with 503, the breaker opens, then recovery.
  await proxy.cut();
  let failed = 0;
  for (let batch = 0; batch < 6; batch++) {
    const rs = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        post(base, { user_id: 'carol', content: `outage write ${batch}.${i}` }),
      ),
    );
    failed += rs.filter((r) => r.status >= 500).length;
  }
  if (failed < 20) throw new Error(`only ${failed} writes failed during the PostgreSQL outage`);
  expectStatus(await call(base, '/readyz'), [503], 'readyz during the PostgreSQL outage');
  await proxy.restore();
  await waitFor(
    async () => (await post(base, { user_id: 'carol', content: 'after the outage' })).status === 201,
    { timeoutMs: 60_000, intervalMs: 500, what: 'writes succeed after PostgreSQL is back' },
  );
  for (const id of ids.slice(4, 8)) expectStatus(await call(base, `/v1/memories/${id}`), [200], 'get');
  return traceId;
}
