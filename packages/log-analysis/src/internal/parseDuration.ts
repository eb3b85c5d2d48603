import { parseIsoUtc } from './readEvent';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses `500ms`, `30s`, `5m`, `1h30m`, `1d`, `2w` into milliseconds; undefined when invalid.
 * @example parseDuration('1h30m') // 5_400_000
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s.length === 0) return undefined;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let last = 0;
  let m: RegExpExecArray | null = re.exec(s);
  while (m !== null) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    last = re.lastIndex;
    m = re.exec(s);
  }
  if (last !== s.length) return undefined;
  return total;
}

/**
 * Parses a point in time: a duration means "that long before `now`" (`1h`), otherwise an
 * ISO-8601 date or epoch milliseconds. Undefined when invalid.
 */
export function parseTimePoint(text: string, now: number): number | undefined {
  const d = parseDuration(text);
  if (d !== undefined) return now - d;
  if (/^\d{12,}$/.test(text)) return Number(text);
  // ISO-8601 only: Date.parse's fallback reads "5" as 2001-05-01 and "90" as 1990.
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const t = parseIsoUtc(text.trim());
  return Number.isNaN(t) ? undefined : t;
}

/** Formats milliseconds as a compact duration (`1h`, `5m`, `90s`). */
export function formatDuration(ms: number): string {
  for (const [u, f] of [
    ['w', UNITS.w!],
    ['d', UNITS.d!],
    ['h', UNITS.h!],
    ['m', UNITS.m!],
    ['s', UNITS.s!],
  ] as const) {
    if (ms >= f && ms % f === 0) return `${ms / f}${u}`;
  }
  return `${ms}ms`;
}
