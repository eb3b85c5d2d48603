import { getJson } from './httpJson';

/** One span from Tempo, ids in lowercase hex, times in epoch ms (fractional). */
export type TempoSpan = {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: string;
  service: string;
  start: number;
  end: number;
  status: 'ok' | 'error' | 'unset';
  statusMessage: string | undefined;
  attributes: Record<string, unknown>;
};

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};
type KeyValue = { key: string; value?: AnyValue };
type OtlpSpan = {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: string | number;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  status?: { code?: string | number; message?: string };
  attributes?: KeyValue[];
};
type ResourceSpans = {
  resource?: { attributes?: KeyValue[] };
  scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
  instrumentationLibrarySpans?: Array<{ spans?: OtlpSpan[] }>;
};

function anyValue(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  return undefined;
}

function attrs(list: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/**
 * Tempo's /api/traces answers protobuf-JSON, whose bytes fields are base64 (grafana/tempo#5437),
 * while OTLP/JSON proper uses hex: accept both.
 */
export function hexId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return undefined;
  if ((id.length === 32 || id.length === 16) && /^[0-9a-f]+$/i.test(id)) return id.toLowerCase();
  const hex = Buffer.from(id, 'base64').toString('hex');
  return /^0+$/.test(hex) ? undefined : hex;
}

function nanosToMs(v: string | number | undefined): number {
  if (v === undefined) return Number.NaN;
  if (typeof v === 'number') return v / 1e6;
  try {
    const n = BigInt(v);
    return Number(n / 1000n) / 1000;
  } catch {
    return Number.NaN;
  }
}

function kindName(k: string | number | undefined): string {
  if (typeof k === 'string') return k.replace(/^SPAN_KIND_/, '').toLowerCase();
  return ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'][k ?? 0] ?? 'unspecified';
}

function statusName(c: string | number | undefined): TempoSpan['status'] {
  if (c === 2 || c === 'STATUS_CODE_ERROR') return 'error';
  if (c === 1 || c === 'STATUS_CODE_OK') return 'ok';
  return 'unset';
}

/** Flattens an OTLP trace document (`batches`, `resourceSpans` or v2's `trace.resourceSpans`). */
export function parseOtlpTrace(doc: unknown): TempoSpan[] {
  const d = (doc ?? {}) as {
    batches?: ResourceSpans[];
    resourceSpans?: ResourceSpans[];
    trace?: { resourceSpans?: ResourceSpans[] };
  };
  const batches = d.batches ?? d.resourceSpans ?? d.trace?.resourceSpans ?? [];
  const spans: TempoSpan[] = [];
  for (const b of batches) {
    const res = attrs(b.resource?.attributes);
    const service = typeof res['service.name'] === 'string' ? res['service.name'] : 'unknown';
    for (const scope of [...(b.scopeSpans ?? []), ...(b.instrumentationLibrarySpans ?? [])]) {
      for (const s of scope.spans ?? []) {
        const spanId = hexId(s.spanId);
        if (!spanId) continue;
        spans.push({
          traceId: hexId(s.traceId) ?? '',
          spanId,
          parentSpanId: hexId(s.parentSpanId),
          name: s.name ?? '(unnamed)',
          kind: kindName(s.kind),
          service,
          start: nanosToMs(s.startTimeUnixNano),
          end: nanosToMs(s.endTimeUnixNano),
          status: statusName(s.status?.code),
          statusMessage: s.status?.message,
          attributes: attrs(s.attributes),
        });
      }
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}

/**
 * Fetches one trace from Tempo (`GET /api/traces/<id>`); undefined when Tempo does not know it.
 * @example const spans = await fetchTempoTrace('http://localhost:3200', id, 10_000);
 */
export async function fetchTempoTrace(
  baseUrl: string,
  traceId: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<TempoSpan[] | undefined> {
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const url = new URL(`api/traces/${encodeURIComponent(traceId)}`, base);
  const { status, body } = await getJson('Tempo', url, headers, timeoutMs);
  if (status === 404) return undefined;
  return parseOtlpTrace(body);
}
