import type { TempoSpan } from './internal/fetchTempoTrace';
import { isoOrNull, num } from './internal/format';
import type { LogEvent } from './internal/readEvent';

/** One log line of a trace, placed in time. */
export type TraceLine = {
  timestamp: string | null;
  /** ms since the first log line (or the trace root span, with Tempo). */
  offsetMs: number | null;
  /** ms since the previous line. */
  deltaMs: number | null;
  level: string;
  service: string | null;
  spanId: string | null;
  message: string;
  /** Event fields (everything but the contract's common fields). */
  fields: Record<string, unknown>;
};

/** A span of the Tempo trace with its children and the log lines emitted inside it. */
export type TraceSpanNode = {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: string;
  service: string;
  offsetMs: number;
  durationMs: number;
  status: string;
  statusMessage: string | null;
  depth: number;
  children: TraceSpanNode[];
  lines: TraceLine[];
};

/** Result of `mem0-logs trace <id>`. */
export type TraceTimeline = {
  id: string;
  /** Log lines found for the id (trace_id or correlation_id). */
  found: number;
  /** More than `limit` lines matched; the first `limit` are kept. */
  truncated: boolean;
  services: string[];
  start: string | null;
  durationMs: number | null;
  lines: TraceLine[];
  /** Present when Tempo answered with spans. */
  spans: TraceSpanNode[] | null;
  tempo: { url: string; status: 'ok' | 'not_found' | 'error'; message?: string } | null;
};

const COMMON = new Set([
  'timestamp',
  'level',
  'message',
  'service.name',
  'service.version',
  'deployment.environment',
  'deployment.environment.name',
  'trace_id',
  'span_id',
  'trace_flags',
  'correlation_id',
  'service_name',
  'service_version',
  'deployment_environment',
  'severity_text',
  'detected_level',
]);

export type TraceCollector = {
  add(ev: LogEvent): void;
  /** Orders the lines; with `spans` (from Tempo) builds the span tree and files lines under their spans. */
  result(spans?: TempoSpan[], tempo?: TraceTimeline['tempo']): TraceTimeline;
};

/**
 * Collects the log lines of one request, matched on trace_id or correlation_id (case-insensitive).
 * @example
 * const t = createTraceCollector('4bf92f3577b34da6a3ce929d0e0e4736');
 * for (const ev of events) t.add(ev);
 * t.result().lines.map((l) => l.message);
 */
export function createTraceCollector(id: string, options: { limit?: number } = {}): TraceCollector {
  const want = id.toLowerCase();
  const limit = options.limit ?? 10_000;
  const matched: LogEvent[] = [];
  let found = 0;
  const same = (v: string | undefined) =>
    v !== undefined && v.length === want.length && (v === want || v.toLowerCase() === want);

  return {
    add(ev) {
      if (!same(ev.traceId) && !same(ev.correlationId)) return;
      found++;
      if (matched.length < limit) matched.push(ev);
    },

    result(spans, tempo = null) {
      const sorted = [...matched].sort((a, b) => (a.ts || 0) - (b.ts || 0));
      // A loop, not Math.min(...spans): spreading a Tempo trace of 100k+ spans overflows the stack.
      let spanStart = Number.NaN;
      for (const s of spans ?? [])
        if (Number.isFinite(s.start) && !(s.start >= spanStart)) spanStart = s.start;
      const firstLog = sorted.find((e) => Number.isFinite(e.ts))?.ts ?? Number.NaN;
      const origin = Number.isFinite(spanStart)
        ? Math.min(spanStart, Number.isFinite(firstLog) ? firstLog : spanStart)
        : firstLog;
      let prev = Number.NaN;
      const lines: TraceLine[] = sorted.map((e) => {
        const fields: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(e.raw)) if (!COMMON.has(k)) fields[k] = v;
        const line: TraceLine = {
          timestamp: isoOrNull(e.ts),
          offsetMs: Number.isFinite(e.ts) && Number.isFinite(origin) ? num(e.ts - origin) : null,
          deltaMs: Number.isFinite(e.ts) && Number.isFinite(prev) ? num(e.ts - prev) : null,
          level: e.level,
          service: e.service ?? null,
          spanId: e.spanId?.toLowerCase() ?? null,
          message: e.message,
          fields,
        };
        if (Number.isFinite(e.ts)) prev = e.ts;
        return line;
      });
      const services = new Set<string>();
      for (const l of lines) if (l.service) services.add(l.service);
      for (const s of spans ?? []) services.add(s.service);
      let end = Number.isFinite(prev) ? prev : Number.NaN;
      for (const s of spans ?? []) if (Number.isFinite(s.end) && !(s.end <= end)) end = s.end;
      return {
        id,
        found,
        truncated: found > matched.length,
        services: [...services].sort(),
        start: isoOrNull(origin),
        durationMs: Number.isFinite(origin) && Number.isFinite(end) ? num(end - origin) : null,
        lines,
        spans: spans && spans.length > 0 ? buildTree(spans, lines, origin) : null,
        tempo,
      };
    },
  };
}

function buildTree(spans: TempoSpan[], lines: TraceLine[], origin: number): TraceSpanNode[] {
  const nodes = new Map<string, TraceSpanNode>();
  for (const s of spans) {
    nodes.set(s.spanId, {
      spanId: s.spanId,
      parentSpanId: s.parentSpanId ?? null,
      name: s.name,
      kind: s.kind,
      service: s.service,
      offsetMs: num(s.start - origin) ?? 0,
      durationMs: num(s.end - s.start) ?? 0,
      status: s.status,
      statusMessage: s.statusMessage ?? null,
      depth: 0,
      children: [],
      lines: [],
    });
  }
  const roots: TraceSpanNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.parentSpanId ? nodes.get(n.parentSpanId) : undefined;
    if (parent && parent !== n) parent.children.push(n);
    else roots.push(n);
  }
  // Lines go under their span; a line whose span Tempo does not have goes under the first root.
  for (const l of lines) {
    const n = (l.spanId && nodes.get(l.spanId)) || roots[0];
    n?.lines.push(l);
  }
  const visit = (n: TraceSpanNode, depth: number, seen: Set<string>) => {
    n.depth = depth;
    n.children.sort((a, b) => a.offsetMs - b.offsetMs);
    seen.add(n.spanId);
    n.children = n.children.filter((c) => !seen.has(c.spanId));
    for (const c of n.children) visit(c, depth + 1, seen);
  };
  roots.sort((a, b) => a.offsetMs - b.offsetMs);
  const seen = new Set<string>();
  for (const r of roots) visit(r, 0, seen);
  // Spans in a parent cycle (corrupt data) have no root: show them at the top, not lose them.
  for (const n of nodes.values()) {
    if (seen.has(n.spanId)) continue;
    roots.push(n);
    visit(n, 0, seen);
  }
  return roots;
}
