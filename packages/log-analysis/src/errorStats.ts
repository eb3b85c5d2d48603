import { isoOrNull, num } from './internal/format';
import { normalizeMessage } from './internal/normalizeMessage';
import type { LogEvent } from './internal/readEvent';
import { TopCounter } from './internal/topCounter';
import { Trend } from './internal/trend';

export type CountRow = { key: string; count: number; share: number };

/** Result of the `errors` analysis (the `--json` document of `mem0-logs errors`). */
export type ErrorSummary = {
  period: { from: string | null; to: string | null };
  records: number;
  /** Records carrying error fields, plus error-level lines without them (request lines excluded). */
  errors: number;
  /** Records that classify() marked unclassified: gaps in the error taxonomy to fix. */
  unclassified: number;
  /** Error-level lines with no error.code/category at all (not logged through classify()). */
  unstructured: number;
  byCategory: CountRow[];
  bySeverity: CountRow[];
  byCode: Array<{
    code: string;
    category: string;
    severity: string;
    count: number;
    firstSeen: string | null;
    lastSeen: string | null;
  }>;
  byService: Array<{ service: string; records: number; errors: number }>;
  topMessages: MessageRow[];
  unclassifiedMessages: MessageRow[];
  trend: {
    interval: string;
    widened: boolean;
    buckets: Array<{
      start: string;
      records: number;
      errors: number;
      requests: number;
      serverErrors: number;
    }>;
  };
  requests: { total: number; serverErrors: number; serverErrorRatio: number | null };
  recovery: {
    retries: number;
    recovered: number;
    exhausted: number;
    /** recovered / (recovered + exhausted); null without resilience outcomes. */
    rate: number | null;
    breakerOpens: number;
    breakers: Array<{ name: string; opens: number; lastOpened: string | null }>;
  };
  /** True when a capped counter had to forget keys (counts are then lower bounds; see countError). */
  approximate: boolean;
};

export type MessageRow = {
  message: string;
  count: number;
  /** Upper bound of the undercount: the true count is in [count, count + countError]. */
  countError: number;
  code: string;
  firstSeen: string | null;
  lastSeen: string | null;
};

export type ErrorStatsOptions = {
  /** Trend interval in ms; undefined = automatic (≤ 48 buckets). */
  interval?: number;
  /** Rows in the top lists (default 10). */
  top?: number;
  /** Distinct normalised messages remembered (default 2000). */
  capacity?: number;
};

/** An incremental error analysis: feed events with `add`, read the summary with `result`. */
export type ErrorStats = { add(ev: LogEvent): void; result(): ErrorSummary };

const MAX_KEYS = 1000;

function bump(map: Map<string, number>, key: string): void {
  const v = map.get(key);
  if (v !== undefined) map.set(key, v + 1);
  else if (map.size < MAX_KEYS) map.set(key, 1);
  else map.set('(other)', (map.get('(other)') ?? 0) + 1);
}

function rows(map: Map<string, number>, total: number): CountRow[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([key, count]) => ({ key, count, share: total > 0 ? num(count / total)! : 0 }));
}

/**
 * Error analytics over a stream of events, in bounded memory.
 * @example
 * const stats = createErrorStats({ top: 5 });
 * for (const ev of events) stats.add(ev);
 * console.log(stats.result().byCategory);
 */
export function createErrorStats(options: ErrorStatsOptions = {}): ErrorStats {
  const top = options.top ?? 10;
  const byCategory = new Map<string, number>();
  const bySeverity = new Map<string, number>();
  const byCode = new Map<
    string,
    { category: string; severity: string; count: number; first: number; last: number }
  >();
  const byService = new Map<string, { records: number; errors: number }>();
  const messages = new TopCounter<{ code: string; message: string }>(options.capacity ?? 2000);
  const unclassifiedMessages = new TopCounter<{ code: string; message: string }>(options.capacity ?? 2000);
  const trend = new Trend(options.interval);
  const breakers = new Map<string, { opens: number; last: number }>();
  let records = 0;
  let errors = 0;
  let unclassified = 0;
  let unstructured = 0;
  let requests = 0;
  let serverErrors = 0;
  let retries = 0;
  let recovered = 0;
  let exhausted = 0;
  let breakerOpens = 0;
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;

  return {
    add(ev) {
      records++;
      const ts = ev.ts;
      if (ts < from) from = ts;
      if (ts > to) to = ts;
      const b = trend.bucket(ts);
      if (b) b.records++;
      const svcKey = ev.service ?? '(unknown)';
      let svc = byService.get(svcKey);
      if (svc === undefined) {
        // Capped like the other maps: beyond MAX_KEYS services, counts go to (other).
        const k = byService.size < MAX_KEYS ? svcKey : '(other)';
        svc = byService.get(k) ?? { records: 0, errors: 0 };
        byService.set(k, svc);
      }
      if (svc) svc.records++;
      if (ev.request) {
        requests++;
        if (b) b.requests++;
        if (ev.request.status >= 500) {
          serverErrors++;
          if (b) b.serverErrors++;
        }
      }
      const r = ev.resilience;
      if (r !== undefined) {
        if (r === 'retry') retries++;
        else if (r === 'recovered') recovered++;
        else if (r === 'exhausted') exhausted++;
        else if (r === 'breaker_open') {
          breakerOpens++;
          const name = ev.breaker ?? '(default)';
          const br = breakers.get(name) ?? (breakers.size < MAX_KEYS ? { opens: 0, last: ts } : undefined);
          if (br) {
            br.opens++;
            if (ts > br.last || Number.isNaN(br.last)) br.last = ts;
            breakers.set(name, br);
          }
        }
      }
      const e = ev.error;
      if (e === undefined) return;
      errors++;
      if (b) b.errors++;
      if (svc) svc.errors++;
      bump(byCategory, e.category);
      bump(bySeverity, e.severity);
      // Beyond MAX_KEYS codes, counts go to (other) instead of disappearing.
      const codeKey = byCode.has(e.code) || byCode.size < MAX_KEYS ? e.code : '(other)';
      const c = byCode.get(codeKey);
      if (c) {
        c.count++;
        if (ts < c.first || Number.isNaN(c.first)) c.first = ts;
        if (ts > c.last || Number.isNaN(c.last)) c.last = ts;
      } else {
        const other = codeKey === '(other)';
        byCode.set(codeKey, {
          category: other ? '(other)' : e.category,
          severity: other ? '(other)' : e.severity,
          count: 1,
          first: ts,
          last: ts,
        });
      }
      if (!e.structured) unstructured++;
      // Keyed by code and message: the same text under two codes is two problems.
      const text = normalizeMessage(e.message ?? ev.message);
      const key = `${e.code}\u0000${text}`;
      const make = () => ({ code: e.code, message: text });
      messages.add(key, ts, make);
      if (e.unclassified) {
        unclassified++;
        unclassifiedMessages.add(key, ts, make);
      }
    },

    result() {
      const msgRows = (c: TopCounter<{ code: string; message: string }>): MessageRow[] =>
        c.top(top).map((m) => ({
          message: m.data.message,
          count: m.count,
          countError: m.error,
          code: m.data.code,
          firstSeen: isoOrNull(m.firstSeen),
          lastSeen: isoOrNull(m.lastSeen),
        }));
      const resolved = recovered + exhausted;
      return {
        period: { from: isoOrNull(from), to: isoOrNull(to) },
        records,
        errors,
        unclassified,
        unstructured,
        byCategory: rows(byCategory, errors),
        bySeverity: rows(bySeverity, errors),
        byCode: [...byCode.entries()]
          .sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))
          .map(([code, v]) => ({
            code,
            category: v.category,
            severity: v.severity,
            count: v.count,
            firstSeen: isoOrNull(v.first),
            lastSeen: isoOrNull(v.last),
          })),
        byService: [...byService.entries()]
          .sort((a, b) => b[1].records - a[1].records)
          .map(([service, v]) => ({ service, ...v })),
        topMessages: msgRows(messages),
        unclassifiedMessages: msgRows(unclassifiedMessages),
        trend: {
          interval: trend.label,
          widened: trend.widened,
          buckets: trend.list().map((x) => ({
            start: new Date(x.start).toISOString(),
            records: x.records,
            errors: x.errors,
            requests: x.requests,
            serverErrors: x.serverErrors,
          })),
        },
        requests: {
          total: requests,
          serverErrors,
          serverErrorRatio: requests > 0 ? num(serverErrors / requests) : null,
        },
        recovery: {
          retries,
          recovered,
          exhausted,
          rate: resolved > 0 ? num(recovered / resolved) : null,
          breakerOpens,
          breakers: [...breakers.entries()]
            .sort((a, b) => b[1].opens - a[1].opens)
            .map(([name, v]) => ({ name, opens: v.opens, lastOpened: isoOrNull(v.last) })),
        },
        approximate: messages.evicted > 0 || unclassifiedMessages.evicted > 0,
      };
    },
  };
}
