import type { TraceLine, TraceSpanNode, TraceTimeline } from '../traceTimeline';
import { fmtMs, renderTable } from './format';

const BAR = 32;

function fieldText(fields: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return parts.join(' ');
}

function bar(offset: number, duration: number, total: number): string {
  if (!(total > 0)) return '';
  const from = Math.min(BAR - 1, Math.max(0, Math.floor((offset / total) * BAR)));
  const len = Math.max(1, Math.round((duration / total) * BAR));
  return `${' '.repeat(from)}${'█'.repeat(Math.min(len, BAR - from))}`.padEnd(BAR);
}

function tick(offset: number | null, total: number): string {
  if (offset === null || !(total > 0)) return '';
  const at = Math.min(BAR - 1, Math.max(0, Math.floor((offset / total) * BAR)));
  return `${' '.repeat(at)}·`.padEnd(BAR);
}

/** Human-readable timeline (logs only) or waterfall (spans from Tempo + their logs) for `mem0-logs trace`. */
export function renderTrace(t: TraceTimeline): string {
  const out: string[] = [];
  const head = [`Trace ${t.id}`];
  if (t.spans) head.push(`${countSpans(t.spans)} spans (Tempo)`);
  head.push(`${t.found} log lines${t.truncated ? ` (first ${t.lines.length} shown)` : ''}`);
  if (t.services.length > 0)
    head.push(`${t.services.length} service${t.services.length > 1 ? 's' : ''} (${t.services.join(', ')})`);
  if (t.durationMs !== null) head.push(fmtMs(t.durationMs));
  out.push(head.join(' · '));
  if (t.tempo && t.tempo.status !== 'ok') {
    out.push(
      `Tempo: ${t.tempo.status === 'not_found' ? 'trace not found' : t.tempo.message} — showing logs only.`,
    );
  }
  if (t.spans) {
    const total = t.durationMs ?? 0;
    const rows: Array<Array<string | number>> = [];
    const logRow = (l: TraceLine, indent: string) => {
      rows.push([
        l.offsetMs === null ? '-' : fmtMs(l.offsetMs),
        '',
        `${indent}· ${l.level} ${l.message}`,
        l.service ?? '',
        tick(l.offsetMs, total),
      ]);
    };
    const visit = (n: TraceSpanNode, prefix: string, last: boolean, root: boolean) => {
      const branch = root ? '' : last ? '└─ ' : '├─ ';
      const status = n.status === 'error' ? ` ✗${n.statusMessage ? ` ${n.statusMessage}` : ''}` : '';
      rows.push([
        fmtMs(n.offsetMs),
        fmtMs(n.durationMs),
        `${prefix}${branch}${n.name} (${n.kind})${status}`,
        n.service,
        bar(n.offsetMs, n.durationMs, total),
      ]);
      const childPrefix = root ? prefix : prefix + (last ? '   ' : '│  ');
      // Children and log lines interleaved in time order.
      const items: Array<{ at: number; span?: TraceSpanNode; line?: TraceLine }> = [
        ...n.children.map((c) => ({ at: c.offsetMs, span: c })),
        ...n.lines.map((l) => ({ at: l.offsetMs ?? 0, line: l })),
      ].sort((a, b) => a.at - b.at);
      const lastSpan = n.children[n.children.length - 1];
      for (const it of items) {
        if (it.span) visit(it.span, childPrefix, it.span === lastSpan, false);
        else logRow(it.line!, `${childPrefix}${n.children.length > 0 ? '│ ' : '  '}`);
      }
    };
    for (const r of t.spans) visit(r, '', true, true);
    out.push(
      renderTable(
        [
          { header: 'offset', align: 'right' },
          { header: 'duration', align: 'right' },
          { header: 'span / log line', max: 90 },
          { header: 'service', max: 24 },
          { header: `0 ${'─'.repeat(BAR - 2 - fmtMs(total).length)} ${fmtMs(total)}`, max: BAR + 2 },
        ],
        rows,
      ),
    );
    return out.join('\n');
  }
  if (t.lines.length === 0) {
    out.push('No log lines with this trace_id or correlation_id.');
    return out.join('\n');
  }
  out.push(
    renderTable(
      [
        { header: 'offset', align: 'right' },
        { header: 'Δ prev', align: 'right' },
        { header: 'level' },
        { header: 'service', max: 24 },
        { header: 'span', max: 16 },
        { header: 'message', max: 60 },
        { header: 'fields', max: 100 },
      ],
      t.lines.map((l) => [
        l.offsetMs === null ? '-' : fmtMs(l.offsetMs),
        l.deltaMs === null ? '' : `+${fmtMs(l.deltaMs)}`,
        l.level,
        l.service ?? '',
        l.spanId ?? '',
        l.message,
        fieldText(l.fields),
      ]),
    ),
  );
  return out.join('\n');
}

function countSpans(nodes: TraceSpanNode[]): number {
  let c = 0;
  for (const n of nodes) c += 1 + countSpans(n.children);
  return c;
}
