import { get } from '../safe';

const MAX_MS = 24 * 60 * 60 * 1000;

/**
 * Parses an HTTP `Retry-After` value (delta-seconds or HTTP-date) into milliseconds from now.
 * Garbage, negative and absurd values give `undefined` rather than a wrong wait.
 */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (Array.isArray(value)) value = value[0];
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? Math.min(value * 1000, MAX_MS) : undefined;
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (/^\d{1,9}$/.test(v)) return Math.min(Number(v) * 1000, MAX_MS);
  if (v.length > 64 || !/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_MS);
}

/** Reads one header from a fetch `Headers`, a Map or a plain (node/axios style) object. */
export function headerValue(headers: unknown, name: string): unknown {
  if (headers === null || typeof headers !== 'object') return undefined;
  try {
    const getter = get(headers, 'get');
    if (typeof getter === 'function')
      return (getter as (n: string) => unknown).call(headers, name) ?? undefined;
  } catch {
    return undefined;
  }
  const direct = get(headers, name);
  if (direct !== undefined) return direct;
  return get(headers, name.toLowerCase());
}
