/**
 * Renders rows as an aligned text table (numbers right-aligned) for terminals; long cells
 * are cut with an ellipsis so one huge message does not wreck the layout.
 */
export type Column = { header: string; align?: 'left' | 'right'; max?: number };

export function renderTable(columns: Column[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) =>
    columns.map((c, i) => {
      const v = r[i];
      const s = v === undefined ? '' : String(v);
      const max = c.max ?? 80;
      return s.length > max ? `${s.slice(0, max - 1)}…` : s;
    }),
  );
  // A loop, not Math.max(...cells): spreading 100k+ rows (trace --limit) overflows the stack.
  const widths = columns.map((c) => c.header.length);
  for (const r of cells)
    for (let i = 0; i < r.length; i++) if (r[i]!.length > widths[i]!) widths[i] = r[i]!.length;
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (columns[i]!.align === 'right' ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(columns.map((c) => c.header)), line(widths.map((w) => '─'.repeat(w)))];
  for (const r of cells) out.push(line(r));
  return out.join('\n');
}

/** Milliseconds with sensible precision; '-' for missing values. */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '-';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms >= 100) return `${Math.round(ms)}ms`;
  if (ms >= 10) return `${ms.toFixed(1)}ms`;
  return `${ms.toFixed(2)}ms`;
}

export function fmtPct(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '-';
  const p = ratio * 100;
  return `${p >= 10 || p === 0 ? p.toFixed(1) : p.toFixed(2)}%`;
}

export function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** ISO string or null, for JSON output (JSON has no NaN). */
export function isoOrNull(ms: number): string | null {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** A number rounded to 3 decimals or null, for JSON output. */
export function num(v: number): number | null {
  return Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null;
}

/** A GitHub-flavoured Markdown table; `|` inside cells is escaped. */
export function mdTable(
  headers: string[],
  rows: Array<Array<string | number>>,
  right: number[] = [],
): string {
  const esc = (v: string | number) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    `| ${headers.map(esc).join(' | ')} |`,
    `|${headers.map((_, i) => (right.includes(i) ? ' ---: ' : ' --- ')).join('|')}|`,
  ];
  for (const r of rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}
