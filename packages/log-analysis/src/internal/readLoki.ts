import { setTimeout as sleep } from 'node:timers/promises';
import { LogAnalysisError } from '../LogAnalysisError';
import { DEFAULT_FIELDS } from './fields';
import { getJson } from './httpJson';
import type { InputStats, RecordSink } from './readInputs';

export type LokiOptions = {
  /** Base URL, e.g. http://localhost:3100 */
  url: string;
  /** LogQL, e.g. {service_name="memory-service"} */
  query: string;
  /** Range, epoch ms. */
  start: number;
  end: number;
  /** Entries per page (Loki's default max_entries_limit_per_query is 5000). */
  limit: number;
  headers: Record<string, string>;
  timeoutMs: number;
};

const TIMESTAMP_KEYS = DEFAULT_FIELDS.timestamp;

type Entry = {
  ts: bigint;
  line: string;
  labels: Record<string, string>;
  meta: Record<string, string> | undefined;
};

type StreamsBody = {
  status?: string;
  data?: {
    resultType?: string;
    result?: Array<{
      stream?: Record<string, string>;
      values?: Array<[string, string, Record<string, unknown>?]>;
    }>;
  };
};

/** Structured metadata arrives flat, or (with categorize-labels) as {structuredMetadata, parsed}. */
function flattenMeta(m: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (v && typeof v === 'object') Object.assign(out, v as Record<string, string>);
    else out[k] = String(v);
  }
  return out;
}

/** Turns one Loki entry into a record: a JSON line keeps its own fields, labels fill the gaps. */
function toRecord(e: Entry): Record<string, unknown> | undefined {
  const line = e.line;
  if (line.charCodeAt(0) === 123) {
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const rec = v as Record<string, unknown>;
        for (const [k, val] of Object.entries(e.labels)) if (!(k in rec)) rec[k] = val;
        if (e.meta) for (const [k, val] of Object.entries(e.meta)) if (!(k in rec)) rec[k] = val;
        // Loki's timestamp only fills in for a line without its own (`time` of pino, `@timestamp`…).
        if (!TIMESTAMP_KEYS.some((k) => rec[k] !== undefined)) rec.timestamp = e.ts.toString();
        return rec;
      }
    } catch {
      // not JSON: an OTLP body; fall through and build the record from labels
    }
  }
  // OTLP-ingested logs: the line is the body, attributes are labels/structured metadata with
  // `.` turned into `_` (service_name, trace_id, http_route…); fields.ts reads both spellings.
  return { ...e.labels, ...e.meta, message: line, timestamp: e.ts.toString() };
}

/**
 * Reads a LogQL query through /loki/api/v1/query_range, forward in time, page by page:
 * the next page starts at the last timestamp seen, and entries already delivered at that
 * exact nanosecond are skipped, so nothing is lost or doubled at page boundaries.
 * With `pollMs` > 0 it keeps polling for new entries until `signal` aborts (follow mode).
 */
export async function readLoki(
  o: LokiOptions,
  stats: InputStats,
  sink: RecordSink,
  pollMs: number,
  signal?: AbortSignal,
): Promise<void> {
  let base: URL;
  try {
    base = new URL(o.url.endsWith('/') ? o.url : `${o.url}/`);
  } catch {
    throw new LogAnalysisError('USAGE', `--loki "${o.url}" is not a URL`);
  }
  let start = BigInt(Math.floor(o.start)) * 1_000_000n;
  let end = BigInt(Math.floor(o.end)) * 1_000_000n;
  let boundarySeen = new Set<string>();
  for (;;) {
    if (signal?.aborted) return;
    const url = new URL('loki/api/v1/query_range', base);
    url.searchParams.set('query', o.query);
    url.searchParams.set('start', start.toString());
    url.searchParams.set('end', end.toString());
    url.searchParams.set('limit', String(o.limit));
    url.searchParams.set('direction', 'forward');
    let res: Awaited<ReturnType<typeof getJson>>;
    try {
      res = await getJson('Loki', url, o.headers, o.timeoutMs, signal);
    } catch (e) {
      if (signal?.aborted) return; // Ctrl-C in follow mode: a clean stop, not a Loki failure
      throw e;
    }
    const { status, body } = res;
    if (status === 404)
      throw new LogAnalysisError('SOURCE', `no Loki API at ${url.origin}${url.pathname} (HTTP 404)`);
    const b = body as StreamsBody;
    if (b?.status !== 'success' || !Array.isArray(b.data?.result)) {
      throw new LogAnalysisError('SOURCE', 'Loki answered an unexpected document (no data.result)');
    }
    if (b.data?.resultType && b.data.resultType !== 'streams') {
      throw new LogAnalysisError(
        'USAGE',
        `--query must select log lines, not a metric (got ${b.data.resultType})`,
      );
    }
    const entries: Entry[] = [];
    for (const s of b.data?.result ?? []) {
      const labels = s.stream ?? {};
      for (const v of s.values ?? []) {
        if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'string') continue;
        let ts: bigint;
        try {
          ts = BigInt(v[0]);
        } catch {
          continue;
        }
        entries.push({ ts, line: v[1], labels, meta: flattenMeta(v[2]) });
      }
    }
    entries.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    let delivered = 0;
    const last = entries.length > 0 ? entries[entries.length - 1]!.ts : undefined;
    const nextSeen = new Set<string>();
    for (const e of entries) {
      const key = `${e.ts}\u0000${JSON.stringify(e.labels)}\u0000${e.line}`;
      if (e.ts === start && boundarySeen.has(key)) continue;
      if (e.ts === last) nextSeen.add(key);
      delivered++;
      stats.lines++;
      const rec = toRecord(e);
      if (rec) {
        stats.records++;
        sink(rec);
      } else stats.malformed++;
    }
    const full = entries.length >= o.limit;
    if (last !== undefined) {
      if (last === start) for (const k of boundarySeen) nextSeen.add(k);
      boundarySeen = nextSeen;
      start = last;
    }
    if (full && delivered === 0) {
      // A whole page at one nanosecond, all seen: step past it rather than loop forever.
      start += 1n;
      boundarySeen = new Set();
    }
    if (full) continue;
    if (pollMs <= 0) return;
    try {
      await sleep(pollMs, undefined, { signal });
    } catch {
      return;
    }
    end = BigInt(Date.now()) * 1_000_000n;
  }
}
