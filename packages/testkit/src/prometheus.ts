import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './freePort';
import { type ManagedProcess, managedProcess, removeOnExit, startOrRemove } from './internal/managedProcess';
import { waitFor } from './waitFor';

/** One series of an instant-query result. */
export type PromSample = { metric: Record<string, string>; value: number };

/** A Prometheus server (Debian's `prometheus`) started by a test. */
export type PrometheusServer = ManagedProcess & {
  readonly url: string;
  readonly port: number;
  /** Remote-write receiver URL, for the collector's PROMETHEUS_REMOTE_WRITE_ENDPOINT. */
  readonly remoteWriteUrl: string;
  readonly dir: string;
  /** Instant query through the HTTP API; throws on a PromQL error. */
  query(promql: string): Promise<PromSample[]>;
  /** Exemplars for a selector over the last `seconds`. */
  exemplars(
    promql: string,
    seconds?: number,
  ): Promise<
    Array<{
      seriesLabels: Record<string, string>;
      exemplars: Array<{ labels: Record<string, string>; value: string }>;
    }>
  >;
  /** Any GET endpoint of the HTTP API (e.g. `/api/v1/rules`); returns its `data`. */
  api(path: string, params?: Record<string, string>): Promise<unknown>;
  /** Label values (e.g. `__name__`) through the HTTP API. */
  labelValues(label: string): Promise<string[]>;
  cleanup(): Promise<void>;
};

export type StartPrometheusOptions = {
  /** The full prometheus.yml text. Default: a scrape-less config (remote write only). */
  config?: string;
  /** Listen port (default: a free one). Pick it first when the config must name it. */
  port?: number;
  /** Extra files written next to the config (e.g. `rules/x.yml` referenced by it). */
  files?: Record<string, string>;
  /** Extra flags. The remote-write receiver and exemplar storage are always on. */
  args?: string[];
  timeoutMs?: number;
};

/**
 * Starts Debian's prometheus on a free port with the remote-write receiver and exemplar
 * storage enabled, its TSDB in a temporary directory.
 * @example const prom = await startPrometheus(); await prom.query('up');
 */
export async function startPrometheus(opts: StartPrometheusOptions = {}): Promise<PrometheusServer> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'mem0-prom-'));
  removeOnExit(dir);
  const configPath = join(dir, 'prometheus.yml');
  writeFileSync(configPath, opts.config ?? 'global:\n  scrape_interval: 15s\n');
  for (const [name, text] of Object.entries(opts.files ?? {})) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const url = `http://127.0.0.1:${port}`;
  const proc = managedProcess(
    'prometheus',
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--enable-feature=exemplar-storage',
      '--web.enable-lifecycle',
      '--log.level=warn',
      ...(opts.args ?? []),
    ],
    {
      cwd: dir,
      env: process.env,
      ready: () =>
        waitFor(
          async () => {
            try {
              const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
              await r.arrayBuffer();
              return r.ok;
            } catch {
              return false;
            }
          },
          { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100, what: `prometheus on ${port}` },
        ).then(() => undefined),
    },
  );
  await startOrRemove(proc, dir);

  const api = async (path: string, params: Record<string, string> = {}) => {
    const r = await fetch(`${url}${path}?${new URLSearchParams(params)}`, {
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await r.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success')
      throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.error}`);
    return body.data;
  };

  return Object.assign(proc, {
    url,
    port,
    remoteWriteUrl: `${url}/api/v1/write`,
    dir,
    api,
    async query(promql: string): Promise<PromSample[]> {
      const data = (await api('/api/v1/query', { query: promql })) as {
        resultType: string;
        result: Array<{ metric: Record<string, string>; value: [number, string] }> | [number, string];
      };
      if (data.resultType === 'scalar' || data.resultType === 'string') {
        const v = data.result as [number, string];
        return [{ metric: {}, value: Number(v[1]) }];
      }
      return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((s) => ({
        metric: s.metric,
        value: Number(s.value[1]),
      }));
    },
    async exemplars(promql: string, seconds = 600) {
      const end = Date.now() / 1000;
      return (await api('/api/v1/query_exemplars', {
        query: promql,
        start: String(end - seconds),
        end: String(end),
      })) as Array<{
        seriesLabels: Record<string, string>;
        exemplars: Array<{ labels: Record<string, string>; value: string }>;
      }>;
    },
    async labelValues(label: string): Promise<string[]> {
      return (await api(`/api/v1/label/${encodeURIComponent(label)}/values`, {})) as string[];
    },
    async cleanup() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
