import type { InputStats } from './readInputs';

const n = (x: number) => x.toLocaleString('en-US');

/** One line describing what was read; malformed lines are reported, never hidden. */
export function renderInput(s: InputStats): string {
  const src = s.sources.length === 1 ? s.sources[0]! : `${s.sources.length} sources`;
  const parts = [`${n(s.lines)} lines`, `${n(s.records)} records`];
  if (s.malformed > 0) parts.push(`${n(s.malformed)} malformed (skipped)`);
  if (s.filtered > 0) parts.push(`${n(s.filtered)} filtered out`);
  return `Input: ${src} · ${parts.join(' · ')}`;
}

/** The stats as they appear in every `--json` document. */
export function inputJson(s: InputStats) {
  return {
    sources: s.sources,
    lines: s.lines,
    records: s.records,
    malformed: s.malformed,
    oversized: s.oversized,
    filtered: s.filtered,
  };
}
