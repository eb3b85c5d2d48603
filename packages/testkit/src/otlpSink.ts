import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';

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

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: Array<{ key: string; value: AnyValue }> };
  bytesValue?: string;
};

/** Converts an OTLP/JSON AnyValue into a plain JS value. */
export function anyValue(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  if (v.kvlistValue) return attrs(v.kvlistValue.values);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return undefined;
}

/** Flattens an OTLP/JSON attribute list. */
export function attrs(list: Array<{ key: string; value: AnyValue }> | undefined): Attrs {
  const out: Attrs = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** The OTLP/HTTP JSON exporters send ids as hex already; protobuf-JSON sends base64. */
function hexId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return undefined;
  if (/^[0-9a-f]+$/i.test(id) && (id.length === 32 || id.length === 16)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

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
        if (kind === 'traces') {
          for (const rs of doc.resourceSpans ?? []) {
            const resource = attrs(rs.resource?.attributes);
            for (const ss of rs.scopeSpans ?? []) {
              for (const s of ss.spans ?? []) {
                spans.push({
                  traceId: hexId(s.traceId) ?? '',
                  spanId: hexId(s.spanId) ?? '',
                  parentSpanId: hexId(s.parentSpanId),
                  name: s.name,
                  kind: s.kind,
                  attributes: attrs(s.attributes),
                  status: s.status,
                  events: (s.events ?? []).map((e: { name: string; attributes?: [] }) => ({
                    name: e.name,
                    attributes: attrs(e.attributes),
                  })),
                  resource,
                  scope: ss.scope?.name ?? '',
                });
              }
            }
          }
        } else if (kind === 'logs') {
          for (const rl of doc.resourceLogs ?? []) {
            const resource = attrs(rl.resource?.attributes);
            for (const sl of rl.scopeLogs ?? []) {
              for (const l of sl.logRecords ?? []) {
                logs.push({
                  traceId: hexId(l.traceId),
                  spanId: hexId(l.spanId),
                  severityText: l.severityText,
                  severityNumber: l.severityNumber,
                  body: anyValue(l.body),
                  attributes: attrs(l.attributes),
                  resource,
                  scope: sl.scope?.name ?? '',
                });
              }
            }
          }
        } else {
          for (const rm of doc.resourceMetrics ?? []) {
            const resource = attrs(rm.resource?.attributes);
            for (const sm of rm.scopeMetrics ?? []) {
              for (const m of sm.metrics ?? []) {
                const { name, ...data } = m;
                metrics.push({ name, resource, scope: sm.scope?.name ?? '', data });
              }
            }
          }
        }
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
