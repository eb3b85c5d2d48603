import { isSensitiveKey } from '@mem0-stack/logging';

// Property access on thrown values must never throw: a thrown value can be a Proxy, an object
// with throwing getters, a revoked proxy or a symbol. Everything here swallows and degrades.

/** Reads `obj[key]` without ever throwing. */
export function get(obj: unknown, key: PropertyKey): unknown {
  if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) return undefined;
  try {
    return (obj as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** `get` narrowed to strings. */
export function getString(obj: unknown, key: PropertyKey): string | undefined {
  const v = get(obj, key);
  return typeof v === 'string' ? v : undefined;
}

/** `get` narrowed to finite numbers (numeric strings accepted). */
export function getNumber(obj: unknown, key: PropertyKey): number | undefined {
  const v = get(obj, key);
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d{1,6}$/.test(v)) return Number(v);
  return undefined;
}

export function isObjectLike(v: unknown): v is object {
  return v !== null && (typeof v === 'object' || typeof v === 'function');
}

/** Constructor name, e.g. `DatabaseError`, without trusting the object. */
export function ctorName(v: unknown): string | undefined {
  if (!isObjectLike(v)) return undefined;
  try {
    const proto = Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null;
    const name = proto?.constructor?.name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

/** A bounded, printable description of any value (symbols and cyclic objects included). */
export function describe(v: unknown, max = 500): string {
  let s: string;
  try {
    if (typeof v === 'string') s = v;
    else if (typeof v === 'symbol') s = v.toString();
    else if (v === null) s = 'null';
    else if (v === undefined) s = 'undefined';
    else if (typeof v === 'object' || typeof v === 'function') {
      const msg = get(v, 'message');
      if (typeof msg === 'string') s = msg;
      else {
        try {
          // A thrown plain object (request config, credentials) goes to logs and spans: its
          // sensitive fields are masked like the logger masks fields.
          s =
            JSON.stringify(v, (key, value: unknown) =>
              key !== '' && isSensitiveKey(key) ? '[REDACTED]' : value,
            ) ?? Object.prototype.toString.call(v);
        } catch {
          s = Object.prototype.toString.call(v);
        }
      }
    } else s = String(v);
  } catch {
    s = '[unprintable value]';
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** The `cause` chain (and AggregateError members are NOT included), cycle-safe and bounded. */
export function causeChain(err: unknown, maxDepth = 8): unknown[] {
  const chain: unknown[] = [err];
  const seen = new Set<unknown>([err]);
  let cur = err;
  for (let i = 0; i < maxDepth; i++) {
    const next = get(cur, 'cause');
    if (next === undefined || next === null || seen.has(next)) break;
    seen.add(next);
    chain.push(next);
    cur = next;
  }
  return chain;
}

/**
 * A real Error from any realm (jest sandboxes, vm, worker): `instanceof Error` is false for
 * errors created by Node core inside a jest test, so never rely on it.
 */
export function isErrorLike(v: unknown): boolean {
  if (!isObjectLike(v)) return false;
  try {
    if (Object.prototype.toString.call(v) === '[object Error]') return true;
  } catch {
    return false;
  }
  return typeof get(v, 'message') === 'string' && typeof get(v, 'stack') === 'string';
}
