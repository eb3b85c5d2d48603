import type { ErrorSummary } from '../errorStats';
import { fmtPct, fmtTime, renderTable } from './format';

const n = (x: number) => x.toLocaleString('en-US');
const t = (iso: string | null) => (iso ? fmtTime(Date.parse(iso)) : '-');

/** Human-readable tables for `mem0-logs errors`. */
export function renderErrors(e: ErrorSummary, top: number): string {
  const out: string[] = [];
  out.push(`Period: ${t(e.period.from)} → ${t(e.period.to)}`);
  out.push(
    `Errors: ${n(e.errors)} of ${n(e.records)} records (${fmtPct(e.records ? e.errors / e.records : Number.NaN)})` +
      ` · unclassified ${n(e.unclassified)} · without error fields ${n(e.unstructured)}`,
  );
  out.push(
    `Requests: ${n(e.requests.total)} · 5xx ${n(e.requests.serverErrors)} (${fmtPct(e.requests.serverErrorRatio)})`,
  );
  if (e.errors > 0) {
    out.push('', 'By category');
    out.push(
      renderTable(
        [{ header: 'category' }, { header: 'count', align: 'right' }, { header: 'share', align: 'right' }],
        e.byCategory.map((r) => [r.key, n(r.count), fmtPct(r.share)]),
      ),
    );
    out.push('', 'By severity');
    out.push(
      renderTable(
        [{ header: 'severity' }, { header: 'count', align: 'right' }, { header: 'share', align: 'right' }],
        e.bySeverity.map((r) => [r.key, n(r.count), fmtPct(r.share)]),
      ),
    );
    out.push('', 'By code');
    out.push(
      renderTable(
        [
          { header: 'code' },
          { header: 'category' },
          { header: 'severity' },
          { header: 'count', align: 'right' },
          { header: 'first seen' },
          { header: 'last seen' },
        ],
        e.byCode
          .slice(0, top)
          .map((r) => [r.code, r.category, r.severity, n(r.count), t(r.firstSeen), t(r.lastSeen)]),
      ),
    );
    if (e.byCode.length > top) out.push(`… ${e.byCode.length - top} more codes (--top, or --json for all)`);
    out.push('', 'Top messages (ids and numbers masked)');
    out.push(
      renderTable(
        [
          { header: 'count', align: 'right' },
          { header: 'code' },
          { header: 'last seen' },
          { header: 'message', max: 100 },
        ],
        e.topMessages.map((m) => [
          m.countError > 0 ? `≥${n(m.count)}` : n(m.count),
          m.code,
          t(m.lastSeen),
          m.message,
        ]),
      ),
    );
  }
  if (e.unclassified > 0) {
    out.push(
      '',
      `Unclassified errors: ${n(e.unclassified)} — no classifier rule matched; add one (registerClassifier) for:`,
    );
    out.push(
      renderTable(
        [{ header: 'count', align: 'right' }, { header: 'last seen' }, { header: 'message', max: 100 }],
        e.unclassifiedMessages.map((m) => [n(m.count), t(m.lastSeen), m.message]),
      ),
    );
  }
  const r = e.recovery;
  out.push('', 'Recovery (resilience events)');
  out.push(
    renderTable(
      [
        { header: 'retries', align: 'right' },
        { header: 'recovered', align: 'right' },
        { header: 'exhausted', align: 'right' },
        { header: 'recovery rate', align: 'right' },
        { header: 'breaker opens', align: 'right' },
      ],
      [[n(r.retries), n(r.recovered), n(r.exhausted), fmtPct(r.rate), n(r.breakerOpens)]],
    ),
  );
  if (r.breakers.length > 0) {
    out.push(
      renderTable(
        [{ header: 'breaker' }, { header: 'opens', align: 'right' }, { header: 'last opened' }],
        r.breakers.slice(0, top).map((b) => [b.name, n(b.opens), t(b.lastOpened)]),
      ),
    );
  }
  if (e.byService.length > 1) {
    out.push('', 'By service');
    out.push(
      renderTable(
        [{ header: 'service' }, { header: 'records', align: 'right' }, { header: 'errors', align: 'right' }],
        e.byService.slice(0, top).map((s) => [s.service, n(s.records), n(s.errors)]),
      ),
    );
  }
  if (e.trend.buckets.length > 0) {
    out.push(
      '',
      `Trend (per ${e.trend.interval}${e.trend.widened ? ', widened to stay under 10 000 rows' : ''})`,
    );
    const max = Math.max(1, ...e.trend.buckets.map((b) => b.errors));
    out.push(
      renderTable(
        [
          { header: 'start' },
          { header: 'records', align: 'right' },
          { header: 'errors', align: 'right' },
          { header: '5xx', align: 'right' },
          { header: '' },
        ],
        e.trend.buckets.map((b) => [
          t(b.start),
          n(b.records),
          n(b.errors),
          n(b.serverErrors),
          '▇'.repeat(Math.round((b.errors / max) * 30)),
        ]),
      ),
    );
  }
  if (e.approximate)
    out.push('', 'Note: more distinct messages than remembered; counts marked ≥ are lower bounds.');
  return out.join('\n');
}
