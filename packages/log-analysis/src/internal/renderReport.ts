import type { AlertsSummary } from '../alertEvaluator';
import type { ErrorSummary } from '../errorStats';
import type { LatencySummary } from '../latencyStats';
import { fmtMs, fmtPct, fmtTime, mdTable } from './format';
import type { InputStats } from './readInputs';

const n = (x: number) => x.toLocaleString('en-US');
const t = (iso: string | null) => (iso ? fmtTime(Date.parse(iso)) : '-');
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

export type ReportData = {
  title: string;
  generatedAt: string;
  input: InputStats;
  errors: ErrorSummary;
  latency: LatencySummary;
  alerts: AlertsSummary;
};

function fmtAlertValue(expr: string, v: number | null): string {
  if (v === null) return 'no data';
  return /ratio|rate/.test(expr) ? fmtPct(v) : Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** The daily operations report in Markdown (what the seed's daily/weekly reviews read). */
export function renderReport(r: ReportData, top: number): string {
  const e = r.errors;
  const l = r.latency;
  const a = r.alerts;
  const out: string[] = [];
  out.push(`# ${r.title}`, '');
  out.push(`Period **${t(e.period.from)} → ${t(e.period.to)}** · generated ${t(r.generatedAt)}`, '');
  out.push('## Summary', '');
  out.push(
    mdTable(
      [
        'records',
        'malformed lines',
        'requests',
        '5xx ratio',
        'p95',
        'p99',
        'errors',
        'unclassified',
        'recovery rate',
        'alerts firing',
      ],
      [
        [
          n(r.input.records),
          n(r.input.malformed),
          n(l.requests),
          fmtPct(e.requests.serverErrorRatio),
          fmtMs(l.overall.p95),
          fmtMs(l.overall.p99),
          n(e.errors),
          n(e.unclassified),
          fmtPct(e.recovery.rate),
          `${a.firing} / ${a.rules.length}`,
        ],
      ],
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    ),
    '',
  );
  out.push('## Alerts', '');
  out.push(
    mdTable(
      ['state', 'rule', 'condition', 'group', 'window', 'value', 'fired (windows)', 'last fired'],
      a.rules.map((x) => [
        x.state === 'firing'
          ? '🔴 firing'
          : x.state === 'pending'
            ? '🟡 pending'
            : x.state === 'ok'
              ? '🟢 ok'
              : '⚪ no data',
        x.name,
        code(x.expr),
        x.group || '-',
        x.for !== '0ms' ? `${x.window} for ${x.for}` : x.window,
        fmtAlertValue(x.expr, x.value),
        x.firedWindows,
        t(x.lastFiredAt),
      ]),
      [5, 6],
    ),
    '',
  );
  out.push('## Errors', '');
  if (e.errors === 0) out.push('No errors in the period.', '');
  else {
    out.push(
      mdTable(
        ['category', 'count', 'share'],
        e.byCategory.map((x) => [x.key, n(x.count), fmtPct(x.share)]),
        [1, 2],
      ),
      '',
      mdTable(
        ['severity', 'count', 'share'],
        e.bySeverity.map((x) => [x.key, n(x.count), fmtPct(x.share)]),
        [1, 2],
      ),
      '',
      '### Top codes',
      '',
      mdTable(
        ['code', 'category', 'severity', 'count', 'first seen', 'last seen'],
        e.byCode
          .slice(0, top)
          .map((x) => [code(x.code), x.category, x.severity, n(x.count), t(x.firstSeen), t(x.lastSeen)]),
        [3],
      ),
      '',
      '### Top messages',
      '',
      mdTable(
        ['count', 'code', 'message'],
        e.topMessages.map((m) => [
          m.countError > 0 ? `≥${n(m.count)}` : n(m.count),
          code(m.code),
          code(m.message),
        ]),
        [0],
      ),
      '',
    );
  }
  if (e.unclassified > 0) {
    out.push(
      '### Unclassified errors',
      '',
      `${n(e.unclassified)} errors matched no classifier rule. Add rules (\`registerClassifier\`) for:`,
      '',
      mdTable(
        ['count', 'message', 'last seen'],
        e.unclassifiedMessages.map((m) => [n(m.count), code(m.message), t(m.lastSeen)]),
        [0],
      ),
      '',
    );
  }
  out.push('## Recovery', '');
  out.push(
    mdTable(
      ['retries', 'recovered', 'exhausted', 'recovery rate', 'breaker opens'],
      [
        [
          n(e.recovery.retries),
          n(e.recovery.recovered),
          n(e.recovery.exhausted),
          fmtPct(e.recovery.rate),
          n(e.recovery.breakerOpens),
        ],
      ],
      [0, 1, 2, 3, 4],
    ),
    '',
  );
  out.push('## Latency', '');
  if (l.routes.length > 0) {
    out.push(
      mdTable(
        ['route', 'count', 'p50', 'p90', 'p95', 'p99', 'max', '5xx'],
        l.routes
          .slice(0, top)
          .map((x) => [
            code(`${x.method} ${x.route}`),
            n(x.count),
            fmtMs(x.p50),
            fmtMs(x.p90),
            fmtMs(x.p95),
            fmtMs(x.p99),
            fmtMs(x.max),
            n(x.serverErrors),
          ]),
        [1, 2, 3, 4, 5, 6, 7],
      ),
      '',
      '### Slowest requests',
      '',
      mdTable(
        ['duration', 'time', 'request', 'status', 'correlation id'],
        l.slowest.map((s) => [
          fmtMs(s.durationMs),
          t(s.timestamp),
          code(`${s.method} ${s.route}`),
          s.status,
          code(s.correlationId ?? '-'),
        ]),
        [0, 3],
      ),
      '',
    );
  } else out.push('No request lines in the period.', '');
  if (l.operations.length > 0) {
    out.push(
      '### Slow operations (timed)',
      '',
      mdTable(
        ['operation', 'count', 'p50', 'p95', 'p99', 'max', 'failed'],
        l.operations
          .slice(0, top)
          .map((x) => [
            code(x.operation),
            n(x.count),
            fmtMs(x.p50),
            fmtMs(x.p95),
            fmtMs(x.p99),
            fmtMs(x.max),
            n(x.failures),
          ]),
        [1, 2, 3, 4, 5, 6],
      ),
      '',
    );
  }
  if (e.trend.buckets.length > 0) {
    out.push(
      `## Trend (per ${e.trend.interval})`,
      '',
      mdTable(
        ['start', 'records', 'requests', '5xx', 'errors'],
        e.trend.buckets.map((b) => [t(b.start), n(b.records), n(b.requests), n(b.serverErrors), n(b.errors)]),
        [1, 2, 3, 4],
      ),
      '',
    );
  }
  out.push('## Input', '');
  out.push(
    `Sources: ${r.input.sources.map(code).join(', ') || '-'} · ${n(r.input.lines)} lines · ${n(r.input.records)} records · ` +
      `${n(r.input.malformed)} malformed (skipped) · ${n(r.input.filtered)} filtered out.`,
  );
  return `${out.join('\n')}\n`;
}
