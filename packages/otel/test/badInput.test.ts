// Bad input never hurts the application: invalid OTEL_* values (one clear warning each,
// defaults used), an unreachable collector, malformed trace-context headers, 64 KB headers.
import { request } from 'node:http';
import { type OtlpSink, type SinkSpan, startOtlpSink, waitFor } from '@mem0-stack/testkit';
import { childEnv, ensureBuilt, otelLines, startApp } from './helpers';

let sink: OtlpSink;

beforeAll(async () => {
  ensureBuilt();
  sink = await startOtlpSink();
});
afterAll(async () => {
  await sink?.close();
});

/** GET with arbitrary (even huge or duplicated) headers; resolves with the status code. */
function get(port: number, path: string, headers: Record<string, string | string[]> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const spanFor = (path: string) => (s: SinkSpan) => s.kind === 2 && s.attributes['url.path'] === path;

describe('invalid configuration', () => {
  it('warns once per bad variable, naming it and the default, and runs with the defaults', async () => {
    const bad: Record<string, string> = {
      OTEL_BSP_MAX_QUEUE_SIZE: 'lots',
      OTEL_BSP_SCHEDULE_DELAY: '-1',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_SDK_DISABLED: 'maybe',
      OTEL_EXPORTER_OTLP_TIMEOUT: '10s',
      OTEL_METRIC_EXPORT_INTERVAL: 'often',
      OTEL_LOG_LEVEL: 'loud',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'zip',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://collector',
      OTEL_PROPAGATORS: 'tracecontext,xray-ish',
      OTEL_RESOURCE_ATTRIBUTES: 'team=core,broken,=x',
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host,mainframe',
      OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'fs',
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '0',
      MEM0_OTEL_SHUTDOWN_TIMEOUT_MS: 'soon',
    };
    const app = await startApp(
      ['--require', '@mem0-stack/otel/register'],
      'slow-exit.cjs',
      childEnv({ ...bad, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
    );
    for (let i = 0; i < 5; i++) expect(await get(app.port, '/configured')).toBe(200);
    app.signal('SIGTERM');
    expect((await app.exited).signal).toBe('SIGTERM');

    const warnings = otelLines(app.stderr()).filter((l) => l.includes(' warn: '));
    for (const name of Object.keys(bad)) {
      const mine = warnings.filter((w) => w.includes(`${name}=`) || w.includes(`${name} `));
      expect({ name, count: mine.length }).toEqual({ name, count: 1 });
      expect(mine[0]).toMatch(/default|using|ignor/i);
    }
    // Telemetry still flows with the defaults (the traces endpoint fell back to the base one).
    const span = await waitFor(() => sink.spans().find(spanFor('/configured')));
    expect(span.resource.team).toBe('core');
  }, 30_000);
});

describe('unreachable collector', () => {
  it('the app keeps serving; losses are counted and reported once, not per request', async () => {
    const app = await startApp(
      ['--require', '@mem0-stack/otel/register'],
      'slow-exit.cjs',
      childEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_BSP_SCHEDULE_DELAY: '50' }),
    );
    for (let round = 0; round < 5; round++) {
      const codes = await Promise.all(Array.from({ length: 20 }, () => get(app.port, '/while-down')));
      expect(codes.every((c) => c === 200)).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
    }
    app.signal('SIGTERM');
    const exit = await app.exited;
    expect(exit.signal).toBe('SIGTERM');
    const dropped = otelLines(app.stderr()).filter((l) => l.includes('dropped'));
    expect(dropped.length).toBeGreaterThanOrEqual(1);
    expect(dropped.length).toBeLessThanOrEqual(3); // one per signal at most, within a minute
    expect(dropped.join('\n')).toContain('ECONNREFUSED');
    // The final flush at SIGTERM fails too: that is the same loss, not a new error with a stack.
    expect(otelLines(app.stderr()).filter((l) => /\berror:|"stack"/.test(l))).toEqual([]);
  }, 30_000);
});

describe('malformed and oversized headers', () => {
  let app: Awaited<ReturnType<typeof startApp>>;

  beforeAll(async () => {
    app = await startApp(
      // Let 64 KB headers reach the app (Node's default limit answers 431 before any code runs).
      ['--max-http-header-size=400000', '--require', '@mem0-stack/otel/register'],
      'slow-exit.cjs',
      childEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      }),
    );
  });
  afterAll(async () => {
    app?.signal('SIGTERM');
    await app?.exited;
  });

  const validParent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it.each([
    ['garbage', { traceparent: 'garbage' }],
    ['all-zero ids', { traceparent: '00-00000000000000000000000000000000-0000000000000000-01' }],
    ['version ff', { traceparent: 'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }],
    ['missing flags', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331' }],
    ['uppercase hex', { traceparent: '00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01' }],
    ['duplicated header', { traceparent: [validParent, validParent] }],
    ['64 KB traceparent', { traceparent: `00-${'a'.repeat(65_536)}` }],
  ])('traceparent %s: request served, a new root trace is started', async (label, headers) => {
    const path = `/tp-${label.replace(/\W+/g, '-')}`;
    expect(await get(app.port, path, headers)).toBe(200);
    const span = await waitFor(() => sink.spans().find(spanFor(path)));
    expect(span.parentSpanId).toBeUndefined();
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.traceId).not.toBe('0'.repeat(32));
    expect(span.traceId).not.toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it.each([
    ['empty members', '=,,,a=,=b,'],
    ['200 members', Array.from({ length: 200 }, (_, i) => `k${i}=v${i}`).join(',')],
    ['64 KB', `vendor=${'x'.repeat(65_536)}`],
  ])('malformed tracestate (%s) with a valid traceparent: parent kept, request served', async (label, ts) => {
    const path = `/ts-${label.replace(/\W+/g, '-')}`;
    expect(await get(app.port, path, { traceparent: validParent, tracestate: ts })).toBe(200);
    const span = await waitFor(() => sink.spans().find(spanFor(path)));
    expect(span.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span.parentSpanId).toBe('b7ad6b7169203331');
  });

  it('64 KB header values: request served, attributes capped, secrets not captured', async () => {
    const big = 'u'.repeat(65_536);
    const code = await get(app.port, '/big-headers', {
      'user-agent': big,
      'x-forwarded-for': `10.0.0.1${' '.repeat(65_536)},10.0.0.2`,
      cookie: `session=${'c'.repeat(65_536)}`,
      authorization: `Bearer ${'t'.repeat(65_536)}`,
      'x-custom': big,
    });
    expect(code).toBe(200);
    const span = await waitFor(() => sink.spans().find(spanFor('/big-headers')));
    expect(String(span.attributes['user_agent.original']).length).toBe(4096);
    expect(span.attributes['client.address']).toBe('10.0.0.1');
    const text = JSON.stringify(span);
    expect(text).not.toContain('ccccc');
    expect(text).not.toContain('ttttt');
    expect(text.length).toBeLessThan(16_000);
  });

  it('absolute-form request target (as sent to a proxy): url.path is the path, credentials not exported', async () => {
    expect(await get(app.port, 'http://proxyuser:hunter2@example.com:8080/absolute-form?k=v')).toBe(200);
    const span = await waitFor(() => sink.spans().find(spanFor('/absolute-form')));
    expect(span.attributes['url.query']).toBe('k=REDACTED');
    expect(JSON.stringify(span)).not.toContain('hunter2');
  });

  it('without a larger header limit, Node refuses 64 KB headers (431) and the app keeps serving', async () => {
    const plain = await startApp(
      ['--require', '@mem0-stack/otel/register'],
      'slow-exit.cjs',
      childEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
    );
    try {
      // Node answers 431 and closes; the client may see the reset before reading the answer.
      const outcome = await get(plain.port, '/too-big', { 'x-custom': 'y'.repeat(65_536) }).catch(
        (err: NodeJS.ErrnoException) => err.code,
      );
      expect([431, 'ECONNRESET', 'EPIPE']).toContain(outcome);
      expect(await get(plain.port, '/after-431')).toBe(200);
    } finally {
      plain.signal('SIGTERM');
      await plain.exited;
    }
  });
});
