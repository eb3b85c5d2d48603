/** One bar group: a variant's latency percentiles in ms. */
export type ChartRow = { group: string; label: string; p50: number; p95: number; p99: number };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Renders a horizontal grouped bar chart (p50/p95/p99 per variant) as a standalone SVG;
 * hand-written so the bench needs no charting dependency.
 * @example writeFileSync('docs/chart.svg', latencyChart(rows, machineLine()));
 */
export function latencyChart(rows: ChartRow[], subtitle: string): string {
  const finite = rows.flatMap((r) => [r.p50, r.p95, r.p99]).filter(Number.isFinite);
  const max = Math.max(1, ...finite);
  const left = 260;
  const width = 900;
  const plotW = width - left - 80;
  const barH = 9;
  const rowH = barH * 3 + 14;
  const top = 70;
  const height = top + rows.length * rowH + 50;
  const colors = { p50: '#4e79a7', p95: '#f28e2b', p99: '#e15759' };
  const x = (v: number) => (Number.isFinite(v) ? (v / max) * plotW : 0);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<title>memory-service latency percentiles by scenario</title>',
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="24" font-size="16" font-weight="bold">memory-service latency percentiles (ms, lower is better)</text>`,
    `<text x="20" y="44" fill="#555">${esc(subtitle)}</text>`,
  ];
  let i = 0;
  for (const [k, c] of Object.entries(colors)) {
    out.push(
      `<rect x="${left + i * 70}" y="52" width="10" height="10" fill="${c}"/><text x="${left + i * 70 + 14}" y="61">${k}</text>`,
    );
    i++;
  }
  // Vertical grid lines at round values.
  const step = 10 ** Math.floor(Math.log10(max));
  const tick = max / step > 5 ? step * 2 : max / step > 2 ? step : step / 2;
  for (let v = 0; v <= max; v += tick) {
    const gx = left + x(v);
    out.push(`<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${height - 40}" stroke="#ddd"/>`);
    out.push(
      `<text x="${gx}" y="${height - 26}" text-anchor="middle" fill="#555">${Number(v.toFixed(2))}</text>`,
    );
  }
  rows.forEach((r, n) => {
    const y = top + n * rowH;
    out.push(
      `<text x="${left - 8}" y="${y + barH * 1.5 + 4}" text-anchor="end">${esc(`${r.group}: ${r.label}`)}</text>`,
    );
    (['p50', 'p95', 'p99'] as const).forEach((k, j) => {
      const v = r[k];
      out.push(
        `<rect x="${left}" y="${y + j * barH}" width="${x(v).toFixed(1)}" height="${barH - 1}" fill="${colors[k]}"/>`,
      );
      out.push(
        `<text x="${left + x(v) + 4}" y="${y + j * barH + barH - 1}" font-size="9" fill="#333">${Number.isFinite(v) ? v.toFixed(1) : 'n/a'}</text>`,
      );
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
