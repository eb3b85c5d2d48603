import type { AlertRule, AlertRuleSet } from './alertRules';
import { ERROR_LEVELS } from './internal/fields';
import { isoOrNull, num } from './internal/format';
import { formatDuration } from './internal/parseDuration';
import type { LogEvent } from './internal/readEvent';
import { TDigest } from './internal/tdigest';

export type AlertState = 'firing' | 'pending' | 'ok' | 'no_data';

/** One group (service and/or route) of a grouped rule at the last evaluation. */
export type AlertGroup = { group: string; state: AlertState; value: number | null; samples: number };

export type AlertResult = {
  name: string;
  expr: string;
  severity: string;
  summary: string;
  window: string;
  for: string;
  by: string[];
  /** State at the last evaluation (the window ending at the newest record, or --now): the worst group's. */
  state: AlertState;
  /** Value of the worst group (for ungrouped rules, the only one). */
  value: number | null;
  samples: number;
  /** The worst group's key (`service`, `GET /route`, `service GET /route`); '' when ungrouped. */
  group: string;
  /** Firing and pending groups at the last evaluation (at most 20). */
  groups: AlertGroup[];
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
  records: number;
  errorLogs: number;
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

type Group = {
  buckets: Map<number, Bucket>;
  /** Breaker name → when it left the closed state. */
  openSince: Map<string, number>;
};

type Series = {
  service: string | undefined;
  route: string | undefined;
  by: Array<'service' | 'route'>;
  groups: Map<string, Group>;
};

type GroupState = { activeSince: number | undefined; last: AlertGroup | undefined };

type RuleState = {
  rule: AlertRule;
  series: Series;
  groups: Map<string, GroupState>;
  fired: number;
  first: number;
  last: number;
  lastAt: number;
  worst: AlertGroup | undefined;
  active: AlertGroup[];
};

const MAX_GROUPS = 500;
const RANK: Record<AlertState, number> = { firing: 3, pending: 2, ok: 1, no_data: 0 };
const QUANTILE: Record<string, number> = { p50_ms: 0.5, p90_ms: 0.9, p95_ms: 0.95, p99_ms: 0.99 };

function newBucket(): Bucket {
  return {
    records: 0,
    errorLogs: 0,
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

function compare(op: AlertRule['op'], v: number, t: number): boolean {
  return op === '>' ? v > t : op === '>=' ? v >= t : op === '<' ? v < t : v <= t;
}

/**
 * Evaluates threshold rules over sliding windows while the input streams by: records go
 * into per-step buckets (per group for `by` rules), every step boundary evaluates each rule
 * over the buckets of its window, and buckets older than the longest window are dropped, so
 * memory is proportional to window / step × groups, not to the input.
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
    const key = `${rule.service ?? ''}\u0000${rule.route ?? ''}\u0000${rule.by.join(',')}`;
    let series = seriesByKey.get(key);
    if (!series) {
      series = { service: rule.service, route: rule.route, by: rule.by, groups: new Map() };
      // An ungrouped rule always has its one group, so a quiet window reads 0, not "no data".
      if (rule.by.length === 0) series.groups.set('', { buckets: new Map(), openSince: new Map() });
      seriesByKey.set(key, series);
    }
    return {
      rule,
      series,
      groups: new Map(),
      fired: 0,
      first: Number.NaN,
      last: Number.NaN,
      lastAt: Number.NaN,
      worst: undefined,
      active: [],
    };
  });
  const allSeries = [...seriesByKey.values()];
  const maxWindow = Math.max(...set.rules.map((r) => r.window));
  // Records are bucketed at the gcd of the step and every window, so a window that is not a
  // multiple of the step (5m windows every 2m) starts on a bucket boundary and is summed whole.
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const whole = [step, ...set.rules.map((r) => r.window)].every(Number.isInteger);
  const fine = whole ? set.rules.reduce((g, r) => gcd(g, r.window), step) : step;
  // Bounded: a window of 60001 ms would otherwise make 1 ms buckets.
  const bucketMs = maxWindow / fine <= 10_000 ? fine : step;
  let next = Number.NaN; // the next window end to evaluate
  let lastData = Number.NaN;
  let maxTs = Number.NEGATIVE_INFINITY;
  let evaluations = 0;
  let late = 0;
  let noTimestamp = 0;

  function value(r: AlertRule, g: Group, end: number): { value: number | null; samples: number } {
    const from = end - r.window;
    const t = newBucket();
    const q = QUANTILE[r.metric];
    const digest = q !== undefined ? new TDigest(200) : undefined;
    for (const [start, b] of g.buckets) {
      if (start < from || start >= end) continue;
      t.records += b.records;
      t.errorLogs += b.errorLogs;
      t.requests += b.requests;
      t.serverErrors += b.serverErrors;
      t.errors += b.errors;
      t.unclassified += b.unclassified;
      t.opens += b.opens;
      t.recovered += b.recovered;
      t.exhausted += b.exhausted;
      t.hits += b.hits;
      t.misses += b.misses;
      if (digest && b.digest) digest.merge(b.digest);
    }
    const min = Math.max(1, r.minSamples);
    const ratio = (n: number, d: number) => ({ value: d >= min ? n / d : null, samples: d });
    const count = (n: number, samples = n) => ({ value: samples >= r.minSamples ? n : null, samples });
    switch (r.metric) {
      case 'p50_ms':
      case 'p90_ms':
      case 'p95_ms':
      case 'p99_ms':
        return { value: t.requests >= min ? digest!.quantile(q!) : null, samples: t.requests };
      case 'error_ratio':
        return ratio(t.serverErrors, t.requests);
      case 'error_log_ratio':
        return ratio(t.errorLogs, t.records);
      case 'request_count':
        return count(t.requests);
      case 'server_error_count':
        return count(t.serverErrors, t.requests);
      case 'record_count':
        return count(t.records);
      case 'error_count':
        return count(t.errors, t.records);
      case 'error_log_count':
        return count(t.errorLogs, t.records);
      case 'unclassified_count':
        return count(t.unclassified, t.records);
      case 'breaker_open_events':
        return count(t.opens, t.records);
      case 'breaker_open_seconds': {
        let longest = 0;
        for (const since of g.openSince.values()) if (since < end) longest = Math.max(longest, end - since);
        return { value: longest / 1000, samples: g.openSince.size };
      }
      case 'recovery_rate':
        return ratio(t.recovered, t.recovered + t.exhausted);
      case 'cache_hit_ratio':
        return ratio(t.hits, t.hits + t.misses);
    }
  }

  let lastEnd = Number.NaN;

  /** Evaluates every rule at `end`; evaluating the same end again (follow mode) refreshes it without double counting. */
  function evaluate(end: number): void {
    if (end !== lastEnd) evaluations++;
    lastEnd = end;
    for (const st of states) {
      const r = st.rule;
      let worst: AlertGroup | undefined;
      const active: AlertGroup[] = [];
      for (const [key, g] of st.series.groups) {
        const { value: v, samples } = value(r, g, end);
        let gs = st.groups.get(key);
        if (gs === undefined) {
          gs = { activeSince: undefined, last: undefined };
          st.groups.set(key, gs);
        }
        let state: AlertState;
        if (v === null) {
          gs.activeSince = undefined;
          state = 'no_data';
        } else if (!compare(r.op, v, r.threshold)) {
          gs.activeSince = undefined;
          state = 'ok';
        } else {
          gs.activeSince ??= end;
          state = end - gs.activeSince >= r.for ? 'firing' : 'pending';
        }
        const ag: AlertGroup = { group: key, state, value: v === null ? null : num(v), samples };
        gs.last = ag;
        if (state === 'firing' || state === 'pending') active.push(ag);
        // The worst group: highest state, then the value furthest past the threshold.
        if (
          worst === undefined ||
          RANK[state] > RANK[worst.state] ||
          (RANK[state] === RANK[worst.state] &&
            v !== null &&
            (worst.value === null || (r.op.startsWith('>') ? v > worst.value : v < worst.value)))
        ) {
          worst = ag;
        }
      }
      // Forget the state of groups that no longer exist (their buckets aged out).
      for (const key of st.groups.keys()) if (!st.series.groups.has(key)) st.groups.delete(key);
      st.worst = worst;
      st.active = active;
      st.lastAt = end;
      if (worst?.state === 'firing' && st.last !== end) {
        st.fired++;
        if (Number.isNaN(st.first)) st.first = end;
        st.last = end;
      }
    }
  }

  /** Evaluates every boundary up to `ts`; across a long silence only the first windows and the last matter. */
  function advance(ts: number): void {
    const quietLimit = lastData + maxWindow + step;
    while (next <= ts) {
      evaluate(next);
      next += step;
      if (next > quietLimit && next <= ts - step) next = Math.floor(ts / step) * step;
      prune();
    }
  }

  function prune(): void {
    const keepFrom = next - maxWindow - step;
    for (const s of allSeries) {
      for (const [key, g] of s.groups) {
        for (const k of g.buckets.keys()) if (k < keepFrom) g.buckets.delete(k);
        if (g.buckets.size === 0 && g.openSince.size === 0 && s.by.length > 0) s.groups.delete(key);
      }
    }
  }

  function groupOf(s: Series, ev: LogEvent): Group | undefined {
    let key = '';
    for (const b of s.by) {
      const part =
        b === 'service' ? (ev.service ?? '(unknown)') : `${ev.request!.method} ${ev.request!.route}`;
      key = key === '' ? part : `${key} ${part}`;
    }
    let g = s.groups.get(key);
    if (g === undefined) {
      if (s.groups.size >= MAX_GROUPS) key = '(other)';
      g = s.groups.get(key);
      if (g === undefined) {
        g = { buckets: new Map(), openSince: new Map() };
        s.groups.set(key, g);
      }
    }
    return g;
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
      const start = Math.floor(ts / bucketMs) * bucketMs;
      if (start < next - maxWindow - step) {
        late++;
        return;
      }
      const r = ev.request;
      const errorLog = ERROR_LEVELS.has(ev.level);
      for (const s of allSeries) {
        if (s.service !== undefined && ev.service !== s.service) continue;
        if (s.route !== undefined && (r === undefined || !r.route.includes(s.route))) continue;
        if (r === undefined && s.by.includes('route')) continue;
        const g = groupOf(s, ev);
        if (g === undefined) continue;
        let b = g.buckets.get(start);
        if (b === undefined) {
          b = newBucket();
          g.buckets.set(start, b);
        }
        b.records++;
        if (errorLog) b.errorLogs++;
        if (r !== undefined) {
          b.requests++;
          if (r.status >= 500) b.serverErrors++;
          b.digest ??= new TDigest(100);
          b.digest.add(r.durationMs);
        }
        if (ev.error !== undefined) {
          b.errors++;
          if (ev.error.unclassified) b.unclassified++;
        }
        if (ev.cache === 'hit') b.hits++;
        else if (ev.cache === 'miss') b.misses++;
        const res = ev.resilience;
        if (res === undefined) continue;
        if (res === 'recovered') b.recovered++;
        else if (res === 'exhausted') b.exhausted++;
        else if (res === 'breaker_open' || res === 'breaker_half_open') {
          if (res === 'breaker_open') b.opens++;
          const name = ev.breaker ?? '(default)';
          if (!g.openSince.has(name) && g.openSince.size < 1000) g.openSince.set(name, ts);
        } else if (res === 'breaker_closed') g.openSince.delete(ev.breaker ?? '(default)');
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
        // A window already evaluated (live mode: its end was reached before later records of
        // it arrived) is evaluated again so the answer includes them.
        if (end >= next) advance(end);
        else evaluate(end);
      }
      const rules = states.map((st): AlertResult => {
        const w = st.worst;
        return {
          name: st.rule.name,
          expr: st.rule.expr,
          severity: st.rule.severity,
          summary: st.rule.summary,
          window: formatDuration(st.rule.window),
          for: formatDuration(st.rule.for),
          by: st.rule.by,
          state: w?.state ?? 'no_data',
          value: w?.value ?? null,
          samples: w?.samples ?? 0,
          group: w?.group ?? '',
          groups: st.active.slice(0, 20),
          evaluatedAt: isoOrNull(st.lastAt),
          firedWindows: st.fired,
          firstFiredAt: isoOrNull(st.first),
          lastFiredAt: isoOrNull(st.last),
        };
      });
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
