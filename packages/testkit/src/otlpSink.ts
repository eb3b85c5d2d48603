import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { parseLogs, parseMetrics, parseSpans } from './internal/otlpJson';

export { anyValue, attrs } from './internal/otlpJson';

/** An OTLP attribute list flattened to a plain object. */
export type Attrs = Record<string, unknown>;
export type SinkSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Attrs;
  status?: { code?: number; message?: string };
  events: Array<{ name: string; attributes: Attrs }>;
  resource: Attrs;
  scope: string;
};
export type SinkLog = {
  traceId?: string;
  spanId?: string;
  severityText?: string;
  severityNumber?: number;
  body: unknown;
  attributes: Attrs;
  resource: Attrs;
  scope: string;
};
export type SinkMetric = { name: string; resource: Attrs; scope: string; data: unknown };

export type OtlpSink = {
  readonly url: string;
  readonly port: number;
  /** Requests received per signal path, including rejected ones. */
  readonly requests: { traces: number; metrics: number; logs: number; other: number };
  spans(): SinkSpan[];
  logs(): SinkLog[];
  metrics(): SinkMetric[];
  /** Answer every request with this status from now on (e.g. 503 to simulate an outage). */
  setStatus(status: number): void;
  /** Delay every response by this many ms (a slow collector). */
  setDelay(ms: number): void;
  clear(): void;
  close(): Promise<void>;
};

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

/**
 * A local OTLP/HTTP receiver that accepts JSON payloads on /v1/traces, /v1/metrics and
 * /v1/logs and keeps them flattened for assertions. Use it for SDK-wiring tests; the
 * end-to-end suites use the real collector.
 * @example const sink = await startOtlpSink(); env.OTEL_EXPORTER_OTLP_ENDPOINT = sink.url;
 */
export async function startOtlpSink(opts: { port?: number } = {}): Promise<OtlpSink> {
  let spans: SinkSpan[] = [];
  let logs: SinkLog[] = [];
  let metrics: SinkMetric[] = [];
  let status = 200;
  let delay = 0;
  const requests = { traces: 0, metrics: 0, logs: 0, other: 0 };

  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const kind =
      path === '/v1/traces'
        ? 'traces'
        : path === '/v1/metrics'
          ? 'metrics'
          : path === '/v1/logs'
            ? 'logs'
            : 'other';
    requests[kind]++;
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (status !== 200 || kind === 'other') {
      res.writeHead(kind === 'other' ? 404 : status, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const ct = String(req.headers['content-type'] ?? '');
    if (ct.includes('json') && body.length > 0) {
      try {
        const doc = JSON.parse(body.toString('utf8'));
        if (kind === 'traces') spans.push(...parseSpans(doc));
        else if (kind === 'logs') logs.push(...parseLogs(doc));
        else metrics.push(...parseMetrics(doc));
      } catch {
        res.writeHead(400).end();
        return;
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    spans: () => spans,
    logs: () => logs,
    metrics: () => metrics,
    setStatus: (s) => {
      status = s;
    },
    setDelay: (ms) => {
      delay = ms;
    },
    clear: () => {
      spans = [];
      logs = [];
      metrics = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
