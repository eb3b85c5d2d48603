import type { Attrs, SinkLog, SinkMetric, SinkSpan } from '../otlpSink';

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

/** The OTLP/HTTP JSON exporters and the collector send ids as hex; protobuf-JSON sends base64. */
function hexId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return undefined;
  if (/^[0-9a-f]+$/i.test(id) && (id.length === 32 || id.length === 16)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

// biome-ignore lint/suspicious/noExplicitAny: OTLP/JSON documents are parsed, not typed.
type Doc = any;

/** Flattens one OTLP/JSON ExportTraceServiceRequest. */
export function parseSpans(doc: Doc): SinkSpan[] {
  const out: SinkSpan[] = [];
  for (const rs of doc?.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
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
  return out;
}

/** Flattens one OTLP/JSON ExportLogsServiceRequest. */
export function parseLogs(doc: Doc): SinkLog[] {
  const out: SinkLog[] = [];
  for (const rl of doc?.resourceLogs ?? []) {
    const resource = attrs(rl.resource?.attributes);
    for (const sl of rl.scopeLogs ?? []) {
      for (const l of sl.logRecords ?? []) {
        out.push({
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
  return out;
}

/** Flattens one OTLP/JSON ExportMetricsServiceRequest (data points are left as sent). */
export function parseMetrics(doc: Doc): SinkMetric[] {
  const out: SinkMetric[] = [];
  for (const rm of doc?.resourceMetrics ?? []) {
    const resource = attrs(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const { name, ...data } = m;
        out.push({ name, resource, scope: sm.scope?.name ?? '', data });
      }
    }
  }
  return out;
}
