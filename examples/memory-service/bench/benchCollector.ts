import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOtlpSink } from '@mem0-stack/testkit';

/** Where the preload variants export to during the benchmark. */
export type BenchCollector = {
  kind: 'collector' | 'sink';
  endpoint: string;
  /** The collector's own process (its CPU is read per run); undefined for the in-process sink. */
  pid?: number;
  describe: string;
  stop(): Promise<void>;
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/**
 * Starts the real collector (collector/_build/otelcol-mem0) with a minimal pipeline:
 * OTLP/HTTP in, batch, debug exporter at basic verbosity (one line per batch). Without the
 * binary, falls back to testkit's OTLP sink in the bench process and says so.
 * @example const c = await startBenchCollector(root); env.OTEL_EXPORTER_OTLP_ENDPOINT = c.endpoint;
 */
export async function startBenchCollector(root: string): Promise<BenchCollector> {
  const bin = join(root, 'collector', '_build', 'otelcol-mem0');
  if (existsSync(bin)) {
    const port = await freePort();
    const health = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'mem0-bench-col-'));
    const cfg = join(dir, 'config.yaml');
    writeFileSync(
      cfg,
      `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
processors:
  batch: {}
exporters:
  debug:
    verbosity: basic
extensions:
  health_check:
    endpoint: 127.0.0.1:${health}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [debug] }
    metrics: { receivers: [otlp], processors: [batch], exporters: [debug] }
    logs: { receivers: [otlp], processors: [batch], exporters: [debug] }
`,
    );
    const child: ChildProcess = spawn(bin, ['--config', cfg], { stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`collector exited with ${child.exitCode} (config ${cfg})`);
      try {
        if ((await fetch(`http://127.0.0.1:${health}/`)).ok) break;
      } catch {}
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error('collector did not become healthy in 20 s');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return {
      kind: 'collector',
      endpoint: `http://127.0.0.1:${port}`,
      pid: child.pid,
      describe:
        'exporting over OTLP/HTTP to the real collector (collector/_build/otelcol-mem0, batch → debug exporter)',
      stop: async () => {
        child.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 500));
        if (child.exitCode === null) child.kill('SIGKILL');
      },
    };
  }
  const sink = await startOtlpSink();
  return {
    kind: 'sink',
    endpoint: sink.url,
    describe:
      'exporting over OTLP/HTTP to testkit’s in-process sink (the collector binary was not built; run collector/build.sh for the real thing)',
    stop: () => sink.close(),
  };
}
