import { isoOrNull, num } from './internal/format';
import type { LogEvent } from './internal/readEvent';
import { SlowestHeap } from './internal/slowestHeap';
import { TDigest } from './internal/tdigest';

export type Percentiles = { p50: number | null; p90: number | null; p95: number | null; p99: number | null };

/** Result of the `latency` analysis (the `--json` document of `mem0-logs latency`). */
export type LatencySummary = {
  requests: number;
  overall: Percentiles & { max: number | null; mean: number | null };
  routes: Array<
    {
      method: string;
      route: string;
      count: number;
      max: number | null;
      mean: number | null;
      serverErrors: number;
      clientErrors: number;
    } & Percentiles
  >;
  slowest: SlowRequest[];
  operations: Array<
    {
      operation: string;
      count: number;
      failures: number;
      max: number | null;
      mean: number | null;
    } & Percentiles
  >;
  slowestOperations: SlowOperation[];
};

export type SlowRequest = {
  timestamp: string | null;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  correlationId: string | null;
  traceId: string | null;
  service: string | null;
};

export type SlowOperation = {
  timestamp: string | null;
  operation: string;
  durationMs: number;
  failed: boolean;
  correlationId: string | null;
  service: string | null;
};

export type LatencyStatsOptions = {
  /** Rows in the slowest lists (default 10). */
  top?: number;
  /** Only routes/operations whose name contains this text. */
  route?: string;
};

export type LatencyStats = { add(ev: LogEvent): void; result(): LatencySummary };

const MAX_ROUTES = 500;

type Acc = { digest: TDigest; count: number; sum: number; a: number; b: number };

function newAcc(): Acc {
  return { digest: new TDigest(200), count: 0, sum: 0, a: 0, b: 0 };
}

function percentiles(d: TDigest): Percentiles {
  return {
    p50: num(d.quantile(0.5)),
    p90: num(d.quantile(0.9)),
    p95: num(d.quantile(0.95)),
    p99: num(d.quantile(0.99)),
  };
}

function getAcc(map: Map<string, Acc>, key: string): Acc {
  let acc = map.get(key);
  if (acc === undefined) {
    // Route templates are few; a service logging raw paths must not grow this without bound.
    const k = map.size < MAX_ROUTES ? key : '(other)';
    acc = map.get(k) ?? newAcc();
    map.set(k, acc);
  }
  return acc;
}

/**
 * Latency analysis: per-route percentiles from request lines (t-digest, bounded memory),
 * the slowest requests with their correlation ids, and timed() operations.
 * @example
 * const lat = createLatencyStats({ top: 5 });
 * for (const ev of events) lat.add(ev);
 * lat.result().routes[0].p95;
 */
export function createLatencyStats(options: LatencyStatsOptions = {}): LatencyStats {
  const top = options.top ?? 10;
  const filter = options.route;
  const routes = new Map<string, Acc>();
  const ops = new Map<string, Acc>();
  const overall = newAcc();
  const slowest = new SlowestHeap<SlowRequest>(top);
  const slowOps = new SlowestHeap<SlowOperation>(top);

  return {
    add(ev) {
      const r = ev.request;
      if (r !== undefined) {
        if (filter !== undefined && !r.route.includes(filter)) return;
        const d = r.durationMs;
        const acc = getAcc(routes, `${r.method} ${r.route}`);
        acc.digest.add(d);
        acc.count++;
        acc.sum += d;
        if (r.status >= 500) acc.a++;
        else if (r.status >= 400) acc.b++;
        overall.digest.add(d);
        overall.count++;
        overall.sum += d;
        if (slowest.accepts(d)) {
          slowest.offer(d, {
            timestamp: isoOrNull(ev.ts),
            method: r.method,
            route: r.route,
            status: r.status,
            durationMs: d,
            correlationId: ev.correlationId ?? ev.traceId ?? null,
            traceId: ev.traceId ?? null,
            service: ev.service ?? null,
          });
        }
        return;
      }
      const t = ev.timed;
      if (t !== undefined) {
        if (filter !== undefined && !t.operation.includes(filter)) return;
        const acc = getAcc(ops, t.operation);
        acc.digest.add(t.durationMs);
        acc.count++;
        acc.sum += t.durationMs;
        if (t.failed) acc.a++;
        if (slowOps.accepts(t.durationMs)) {
          slowOps.offer(t.durationMs, {
            timestamp: isoOrNull(ev.ts),
            operation: t.operation,
            durationMs: t.durationMs,
            failed: t.failed,
            correlationId: ev.correlationId ?? ev.traceId ?? null,
            service: ev.service ?? null,
          });
        }
      }
    },

    result() {
      return {
        requests: overall.count,
        overall: {
          ...percentiles(overall.digest),
          max: num(overall.digest.max),
          mean: overall.count > 0 ? num(overall.sum / overall.count) : null,
        },
        routes: [...routes.entries()]
          .map(([key, a]) => {
            const sp = key.indexOf(' ');
            return {
              method: key === '(other)' ? '*' : key.slice(0, sp),
              route: key === '(other)' ? '(other)' : key.slice(sp + 1),
              count: a.count,
              ...percentiles(a.digest),
              max: num(a.digest.max),
              mean: num(a.sum / a.count),
              serverErrors: a.a,
              clientErrors: a.b,
            };
          })
          .sort((x, y) => (y.p95 ?? 0) - (x.p95 ?? 0) || y.count - x.count),
        slowest: slowest.sorted(),
        operations: [...ops.entries()]
          .map(([operation, a]) => ({
            operation,
            count: a.count,
            failures: a.a,
            ...percentiles(a.digest),
            max: num(a.digest.max),
            mean: num(a.sum / a.count),
          }))
          .sort((x, y) => (y.p95 ?? 0) - (x.p95 ?? 0) || y.count - x.count),
        slowestOperations: slowOps.sorted(),
      };
    },
  };
}
