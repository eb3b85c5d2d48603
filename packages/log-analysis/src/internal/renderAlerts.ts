import type { AlertsSummary } from '../alertEvaluator';
import { fmtTime, renderTable } from './format';

const t = (iso: string | null) => (iso ? fmtTime(Date.parse(iso)) : '-');

function fmtValue(expr: string, v: number | null): string {
  if (v === null) return 'no data';
  if (/ratio|rate/.test(expr)) return `${(v * 100).toFixed(2)}%`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** Human-readable table for `mem0-logs alerts`. */
export function renderAlerts(a: AlertsSummary): string {
  const out: string[] = [];
  out.push(
    `Evaluated ${a.rules.length} rules at ${t(a.evaluatedAt)} (step ${a.step}, ${a.evaluations} evaluations)` +
      ` · firing now: ${a.firing} · fired at some point: ${a.firedAnytime}`,
  );
  out.push(
    renderTable(
      [
        { header: 'state' },
        { header: 'rule' },
        { header: 'condition' },
        { header: 'group', max: 48 },
        { header: 'window' },
        { header: 'value', align: 'right' },
        { header: 'samples', align: 'right' },
        { header: 'fired', align: 'right' },
        { header: 'last fired' },
        { header: 'severity' },
      ],
      a.rules.map((r) => [
        r.state === 'firing' ? 'FIRING' : r.state,
        r.name,
        r.expr,
        r.by.length > 0 ? r.group || '-' : '',
        r.for !== '0ms' ? `${r.window} for ${r.for}` : r.window,
        fmtValue(r.expr, r.value),
        r.samples,
        r.firedWindows,
        t(r.lastFiredAt),
        r.severity,
      ]),
    ),
  );
  for (const r of a.rules) {
    if (r.state !== 'firing') continue;
    if (r.summary) out.push(`  ${r.name}: ${r.summary}`);
    const more = r.groups.filter((g) => g.state === 'firing' && g.group !== r.group);
    if (more.length > 0)
      out.push(`    also firing: ${more.map((g) => `${g.group} (${fmtValue(r.expr, g.value)})`).join(', ')}`);
  }
  if (a.late > 0)
    out.push(`Note: ${a.late} out-of-order records arrived after their window was evaluated (not counted).`);
  if (a.noTimestamp > 0) out.push(`Note: ${a.noTimestamp} records without a timestamp were not evaluated.`);
  return out.join('\n');
}
