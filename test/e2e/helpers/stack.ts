// Starts the end-to-end stack: a service under the mem0-stack preload → the real ocb-built
// collector (shipped config) → stand-ins for Tempo and Loki, and a real Prometheus.
//
// Tempo and Loki cannot run here (no binaries, no Docker), so each is replaced by a second
// instance of the same collector binary with an OTLP receiver and a `file` exporter, listening
// where Tempo's OTLP/gRPC and Loki's OTLP/HTTP endpoints would be. Prometheus is the real
// Debian package with the remote-write receiver on, scraping the collector's :8889 span-metrics
// endpoint and :8888 self-telemetry exactly as collector/prometheus/prometheus.yml says.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Collector,
  type CollectorSink,
  createTestDatabase,
  freePort,
  jsonLines,
  type ManagedProcess,
  type PrometheusServer,
  REPO_ROOT,
  startCollector,
  startCollectorSink,
  startProcess,
  startPrometheus,
} from '@mem0-stack/testkit';
import { Client } from 'pg';
import { createClient } from 'redis';

/** The preload under test. E2E_PRELOAD exists only to debug the suite against another SDK. */
export const PRELOAD = process.env.E2E_PRELOAD ?? '@mem0-stack/otel/register';
export const SERVICE_NAME = 'e2e-service';

export type Stack = {
  tempo: CollectorSink;
  loki: CollectorSink;
  prom: PrometheusServer;
  collector: Collector;
  service: ManagedProcess;
  serviceUrl: string;
  servicePid: number;
  /** JSON log lines the service printed so far. */
  serviceLogs(): Array<Record<string, unknown>>;
  cachePrefix: string;
  stop(): Promise<void>;
};

/** collector/prometheus/prometheus.yml with the compose host names replaced by this run's ports. */
export function prometheusConfig(collector: Collector, promPort: number, scrapeInterval = '2s'): string {
  return readFileSync(join(REPO_ROOT, 'collector', 'prometheus', 'prometheus.yml'), 'utf8')
    .replace(/scrape_interval: 15s/, `scrape_interval: ${scrapeInterval}`)
    .replace(/evaluation_interval: 15s/, `evaluation_interval: ${scrapeInterval}`)
    .replace('otel-collector:8889', collector.prometheusExporterTarget)
    .replace('otel-collector:8888', collector.telemetryTarget)
    .replace('localhost:9090', `127.0.0.1:${promPort}`);
}

async function seedDatabase(): Promise<string> {
  const url = await createTestDatabase('mem0_e2e_test');
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, name text NOT NULL)');
    await c.query(
      "INSERT INTO items (id, name) SELECT g, 'item ' || g FROM generate_series(1, 100) g ON CONFLICT (id) DO NOTHING",
    );
  } finally {
    await c.end();
  }
  return url;
}

async function cleanRedis(prefix: string): Promise<void> {
  const r = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  await r.connect();
  try {
    for await (const keys of r.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await r.del(keys);
    }
  } finally {
    await r.destroy();
  }
}

export async function startStack(opts: { collectorEnv?: Record<string, string> } = {}): Promise<Stack> {
  const started: Array<{ cleanup?: () => Promise<void>; stop?: () => Promise<void> }> = [];
  try {
    const tempo = await startCollectorSink();
    started.push(tempo);
    const loki = await startCollectorSink();
    started.push(loki);
    const promPort = await freePort();
    const collector = await startCollector({
      env: {
        TEMPO_ENDPOINT: tempo.otlpGrpcEndpoint,
        // The real value would be http://loki:3100/otlp; the exporter appends /v1/logs either way.
        LOKI_ENDPOINT: loki.otlpHttpUrl,
        PROMETHEUS_REMOTE_WRITE_ENDPOINT: `http://127.0.0.1:${promPort}/api/v1/write`,
        OTELCOL_SPANMETRICS_FLUSH_INTERVAL: '2s',
        // Retries give up quickly so an outage shows up as counted loss within the test.
        OTELCOL_RETRY_MAX_ELAPSED: '20s',
        OTELCOL_RETRY_MAX_INTERVAL: '5s',
        ...opts.collectorEnv,
      },
    });
    started.push(collector);
    const rules = readFileSync(
      join(REPO_ROOT, 'collector', 'prometheus', 'rules', 'mem0-alerts.yml'),
      'utf8',
    );
    const prom = await startPrometheus({
      port: promPort,
      config: prometheusConfig(collector, promPort),
      files: { 'rules/mem0-alerts.yml': rules },
      // The suite restarts Prometheus on purpose; restore pending `for:` state of alerts on
      // restart (the default 10 m grace period would reset the 1 m breaker alert).
      args: ['--rules.alert.for-grace-period=1s'],
    });
    started.push(prom);

    const dbUrl = await seedDatabase();
    const cachePrefix = `test:e2e:${Math.random().toString(36).slice(2, 10)}:`;
    const service = await startProcess(
      process.execPath,
      ['--require', PRELOAD, join(__dirname, '..', 'fixtures', 'service.js')],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          NODE_ENV: 'test',
          DATABASE_URL: dbUrl,
          REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
          CACHE_PREFIX: cachePrefix,
          PORT: '0',
          OTEL_SERVICE_NAME: SERVICE_NAME,
          OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=e2e',
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl,
          OTEL_METRIC_EXPORT_INTERVAL: '1000',
          OTEL_BSP_SCHEDULE_DELAY: '200',
          OTEL_BLRP_SCHEDULE_DELAY: '200',
        },
        ready: (out) => /"message":"listening"/.test(out),
        timeoutMs: 30_000,
      },
    );
    started.push(service);
    const logs = () => jsonLines(service.output()).records;
    const listening = logs().find((r) => r.message === 'listening');
    const port = Number(listening?.port);
    if (!port) throw new Error(`service did not log its port:\n${service.output().slice(-2000)}`);

    return {
      tempo,
      loki,
      prom,
      collector,
      service,
      serviceUrl: `http://127.0.0.1:${port}`,
      servicePid: service.pid ?? 0,
      serviceLogs: logs,
      cachePrefix,
      async stop() {
        await service.stop();
        await Promise.all([collector.cleanup(), prom.cleanup(), tempo.cleanup(), loki.cleanup()]);
        await cleanRedis(cachePrefix);
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await (s.cleanup ?? s.stop)?.call(s).catch(() => {});
    throw err;
  }
}
