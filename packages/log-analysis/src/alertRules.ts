import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseDuration } from './internal/parseDuration';
import { LogAnalysisError } from './LogAnalysisError';

/** What a rule measures over its window. */
export type AlertMetric =
  | 'p50_ms'
  | 'p90_ms'
  | 'p95_ms'
  | 'p99_ms'
  | 'error_ratio'
  | 'request_count'
  | 'server_error_count'
  | 'record_count'
  | 'error_count'
  | 'error_log_count'
  | 'error_log_ratio'
  | 'unclassified_count'
  | 'breaker_open_seconds'
  | 'breaker_open_events'
  | 'recovery_rate'
  | 'cache_hit_ratio';

export const ALERT_METRICS: Readonly<Record<AlertMetric, string>> = {
  p50_ms: 'median request duration (ms) from request log lines',
  p90_ms: '90th percentile request duration (ms)',
  p95_ms: '95th percentile request duration (ms)',
  p99_ms: '99th percentile request duration (ms)',
  error_ratio: 'share of requests answered 5xx (0..1)',
  request_count: 'request log lines',
  server_error_count: 'requests answered 5xx',
  record_count: 'log records (any kind)',
  error_count:
    'error records: classified errors plus error-level lines that are not request or resilience lines',
  error_log_count: 'records at error level or above (all kinds, like the Loki/Prometheus error-log rules)',
  error_log_ratio: 'records at error level or above / all records (0..1)',
  unclassified_count: 'errors classify() could not match (error.unclassified)',
  breaker_open_seconds:
    'longest time a circuit breaker has been open (not closed) at the window end, seconds',
  breaker_open_events: 'circuit-breaker open transitions',
  recovery_rate: 'recovered / (recovered + exhausted) resilience outcomes (0..1)',
  cache_hit_ratio: 'cache hits / (hits + misses) (0..1)',
};

export type AlertOp = '>' | '>=' | '<' | '<=';

export type AlertRule = {
  name: string;
  /** As written, e.g. `p95_ms > 200`. */
  expr: string;
  metric: AlertMetric;
  op: AlertOp;
  threshold: number;
  /** Window length in ms. */
  window: number;
  /** How long (ms) the condition must hold before the rule fires, like Prometheus `for`. */
  for: number;
  /** Fewer samples than this in the window → no data (ratios and percentiles). */
  minSamples: number;
  severity: string;
  summary: string;
  /** Only records of this service. */
  service?: string;
  /** Only request lines whose route contains this text. */
  route?: string;
  /** Evaluate separately per service and/or route (like PromQL `sum by`); fires when any group does. */
  by: Array<'service' | 'route'>;
};

export type AlertRuleSet = {
  /** Evaluation step (ms): windows end on multiples of it. */
  step: number;
  rules: AlertRule[];
  source: string;
};

const RULE_KEYS = new Set([
  'name',
  'expr',
  'window',
  'for',
  'min_samples',
  'severity',
  'summary',
  'service',
  'route',
  'by',
]);
const REQUEST_METRICS = new Set<AlertMetric>([
  'p50_ms',
  'p90_ms',
  'p95_ms',
  'p99_ms',
  'error_ratio',
  'request_count',
  'server_error_count',
]);
/** Counts are always defined (0 in a quiet window); ratios and percentiles need samples. */
const COUNT_METRICS = new Set<AlertMetric>([
  'request_count',
  'server_error_count',
  'record_count',
  'error_count',
  'error_log_count',
  'unclassified_count',
  'breaker_open_events',
  'breaker_open_seconds',
]);

function bad(source: string, msg: string): LogAnalysisError {
  return new LogAnalysisError('USAGE', `invalid rules in ${source}: ${msg}`);
}

function duration(source: string, where: string, v: unknown): number {
  const d = typeof v === 'string' ? parseDuration(v) : undefined;
  if (d === undefined)
    throw bad(source, `${where} must be a duration like 5m or 30s (got ${JSON.stringify(v)})`);
  return d;
}

/** `p95_ms > 200`, `error_ratio > 1%`, `breaker_open_seconds > 60` */
function parseExpr(source: string, where: string, expr: unknown) {
  if (typeof expr !== 'string') throw bad(source, `${where}.expr must be a string like "p95_ms > 200"`);
  const m = /^\s*([a-z0-9_]+)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(expr);
  if (!m) throw bad(source, `${where}.expr "${expr}" is not "<metric> <op> <number>" (op: > >= < <=)`);
  const metric = m[1] as AlertMetric;
  if (!(metric in ALERT_METRICS)) {
    throw bad(
      source,
      `${where}.expr: unknown metric "${metric}" (known: ${Object.keys(ALERT_METRICS).join(', ')})`,
    );
  }
  // `1.1%` is read as the decimal 1.1e-2, not 1.1 / 100 (= 0.011000000000000001), so a ratio
  // equal to the threshold (11/1000) compares as equal.
  const threshold = m[4] === '%' ? Number(`${m[3]}e-2`) : Number(m[3]);
  return { metric, op: m[2] as AlertOp, threshold };
}

/**
 * Validates a parsed rules document; every mistake is a USAGE error naming the rule and key.
 * @example parseRules({ rules: [{ name: 'Slow', expr: 'p95_ms > 200' }] }, 'inline')
 */
export function parseRules(doc: unknown, source: string): AlertRuleSet {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw bad(source, 'expected a mapping with a `rules` list');
  }
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!['window', 'step', 'rules'].includes(k))
      throw bad(source, `unknown top-level key "${k}" (window, step, rules)`);
  }
  const defWindow = d.window === undefined ? 300_000 : duration(source, 'window', d.window);
  const step = d.step === undefined ? 60_000 : duration(source, 'step', d.step);
  if (step <= 0) throw bad(source, 'step must be positive');
  if (!Array.isArray(d.rules) || d.rules.length === 0) throw bad(source, '`rules` must be a non-empty list');
  const names = new Set<string>();
  const rules = d.rules.map((r, i): AlertRule => {
    const where = `rules[${i}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r))
      throw bad(source, `${where} must be a mapping`);
    const rr = r as Record<string, unknown>;
    for (const k of Object.keys(rr)) {
      if (!RULE_KEYS.has(k)) throw bad(source, `${where}: unknown key "${k}" (${[...RULE_KEYS].join(', ')})`);
    }
    if (typeof rr.name !== 'string' || rr.name.length === 0) throw bad(source, `${where}.name is required`);
    if (names.has(rr.name)) throw bad(source, `${where}: duplicate rule name "${rr.name}"`);
    names.add(rr.name);
    const { metric, op, threshold } = parseExpr(source, `${where} (${rr.name})`, rr.expr);
    const window = rr.window === undefined ? defWindow : duration(source, `${where}.window`, rr.window);
    if (window < step) throw bad(source, `${where}.window (${rr.window}) is shorter than step`);
    const forMs = rr.for === undefined ? 0 : duration(source, `${where}.for`, rr.for);
    const minSamples =
      rr.min_samples === undefined ? (COUNT_METRICS.has(metric) ? 0 : 1) : Number(rr.min_samples);
    if (!Number.isInteger(minSamples) || minSamples < 0)
      throw bad(source, `${where}.min_samples must be an integer ≥ 0`);
    for (const k of ['severity', 'summary', 'service', 'route'] as const) {
      if (rr[k] !== undefined && typeof rr[k] !== 'string')
        throw bad(source, `${where}.${k} must be a string`);
    }
    const byRaw = rr.by === undefined ? [] : Array.isArray(rr.by) ? rr.by : [rr.by];
    const by: Array<'service' | 'route'> = [];
    for (const b of byRaw) {
      if (b !== 'service' && b !== 'route') throw bad(source, `${where}.by: "${b}" is not service or route`);
      if (!by.includes(b)) by.push(b);
    }
    if ((by.includes('route') || rr.route !== undefined) && !REQUEST_METRICS.has(metric)) {
      throw bad(
        source,
        `${where}: route grouping/filter only applies to request metrics (${[...REQUEST_METRICS].join(', ')})`,
      );
    }
    return {
      name: rr.name,
      by,
      expr: String(rr.expr).trim(),
      metric,
      op,
      threshold,
      window,
      for: forMs,
      minSamples,
      severity: (rr.severity as string | undefined) ?? 'warning',
      summary: (rr.summary as string | undefined) ?? '',
      ...(rr.service !== undefined ? { service: rr.service as string } : {}),
      ...(rr.route !== undefined ? { route: rr.route as string } : {}),
    };
  });
  return { step, rules, source };
}

/** Path of the rules file shipped with the package (thresholds of collector/'s Prometheus rules). */
export const DEFAULT_RULES_PATH = join(__dirname, '..', 'rules', 'default.yaml');

/**
 * Reads and validates a YAML (or JSON) rules file.
 * @example const set = loadRules('rules.yaml');
 */
export function loadRules(path: string = DEFAULT_RULES_PATH): AlertRuleSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LogAnalysisError(
      'USAGE',
      `cannot read rules file "${path}": ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw bad(path, (e as Error).message.split('\n')[0]!);
  }
  return parseRules(doc, path);
}
