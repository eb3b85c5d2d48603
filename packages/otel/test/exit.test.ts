// Process lifetime under the preload: short scripts exit at once (and still export what they
// produced), SIGTERM/SIGINT flush within the deadline and then behave as they would without
// the preload, and an application's own signal handler keeps control of the exit.
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { type OtlpSink, runNode, startOtlpSink, waitFor } from '@mem0-stack/testkit';
import { childEnv, ensureBuilt, FIXTURES, otelLines, REPO_DIR, startApp } from './helpers';

let sink: OtlpSink;

beforeAll(async () => {
  ensureBuilt();
  sink = await startOtlpSink();
});
afterAll(async () => {
  await sink?.close();
});

/** Wall time of the fastest of `n` runs: the bound is about what keeps a process alive, not scheduler noise. */
async function fastest(args: string[], env: NodeJS.ProcessEnv, n = 3) {
  let best: Awaited<ReturnType<typeof runNode>> | undefined;
  for (let i = 0; i < n; i++) {
    const r = await runNode(args, { env, cwd: REPO_DIR, timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    if (!best || r.wallMs < best.wallMs) best = r;
    if (best.wallMs < 1000) break;
  }
  return best as Awaited<ReturnType<typeof runNode>>;
}

describe('short-lived processes', () => {
  it('`node --require @mem0-stack/otel/register -e 0` exits in under 1 s', async () => {
    const r = await fastest(['--require', '@mem0-stack/otel/register', '-e', '0'], childEnv({}));
    expect(r.wallMs).toBeLessThan(1000);
    expect(otelLines(r.stderr).filter((l) => l.includes('info: started:'))).toHaveLength(1);
  }, 60_000);

  it('`node --import @mem0-stack/otel/register -e 0` exits in under 1 s', async () => {
    const r = await fastest(['--import', '@mem0-stack/otel/register', '-e', '0'], childEnv({}));
    expect(r.wallMs).toBeLessThan(1000);
  }, 60_000);

  it('a script that ends on its own exports its spans on the way out and exits at once', async () => {
    const service = `short-${Date.now()}`;
    const r = await fastest(
      ['--require', '@mem0-stack/otel/register', join(FIXTURES, 'short-span.cjs')],
      childEnv({
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      }),
    );
    expect(r.wallMs).toBeLessThan(1000);
    const job = await waitFor(() =>
      sink.spans().find((s) => s.name === 'job' && s.resource['service.name'] === service),
    );
    expect(job.attributes['job.items']).toBe(3);
  }, 60_000);

  it("an app's own 'beforeExit' handler that records telemetry does not keep the process alive", async () => {
    // Default protocol (protobuf): the sink counts the requests but does not decode them.
    const before = sink.requests.traces;
    const r = await runNode(['--require', '@mem0-stack/otel/register', join(FIXTURES, 'exit-span.cjs')], {
      env: childEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_METRICS_EXPORTER: 'none' }),
      cwd: REPO_DIR,
      timeoutMs: 20_000,
    });
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
    expect(r.wallMs).toBeLessThan(2000);
    // The script's span, and the one its handler recorded on the first 'beforeExit', were sent.
    expect(sink.requests.traces - before).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('a script whose collector is unreachable still exits at once (no retry timers hold it)', async () => {
    const r = await fastest(
      ['--require', '@mem0-stack/otel/register', join(FIXTURES, 'short-span.cjs')],
      childEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }),
    );
    expect(r.wallMs).toBeLessThan(1000);
    // The loss is reported, not hidden.
    expect(r.stderr).toMatch(
      /dropping spans \(export failed: ECONNREFUSED.*telemetry\.dropped\{signal="traces"\}/,
    );
  }, 60_000);

  it('OTEL_LOG_LEVEL=none silences the startup line', async () => {
    const r = await runNode(['--require', '@mem0-stack/otel/register', '-e', '0'], {
      env: childEnv({ OTEL_LOG_LEVEL: 'none' }),
      cwd: REPO_DIR,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('signals', () => {
  const env = (extra: Record<string, string> = {}) =>
    childEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // Long enough that only the signal handler can be what flushes.
      OTEL_BSP_SCHEDULE_DELAY: '60000',
      OTEL_METRICS_EXPORTER: 'none',
      ...extra,
    });

  async function requestOnce(port: number, path: string) {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    expect(r.status).toBe(200);
  }

  it('SIGTERM without an app handler: flushes, then the process ends by SIGTERM', async () => {
    const app = await startApp(['--require', '@mem0-stack/otel/register'], 'slow-exit.cjs', env());
    await requestOnce(app.port, '/sigterm-plain');
    app.signal('SIGTERM');
    const exit = await app.exited;
    expect(exit.signal).toBe('SIGTERM');
    expect(sink.spans().some((s) => s.attributes['url.path'] === '/sigterm-plain')).toBe(true);
  }, 30_000);

  it('SIGINT behaves the same way', async () => {
    const app = await startApp(['--require', '@mem0-stack/otel/register'], 'slow-exit.cjs', env());
    await requestOnce(app.port, '/sigint');
    app.signal('SIGINT');
    const exit = await app.exited;
    expect(exit.signal).toBe('SIGINT');
    expect(sink.spans().some((s) => s.attributes['url.path'] === '/sigint')).toBe(true);
  }, 30_000);

  it('SIGTERM with signal-exit loaded (it also exits only when alone): flushes, runs its callbacks, ends by SIGTERM', async () => {
    const app = await startApp(['--require', '@mem0-stack/otel/register'], 'signal-exit-app.cjs', env());
    await requestOnce(app.port, '/sigterm-signal-exit');
    app.signal('SIGTERM');
    const exit = await Promise.race([
      app.exited,
      new Promise<'still running'>((r) => setTimeout(() => r('still running'), 6000)),
    ]);
    if (exit === 'still running') app.kill();
    expect(exit).toMatchObject({ signal: 'SIGTERM' });
    expect(app.stdout()).toContain('onExit null SIGTERM');
    expect(sink.spans().some((s) => s.attributes['url.path'] === '/sigterm-signal-exit')).toBe(true);
  }, 30_000);

  it("an app's own SIGTERM handler keeps control: the preload flushes but does not exit for it", async () => {
    const app = await startApp(
      ['--require', '@mem0-stack/otel/register'],
      'slow-exit.cjs',
      env({ APP_OWN_SIGTERM: '1' }),
    );
    await requestOnce(app.port, '/sigterm-owned');
    app.signal('SIGTERM');
    const exit = await app.exited;
    // The app closed its server and the process ended normally, not by the signal.
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(app.stdout()).toContain('own handler');
    expect(sink.spans().some((s) => s.attributes['url.path'] === '/sigterm-owned')).toBe(true);
  }, 30_000);

  it('an app handler registered with process.once() still owns the exit after it has run (no re-raise mid-drain)', async () => {
    const app = await startApp(
      ['--require', '@mem0-stack/otel/register'],
      'slow-exit.cjs',
      env({ APP_ONCE_SIGTERM: '1' }),
    );
    await requestOnce(app.port, '/sigterm-once');
    app.signal('SIGTERM');
    const exit = await app.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(app.stdout()).toContain('once handler: drained');
    expect(sink.spans().some((s) => s.attributes['url.path'] === '/sigterm-once')).toBe(true);
  }, 30_000);

  it('SIGTERM while an export waits to retry: the waiting batch gets its last try at once and the rest of the queue is sent', async () => {
    // The first trace export is refused with a long Retry-After (the transport caps it at 5 s);
    // every later request is accepted.
    let traceRequests = 0;
    const collector = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/v1/traces' && ++traceRequests === 1)
          res.writeHead(503, { 'retry-after': '30' }).end();
        else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const port = (collector.address() as AddressInfo).port;
    try {
      const app = await startApp(
        ['--require', '@mem0-stack/otel/register'],
        'slow-exit.cjs',
        childEnv({
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_LOGS_EXPORTER: 'none',
          // Each span is a batch of its own, sent at once.
          OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1',
        }),
      );
      await requestOnce(app.port, '/refused');
      await waitFor(() => traceRequests >= 1);
      await requestOnce(app.port, '/queued');
      app.signal('SIGTERM');
      const exit = await app.exited;
      expect(exit.signal).toBe('SIGTERM');
      // Well within the 3 s deadline: nothing waits out the backoff.
      expect(exit.afterSignalMs).toBeLessThan(2000);
      expect(app.stderr()).not.toMatch(/did not finish within/);
      // The refused batch was tried once more (and accepted), and the span queued behind it
      // was sent before the exit: nothing was dropped.
      expect(traceRequests).toBe(3);
      expect(app.stderr()).not.toMatch(/dropped|lost/i);
    } finally {
      await new Promise((r) => collector.close(r));
    }
  }, 30_000);

  it('a collector that never answers cannot hold SIGTERM past the deadline', async () => {
    // Accepts connections, reads, never replies.
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.on('data', () => {});
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const app = await startApp(
        ['--require', '@mem0-stack/otel/register'],
        'slow-exit.cjs',
        env({
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          MEM0_OTEL_SHUTDOWN_TIMEOUT_MS: '1000',
        }),
      );
      await requestOnce(app.port, '/hung-collector');
      app.signal('SIGTERM');
      const exit = await app.exited;
      expect(exit.signal).toBe('SIGTERM');
      // Deadline 1 s; the rest is process teardown on a shared machine.
      expect(exit.afterSignalMs).toBeLessThan(4000);
      expect(app.stderr()).toMatch(/did not finish within 1000 ms/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  }, 30_000);
});
