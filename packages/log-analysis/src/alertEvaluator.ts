import type { AlertRule, AlertRuleSet } from './alertRules';
import { isoOrNull, num } from './internal/format';
import { formatDuration } from './internal/parseDuration';
import type { LogEvent } from './internal/readEvent';
import { TDigest } from './internal/tdigest';

export type AlertState = 'firing' | 'pending' | 'ok' | 'no_data';

export type AlertResult = {
  name: string;
  expr: string;
  severity: string;
  summary: string;
  window: string;
  for: string;
  /** State at the last evaluation (the window ending at the newest record, or --now). */
  state: AlertState;
  value: number | null;
  samples: number;
  evaluatedAt: string | null;
  /** Evaluations (one per step) in which the rule was firing, over the whole input. */
  firedWindows: number;
  firstFiredAt: string | null;
  lastFiredAt: string | null;
};

/** Result of the `alerts` command. */
export type AlertsSummary = {
  evaluatedAt: string | null;
  step: string;
  evaluations: number;
  /** Records older than the retained windows when they arrived (out-of-order input): not evaluated. */
  late: number;
  /** Records without a readable timestamp: not evaluated. */
  noTimestamp: number;
  firing: number;
  firedAnytime: number;
  rules: AlertResult[];
};

export type AlertEvaluator = { add(ev: LogEvent): void; result(): AlertsSummary };

type Bucket = {
  requests: number;
  serverErrors: number;
  digest: TDigest | undefined;
  errors: number;
  unclassified: number;
  opens: number;
  recovered: number;
  exhausted: number;
  hits: number;
  misses: number;
};

type Series = {
  service: string | undefined;
  route: string | undefined;
  buckets: Map<number, Bucket>;
  /** Breaker name → when it left the closed state. */
  openSince: Map<string, number>;
};

type RuleState = {
  rule: AlertRule;
  series: Series;
  activeSince: number | undefined;
  fired: number;
  first: number;
  last: number;
  lastEval: { at: number; value: number | null; samples: number; state: AlertState } | undefined;
};

function newBucket(): Bucket {
  return {
    requests: 0,
    serverErrors: 0,
    digest: undefined,
    errors: 0,
    unclassified: 0,
    opens: 0,
    recovered: 0,
    exhausted: 0,
    hits: 0,
    misses: 0,
  };
}

const QUANTILE: Record<string, number> = { p50_ms: 0.5, p90_ms: 0.9, p95_ms: 0.95, p99_ms: 0.99 };

/**
 * Evaluates threshold rules over sliding windows while the input streams by: records go
 * into per-step buckets, every step boundary evaluates each rule over the buckets of its
 * window, and buckets older than the longest window are dropped (memory ∝ window / step).
 * Input is expected roughly in time order (files are read oldest first).
 * @example
 * const ev = createAlertEvaluator(loadRules());
 * for (const e of events) ev.add(e);
 * if (ev.result().firing > 0) process.exitCode = 1;
 */
export function createAlertEvaluator(
  set: AlertRuleSet,
  options: { now?: number | (() => number) } = {},
): AlertEvaluator {
  const step = set.step;
  const seriesByKey = new Map<string, Series>();
  const states: RuleState[] = set.rules.map((rule) => {
    const key = `${rule.service ?? ''}\u0000${rule.route ?? ''}`;
    let series = seriesByKey.get(key);
    if (!series) {
      series = { service: rule.service, route: rule.route, buckets: new Map(), openSince: new Map() };
      seriesByKey.set(key, series);
    }
    return {
      rule,
      series,
      activeSince: undefined,
      fired: 0,
      first: Number.NaN,
      last: Number.NaN,
      lastEval: undefined,
    };
  });
  const allSeries = [...seriesByKey.values()];
  const maxWindow = Math.max(...set.rules.map((r) => r.window));
  let next = Number.NaN; // next window end to evaluate
  let lastData = Number.NaN;
  let maxTs = Number.NEGATIVE_INFINITY;
  let evaluations = 0;
  let late = 0;
  let noTimestamp = 0;

  function value(st: RuleState, end: number): { value: number | null; samples: number } {
    const r = st.rule;
    const from = end - r.window;
    let requests = 0;
    let serverErrors = 0;
    let errors = 0;
    let unclassified = 0;
    let opens = 0;
    let recovered = 0;
    let exhausted = 0;
    let hits = 0;
    let misses = 0;
    const q = QUANTILE[r.metric];
    const digest = q !== undefined ? new TDigest(100) : undefined;
    for (const [start, b] of st.series.buckets) {
      if (start < from || start >= end) continue;
      requests += b.requests;
      serverErrors += b.serverErrors;
      errors += b.errors;
      unclassified += b.unclassified;
      opens += b.opens;
      recovered += b.recovered;
      exhausted += b.exhausted;
      hits += b.hits;
      misses += b.misses;
      if (digest && b.digest) digest.merge(b.digest);
    }
    const ratio = (n: number, d: number) =>
      d >= Math.max(1, r.minSamples) ? { value: n / d, samples: d } : { value: null, samples: d };
    switch (r.metric) {
      case 'p50_ms':
      case 'p90_ms':
      case 'p95_ms':
      case 'p99_ms':
        return requests >= Math.max(1, r.minSamples)
          ? { value: digest!.quantile(q!), samples: requests }
          : { value: null, samples: requests };
      case 'error_ratio':
        return ratio(serverErrors, requests);
      case 'request_count':
        return { value: requests, samples: requests };
      case 'error_count':
        return { value: errors, samples: errors };
      case 'unclassified_count':
        return { value: unclassified, samples: unclassified };
      case 'breaker_open_events':
        return { value: opens, samples: opens };
      case 'breaker_open_seconds': {
        let longest = 0;
        for (const since of st.series.openSince.values())
          if (since < end) longest = Math.max(longest, end - since);
        return { value: longest / 1000, samples: st.series.openSince.size };
      }
      case 'recovery_rate':
        return ratio(recovered, recovered + exhausted);
      case 'cache_hit_ratio':
        return ratio(hits, hits + misses);
    }
  }

  function evaluate(end: number): void {
    evaluations++;
    for (const st of states) {
      const { value: v, samples } = value(st, end);
      const r = st.rule;
      let state: AlertState;
      if (v === null) {
        st.activeSince = undefined;
        state = 'no_data';
      } else {
        const hit =
          r.op === '>'
            ? v > r.threshold
            : r.op === '>='
              ? v >= r.threshold
              : r.op === '<'
                ? v < r.threshold
                : v <= r.threshold;
        if (!hit) {
          st.activeSince = undefined;
          state = 'ok';
        } else {
          st.activeSince ??= end;
          state = end - st.activeSince >= r.for ? 'firing' : 'pending';
        }
      }
      if (state === 'firing') {
        st.fired++;
        if (Number.isNaN(st.first)) st.first = end;
        st.last = end;
      }
      st.lastEval = { at: end, value: v, samples, state };
    }
  }

  /** Evaluates every boundary up to `ts`; across a long silence only the first windows and the last matter. */
  function advance(ts: number): void {
    const quietLimit = lastData + maxWindow + step;
    while (next <= ts) {
      evaluate(next);
      next += step;
      if (next > quietLimit && next <= ts - step) {
        next = Math.floor(ts / step) * step;
      }
    }
    const keepFrom = next - maxWindow - step;
    for (const s of allSeries) for (const k of s.buckets.keys()) if (k < keepFrom) s.buckets.delete(k);
  }

  return {
    add(ev) {
      const ts = ev.ts;
      if (!Number.isFinite(ts)) {
        noTimestamp++;
        return;
      }
      if (Number.isNaN(next)) next = Math.floor(ts / step) * step + step;
      else if (ts >= next) advance(ts);
      if (ts > maxTs) maxTs = ts;
      lastData = ts;
      const start = Math.floor(ts / step) * step;
      if (start < next - maxWindow - step) {
        late++;
        return;
      }
      for (const s of allSeries) {
        if (s.service !== undefined && ev.service !== s.service) continue;
        const r = ev.request;
        if (s.route !== undefined && (r === undefined || !r.route.includes(s.route))) {
          // A route-scoped rule still sees breaker transitions: they are not per route.
          if (ev.resilience === undefined || !ev.resilience.startsWith('breaker')) continue;
        }
        let b = s.buckets.get(start);
        if (b === undefined) {
          b = newBucket();
          s.buckets.set(start, b);
        }
        if (r !== undefined) {
          b.requests++;
          if (r.status >= 500) b.serverErrors++;
          b.digest ??= new TDigest(50);
          b.digest.add(r.durationMs);
        }
        if (ev.error !== undefined) {
          b.errors++;
          if (ev.error.unclassified) b.unclassified++;
        }
        if (ev.cache === 'hit') b.hits++;
        else if (ev.cache === 'miss') b.misses++;
        const res = ev.resilience;
        if (res === 'recovered') b.recovered++;
        else if (res === 'exhausted') b.exhausted++;
        else if (res === 'breaker_open' || res === 'breaker_half_open') {
          if (res === 'breaker_open') b.opens++;
          const name = ev.breaker ?? '(default)';
          if (!s.openSince.has(name) && s.openSince.size < 1000) s.openSince.set(name, ts);
        } else if (res === 'breaker_closed') s.openSince.delete(ev.breaker ?? '(default)');
      }
    },

    result() {
      // The last window ends at the step boundary after the newest record (or after --now);
      // evaluating it through advance() commits it once, so calling result() again is harmless.
      let end: number | undefined;
      const now = typeof options.now === 'function' ? options.now() : options.now;
      if (now !== undefined) end = Math.ceil(now / step) * step;
      else if (Number.isFinite(maxTs)) end = Math.floor(maxTs / step) * step + step;
      if (end !== undefined) {
        if (Number.isNaN(next)) next = end;
        if (Number.isNaN(lastData)) lastData = end;
        advance(end);
      }
      const rules = states.map(
        (st): AlertResult => ({
          name: st.rule.name,
          expr: st.rule.expr,
          severity: st.rule.severity,
          summary: st.rule.summary,
          window: formatDuration(st.rule.window),
          for: formatDuration(st.rule.for),
          state: st.lastEval?.state ?? 'no_data',
          value: st.lastEval?.value === null || st.lastEval === undefined ? null : num(st.lastEval.value),
          samples: st.lastEval?.samples ?? 0,
          evaluatedAt: st.lastEval ? isoOrNull(st.lastEval.at) : null,
          firedWindows: st.fired,
          firstFiredAt: isoOrNull(st.first),
          lastFiredAt: isoOrNull(st.last),
        }),
      );
      return {
        evaluatedAt: end === undefined ? null : isoOrNull(end),
        step: formatDuration(step),
        evaluations,
        late,
        noTimestamp,
        firing: rules.filter((r) => r.state === 'firing').length,
        firedAnytime: rules.filter((r) => r.firedWindows > 0).length,
        rules,
      };
    },
  };
}
