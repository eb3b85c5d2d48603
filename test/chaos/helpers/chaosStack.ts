// One deployment per scenario: the example service under `--require @mem0-stack/otel/register`
// → the real ocb-built collector with the shipped config → a second collector with `file`
// exporters standing in for Tempo and Loki (and for the metrics backend). The first collector
// also writes everything it RECEIVES, before any processor, to files of its own ("tap"): that is
// what the collector saw, the denominator of every loss reconciliation.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COLLECTOR_CONFIG,
  type Collector,
  type CollectorSink,
  createTestDatabase,
  freePort,
  type OtlpFile,
  PG_BASE_URL,
  REPO_ROOT,
  type RedisServer,
  startCollector,
  startCollectorSink,
  startRedisServer,
  tailOtlpFile,
} from '@mem0-stack/testkit';
import { Client } from 'pg';
import { createClient } from 'redis';
import { type SecretHit, scanFile, scanText } from './checks';
import { type ServiceProcess, startServiceProcess } from './serviceProcess';

/** Scratch space of the suite: logs, collector taps, results (git-ignored). */
export const CHAOS_DIR = join(REPO_ROOT, '.tmp', 'chaos');
export const SERVICE_NAME = 'memory-service';
/** The role the service logs in as; its password is the recognisable secret of the run. */
const APP_ROLE = 'mem0_chaos_app';

/** Secrets planted in this run: none of them may appear in any output. */
export type Secrets = { dbPassword: string; token: string; redisPassword?: string };

export function newSecrets(): Secrets {
  const hex = () => randomBytes(8).toString('hex');
  return { dbPassword: `ChaosPw-${hex()}`, token: `chaos-tok-${hex()}` };
}

export type ChaosDatabase = {
  name: string;
  /** postgres superuser URL for the test's own fault injection. */
  adminUrl: string;
  /** The service's URL: the app role WITH its password. */
  appUrl: string;
  admin(): Promise<Client>;
};

/**
 * A database of the scenario's own (so terminating "its" backends touches no other suite),
 * owned by a login role whose password is the run's secret. The server is trust-auth: the
 * password only has to travel in the URL, which is exactly what must never leak.
 */
export async function chaosDatabase(scenario: string, secrets: Secrets): Promise<ChaosDatabase> {
  const name = `mem0_chaos_${scenario.replace(/-/g, '_')}_test`;
  const adminUrl = await createTestDatabase(name);
  const root = new URL(PG_BASE_URL);
  root.pathname = '/postgres';
  const c = new Client({ connectionString: root.toString() });
  await c.connect();
  try {
    // Two chaos files may race to create the role (e.g. jest with several workers).
    await c.query(
      `DO $$ BEGIN CREATE ROLE ${APP_ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
    );
    await c.query(`ALTER ROLE ${APP_ROLE} PASSWORD '${secrets.dbPassword}'`);
    await c.query(`ALTER DATABASE ${name} OWNER TO ${APP_ROLE}`);
  } finally {
    await c.end();
  }
  const a = new Client({ connectionString: adminUrl });
  await a.connect();
  try {
    // Every run starts from an empty table (the database survives between local runs).
    await a.query('DROP TABLE IF EXISTS memories, schema_migrations CASCADE');
    await a.query(`ALTER SCHEMA public OWNER TO ${APP_ROLE}`);
  } finally {
    await a.end();
  }
  const app = new URL(adminUrl);
  app.username = APP_ROLE;
  app.password = secrets.dbPassword;
  return {
    name,
    adminUrl,
    appUrl: app.toString(),
    async admin() {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      return client;
    },
  };
}

/** Files the first collector writes with what it received, before any processor. */
export type Tap = {
  spans: OtlpFile<'traces'>;
  logs: OtlpFile<'logs'>;
  metrics: OtlpFile<'metrics'>;
  files: string[];
};

function collectorOverlay(dir: string, metricsEndpoint: string): { path: string; tap: Tap } {
  const files = {
    traces: join(dir, 'tap-traces.jsonl'),
    logs: join(dir, 'tap-logs.jsonl'),
    metrics: join(dir, 'tap-metrics.jsonl'),
  };
  const fileExporter = (p: string) =>
    `    path: ${JSON.stringify(p)}\n    format: json\n    flush_interval: 100ms\n    append: true`;
  const yaml = `# Added by test/chaos: a tap of what the collector receives, and metrics to the sink.
exporters:
  file/tap_traces:
${fileExporter(files.traces)}
  file/tap_logs:
${fileExporter(files.logs)}
  file/tap_metrics:
${fileExporter(files.metrics)}
  otlp_http/chaos_metrics:
    endpoint: ${JSON.stringify(metricsEndpoint)}
service:
  pipelines:
    traces/tap: { receivers: [otlp], exporters: [file/tap_traces] }
    logs/tap: { receivers: [otlp], exporters: [file/tap_logs] }
    metrics/tap: { receivers: [otlp], exporters: [file/tap_metrics] }
    metrics: { receivers: [otlp], processors: [memory_limiter, resource], exporters: [otlp_http/chaos_metrics] }
`;
  const path = join(dir, 'collector-overlay.yaml');
  writeFileSync(path, yaml);
  return {
    path,
    tap: {
      spans: tailOtlpFile(files.traces, 'traces'),
      logs: tailOtlpFile(files.logs, 'logs'),
      metrics: tailOtlpFile(files.metrics, 'metrics'),
      files: Object.values(files),
    },
  };
}

export type ChaosStack = {
  scenario: string;
  dir: string;
  secrets: Secrets;
  db: ChaosDatabase;
  sink: CollectorSink;
  collector: Collector;
  /** What the first collector received, before any processor. */
  tap: Tap;
  /** What reached the backend stand-ins (after the collector's processors). */
  stored: Tap;
  service: ServiceProcess;
  redisUrl: string;
  /** The dedicated redis-server, when the scenario asked for one. */
  redis: RedisServer | undefined;
  cachePrefix: string;
  /** Headers every client request carries (the bearer token among them). */
  clientHeaders: Record<string, string>;
  serviceEnv: Record<string, string>;
  /** Starts another instance of the service with the same settings (plus `env`). */
  startService(name: string, env?: Record<string, string>, nodeArgs?: string[]): Promise<ServiceProcess>;
  /** SIGTERM every service instance started (they flush their telemetry on the way out). */
  stopServices(): Promise<void>;
  /** Waits until what the collector received and what the sink stored stop growing. */
  settle(quietMs?: number, timeoutMs?: number): Promise<void>;
  /**
   * Every planted secret found in anything captured: each service's stdout and stderr, the
   * collector tap files, the sink's file exports, the collectors' own output.
   */
  sweepSecrets(): SecretHit[];
  /** The planted secrets as strings. */
  needles(): string[];
  stop(): Promise<void>;
};

export type ChaosStackOptions = {
  /** Scenario id: names the database, the scratch dir and the cache prefix. */
  scenario: string;
  /** A redis-server of the scenario's own (to stop/start); default: the shared one on 6379. */
  dedicatedRedis?: boolean;
  /** Extra args for the dedicated redis-server (e.g. requirepass). */
  redisArgs?: string[];
  redisPassword?: string;
  serviceEnv?: Record<string, string>;
  /** Extra node options for the service (before the preload). */
  nodeArgs?: string[];
  secrets?: Secrets;
};

/**
 * Turns on requirepass on a running redis-server (testkit's readiness probe speaks PING without
 * AUTH, so the server starts open and is locked right after). Call again after a restart.
 */
export async function requirePassword(url: string, password: string): Promise<void> {
  const r = createClient({ url });
  r.on('error', () => {});
  await r.connect();
  try {
    await r.sendCommand(['CONFIG', 'SET', 'requirepass', password]);
  } finally {
    await r.destroy();
  }
}

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const r = createClient({ url });
  r.on('error', () => {});
  await r.connect();
  try {
    for await (const keys of r.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await r.del(keys);
    }
  } finally {
    await r.destroy();
  }
}

/** Starts sink → collector (with tap) → service, in that order, for one scenario. */
export async function startChaosStack(opts: ChaosStackOptions): Promise<ChaosStack> {
  const dir = join(CHAOS_DIR, opts.scenario);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const secrets = opts.secrets ?? newSecrets();
  if (opts.redisPassword) secrets.redisPassword = opts.redisPassword;
  const scenarioName = opts.scenario;
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const db = await chaosDatabase(opts.scenario, secrets);
    let redis: RedisServer | undefined;
    let redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    if (opts.dedicatedRedis) {
      redis = await startRedisServer({ args: opts.redisArgs });
      const r = redis;
      cleanups.push(() => r.stop());
      const u = new URL(redis.url);
      if (opts.redisPassword) {
        await requirePassword(redis.url, opts.redisPassword);
        u.password = opts.redisPassword;
      }
      redisUrl = u.toString();
    }
    const sink = await startCollectorSink();
    cleanups.push(() => sink.cleanup());
    const overlay = collectorOverlay(dir, sink.otlpHttpUrl);
    const collector = await startCollector({
      configs: [COLLECTOR_CONFIG, overlay.path],
      env: {
        TEMPO_ENDPOINT: sink.otlpGrpcEndpoint,
        LOKI_ENDPOINT: sink.otlpHttpUrl,
        DEPLOYMENT_ENVIRONMENT: 'chaos',
      },
    });
    cleanups.push(() => collector.cleanup());
    // What reached the Tempo/Loki/metrics stand-in, read incrementally.
    const stored: Tap = {
      spans: tailOtlpFile(join(sink.dir, 'traces.jsonl'), 'traces'),
      logs: tailOtlpFile(join(sink.dir, 'logs.jsonl'), 'logs'),
      metrics: tailOtlpFile(join(sink.dir, 'metrics.jsonl'), 'metrics'),
      files: ['traces', 'logs', 'metrics'].map((x) => join(sink.dir, `${x}.jsonl`)),
    };
    const cachePrefix = `test:chaos:${opts.scenario}:${randomBytes(4).toString('hex')}:`;
    // A dedicated redis-server goes away with its keys; the shared one is cleaned by prefix.
    if (!redis) cleanups.push(() => deleteKeys(redisUrl, cachePrefix).catch(() => {}));
    const serviceEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'production',
      DATABASE_URL: db.appUrl,
      REDIS_URL: redisUrl,
      MEM0_CACHE_PREFIX: cachePrefix,
      OTEL_SERVICE_NAME: SERVICE_NAME,
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=chaos',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl,
      OTEL_METRIC_EXPORT_INTERVAL: '2000',
      OTEL_BSP_SCHEDULE_DELAY: '500',
      OTEL_BLRP_SCHEDULE_DELAY: '500',
      ...opts.serviceEnv,
    };
    const needles = () =>
      [secrets.dbPassword, secrets.token, secrets.redisPassword].filter(
        (x): x is string => typeof x === 'string',
      );
    const services: ServiceProcess[] = [];
    const startService = async (name: string, env: Record<string, string> = {}, nodeArgs = opts.nodeArgs) => {
      const s = await startServiceProcess({
        dir,
        name,
        port: await freePort(),
        env: { ...serviceEnv, ...env },
        nodeArgs,
      });
      services.push(s);
      return s;
    };
    const service = await startService('service');
    return {
      scenario: opts.scenario,
      dir,
      secrets,
      db,
      sink,
      collector,
      tap: overlay.tap,
      stored,
      service,
      redisUrl,
      redis,
      cachePrefix,
      clientHeaders: { authorization: `Bearer ${secrets.token}` },
      serviceEnv,
      startService,
      async stopServices() {
        await Promise.all(services.map((s) => s.stop()));
      },
      async settle(quietMs = 2500, timeoutMs = 60_000) {
        const counts = () =>
          [
            overlay.tap.spans.items().length,
            overlay.tap.logs.items().length,
            stored.spans.items().length,
            stored.logs.items().length,
          ].join(',');
        const deadline = Date.now() + timeoutMs;
        let last = counts();
        let since = Date.now();
        while (Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 250));
          const now = counts();
          if (now !== last) {
            last = now;
            since = Date.now();
          } else if (Date.now() - since >= quietMs) return;
        }
      },
      needles,
      sweepSecrets() {
        const n = needles();
        const hits: SecretHit[] = [];
        for (const f of readdirSync(dir)) {
          if (/\.(log|jsonl)$/.test(f)) hits.push(...scanFile(join(dir, f), n, `${scenarioName}/${f}`));
        }
        for (const f of readdirSync(sink.dir)) {
          if (f.endsWith('.jsonl')) hits.push(...scanFile(join(sink.dir, f), n, `sink/${f}`));
        }
        hits.push(...scanText(collector.output(), n, 'collector output'));
        hits.push(...scanText(sink.output(), n, 'sink collector output'));
        return hits;
      },
      async stop() {
        await Promise.all(services.map((s) => s.stop()));
        for (const c of cleanups.reverse()) await c().catch(() => {});
      },
    };
  } catch (err) {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    throw err;
  }
}
