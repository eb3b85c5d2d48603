import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './freePort';
import { type ManagedProcess, managedProcess, removeOnExit, startOrRemove } from './internal/managedProcess';
import { parseLogs, parseMetrics, parseSpans } from './internal/otlpJson';
import type { SinkLog, SinkMetric, SinkSpan } from './otlpSink';
import { type RunResult, runCommand } from './runCommand';
import { waitFor } from './waitFor';

/** The repository root (this file lives in packages/testkit/src or packages/testkit/dist). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
/** The shipped collector configuration. */
export const COLLECTOR_CONFIG = join(REPO_ROOT, 'collector', 'otelcol-config.yaml');

/**
 * Path of the ocb-built collector (`OTELCOL_BIN` overrides). Throws a clear error when it has
 * not been built yet.
 * @example const bin = collectorBinary(); // …/collector/_build/otelcol-mem0
 */
export function collectorBinary(): string {
  const bin = process.env.OTELCOL_BIN ?? join(REPO_ROOT, 'collector', '_build', 'otelcol-mem0');
  if (!existsSync(bin)) {
    throw new Error(`collector binary not found at ${bin}: run \`bash collector/build.sh\` first`);
  }
  return bin;
}

/**
 * Runs `otelcol-mem0 validate` on one or more config files with the given environment.
 * @example const r = await validateCollectorConfig(COLLECTOR_CONFIG); expect(r.code).toBe(0);
 */
export function validateCollectorConfig(
  configs: string | string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  const args = ['validate', ...[configs].flat().map((c) => `--config=${c}`)];
  return runCommand(collectorBinary(), args, { env: { ...process.env, ...env }, timeoutMs: 60_000 });
}

/** A running collector started by a test. */
export type Collector = ManagedProcess & {
  /** OTLP/HTTP base URL, e.g. for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly otlpHttpUrl: string;
  /** OTLP/gRPC `host:port`. */
  readonly otlpGrpcEndpoint: string;
  /** health_check extension URL (200 when ready). */
  readonly healthUrl: string;
  /** The collector's own Prometheus metrics (otelcol_*). */
  readonly telemetryUrl: string;
  /** `host:port` of the collector's own metrics, for a Prometheus scrape target. */
  readonly telemetryTarget: string;
  /** `host:port` of the `prometheus` exporter (span metrics, OpenMetrics). */
  readonly prometheusExporterTarget: string;
  /** The environment the collector runs with (ports, endpoints, storage dir). */
  readonly env: Readonly<Record<string, string>>;
  /** Scratch directory (persistent queue, file exports); removed by `cleanup()`. */
  readonly dir: string;
  /**
   * Sums the samples of one of the collector's own metrics whose labels include `labels`
   * (0 when absent). Reads telemetryUrl.
   */
  selfMetric(name: string, labels?: Record<string, string>): Promise<number>;
  /** stop() and remove the scratch directory. */
  cleanup(): Promise<void>;
};

export type StartCollectorOptions = {
  /** Config files (default: the shipped collector/otelcol-config.yaml). Later files override. */
  configs?: string[];
  /**
   * Extra environment, e.g. TEMPO_ENDPOINT, LOKI_ENDPOINT, PROMETHEUS_REMOTE_WRITE_ENDPOINT,
   * OTELCOL_MEMORY_LIMIT_MIB. Unset backends point at a closed port (data is retried, then dropped).
   */
  env?: Record<string, string>;
  /** Extra command-line arguments (e.g. `--feature-gates=...`). */
  args?: string[];
  timeoutMs?: number;
};

/** Parses Prometheus text exposition and sums the samples of `name` matching `labels`. */
export function sumPrometheusSamples(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labelText = m[3] ?? '';
    const ok = Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`));
    if (ok) sum += Number(m[4]);
  }
  return sum;
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

/**
 * Starts the ocb-built collector on free ports with the shipped config (or `configs`), each
 * instance with its own persistent-queue directory. Kill it and `start()` it again to test a
 * collector crash: it comes back on the same ports and with the same queue directory.
 * @example
 * const col = await startCollector({ env: { TEMPO_ENDPOINT: sink.otlpGrpcEndpoint } });
 * env.OTEL_EXPORTER_OTLP_ENDPOINT = col.otlpHttpUrl;
 * await col.cleanup();
 */
export async function startCollector(opts: StartCollectorOptions = {}): Promise<Collector> {
  const bin = collectorBinary();
  const dir = mkdtempSync(join(tmpdir(), 'mem0-otelcol-'));
  removeOnExit(dir);
  const [grpc, http, health, pprof, zpages, telemetry, promExp, closed] = await Promise.all(
    Array.from({ length: 8 }, () => freePort()),
  );
  const env: Record<string, string> = {
    OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
    OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
    OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${health}`,
    OTELCOL_PPROF_ENDPOINT: `127.0.0.1:${pprof}`,
    OTELCOL_ZPAGES_ENDPOINT: `127.0.0.1:${zpages}`,
    OTELCOL_TELEMETRY_HOST: '127.0.0.1',
    OTELCOL_TELEMETRY_PORT: String(telemetry),
    PROMETHEUS_EXPORTER_ENDPOINT: `127.0.0.1:${promExp}`,
    OTELCOL_STORAGE_DIR: join(dir, 'queue'),
    TEMPO_ENDPOINT: `127.0.0.1:${closed}`,
    LOKI_ENDPOINT: `http://127.0.0.1:${closed}/otlp`,
    PROMETHEUS_REMOTE_WRITE_ENDPOINT: `http://127.0.0.1:${closed}/api/v1/write`,
    OTELCOL_DEBUG_VERBOSITY: 'basic',
    ...opts.env,
  };
  const healthUrl = `http://${env.OTELCOL_HEALTH_ENDPOINT}/`;
  const telemetryTarget = `${env.OTELCOL_TELEMETRY_HOST}:${env.OTELCOL_TELEMETRY_PORT}`;
  const configs = opts.configs ?? [COLLECTOR_CONFIG];
  const proc = managedProcess(bin, [...configs.map((c) => `--config=${c}`), ...(opts.args ?? [])], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, ...env },
    cwd: dir,
    ready: () =>
      waitFor(() => httpOk(healthUrl), {
        timeoutMs: opts.timeoutMs ?? 30_000,
        intervalMs: 100,
        what: `collector health at ${healthUrl}`,
      }).then(() => undefined),
  });
  await startOrRemove(proc, dir);
  const collector: Collector = Object.assign(proc, {
    otlpHttpUrl: `http://${env.OTELCOL_OTLP_HTTP_ENDPOINT}`,
    otlpGrpcEndpoint: env.OTELCOL_OTLP_GRPC_ENDPOINT ?? '',
    healthUrl,
    telemetryUrl: `http://${telemetryTarget}/metrics`,
    telemetryTarget,
    prometheusExporterTarget: env.PROMETHEUS_EXPORTER_ENDPOINT ?? '',
    env,
    dir,
    async selfMetric(name: string, labels?: Record<string, string>) {
      const r = await fetch(`http://${telemetryTarget}/metrics`, { signal: AbortSignal.timeout(5000) });
      return sumPrometheusSamples(await r.text(), name, labels);
    },
    async cleanup() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  return collector;
}

/** A collector whose only job is to receive OTLP and write it to JSON-lines files. */
export type CollectorSink = ManagedProcess & {
  readonly otlpHttpUrl: string;
  readonly otlpGrpcEndpoint: string;
  readonly dir: string;
  /** Everything received so far, read from the file exporter's output. */
  spans(): SinkSpan[];
  logs(): SinkLog[];
  metrics(): SinkMetric[];
  /** Raw OTLP/JSON documents as written by the file exporter. */
  raw(signal: 'traces' | 'logs' | 'metrics'): unknown[];
  cleanup(): Promise<void>;
};

function readJsonLines(path: string): unknown[] {
  if (!existsSync(path)) return [];
  const out: unknown[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // The file exporter may be mid-write on the last line; it is read again next time.
    }
  }
  return out;
}

/**
 * Starts a second ocb-built collector with an OTLP receiver and `file` exporters, to stand in
 * for a backend that cannot run here (Tempo, Loki): point the main collector's TEMPO_ENDPOINT
 * at `otlpGrpcEndpoint` or LOKI_ENDPOINT at `otlpHttpUrl`, then read `spans()` / `logs()`.
 * @example const tempo = await startCollectorSink(); env.TEMPO_ENDPOINT = tempo.otlpGrpcEndpoint;
 */
export async function startCollectorSink(opts: { timeoutMs?: number } = {}): Promise<CollectorSink> {
  const bin = collectorBinary();
  const dir = mkdtempSync(join(tmpdir(), 'mem0-otelsink-'));
  removeOnExit(dir);
  const [grpc, http, health] = await Promise.all([freePort(), freePort(), freePort()]);
  const files = {
    traces: join(dir, 'traces.jsonl'),
    logs: join(dir, 'logs.jsonl'),
    metrics: join(dir, 'metrics.jsonl'),
  };
  const config = `
extensions:
  health_check:
    endpoint: 127.0.0.1:${health}
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${grpc}" }
      http: { endpoint: "127.0.0.1:${http}" }
exporters:
${(['traces', 'logs', 'metrics'] as const)
  .map(
    (s) => `  file/${s}:\n    path: ${JSON.stringify(files[s])}\n    format: json\n    flush_interval: 100ms`,
  )
  .join('\n')}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces: { receivers: [otlp], exporters: [file/traces] }
    logs: { receivers: [otlp], exporters: [file/logs] }
    metrics: { receivers: [otlp], exporters: [file/metrics] }
`;
  const configPath = join(dir, 'sink.yaml');
  writeFileSync(configPath, config);
  const healthUrl = `http://127.0.0.1:${health}/`;
  const proc = managedProcess(bin, [`--config=${configPath}`], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir },
    cwd: dir,
    ready: () =>
      waitFor(() => httpOk(healthUrl), {
        timeoutMs: opts.timeoutMs ?? 30_000,
        intervalMs: 100,
        what: `collector sink health at ${healthUrl}`,
      }).then(() => undefined),
  });
  await startOrRemove(proc, dir);
  return Object.assign(proc, {
    otlpHttpUrl: `http://127.0.0.1:${http}`,
    otlpGrpcEndpoint: `127.0.0.1:${grpc}`,
    dir,
    spans: () => readJsonLines(files.traces).flatMap(parseSpans),
    logs: () => readJsonLines(files.logs).flatMap(parseLogs),
    metrics: () => readJsonLines(files.metrics).flatMap(parseMetrics),
    raw: (signal: 'traces' | 'logs' | 'metrics') => readJsonLines(files[signal]),
    async cleanup() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
