/**
 * Reads OTEL_* / MEM0_OTEL_* variables with validation. Every rejected value adds one
 * warning that names the variable and the default used; nothing here throws, because a
 * typo in an environment variable must never take the application down.
 */
export type EnvReader = {
  readonly warnings: string[];
  /** Trimmed value, or undefined when unset or blank. */
  raw(name: string): string | undefined;
  bool(name: string, fallback: boolean): boolean;
  int(name: string, fallback: number, opts?: { min?: number; max?: number }): number;
  ratio(name: string, fallback: number): number;
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T;
  list(name: string): string[] | undefined;
  url(name: string): string | undefined;
  /**
   * `k=v,k2=v2`, percent-decoded. `secret`: entries are never echoed in warnings. `header`:
   * each entry must also be a valid HTTP header (name a token, value without control characters).
   */
  keyValues(name: string, opts?: { secret?: boolean; header?: boolean }): Record<string, string> | undefined;
  warn(message: string): void;
};

/** Shows a rejected value without flooding the terminal (a 64 KB value stays readable). */
export function quoteValue(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}

export function createEnvReader(env: NodeJS.ProcessEnv): EnvReader {
  const warnings: string[] = [];
  const warn = (message: string) => {
    if (!warnings.includes(message)) warnings.push(message);
  };
  const raw = (name: string): string | undefined => {
    const v = env[name];
    if (v === undefined) return undefined;
    const t = v.trim();
    return t === '' ? undefined : t;
  };

  return {
    warnings,
    warn,
    raw,
    bool(name, fallback) {
      const v = raw(name);
      if (v === undefined) return fallback;
      const l = v.toLowerCase();
      if (l === 'true' || l === '1') return true;
      if (l === 'false' || l === '0') return false;
      warn(`${name}=${quoteValue(v)} is not a boolean (true/false); using the default ${fallback}.`);
      return fallback;
    },
    int(name, fallback, opts = {}) {
      const v = raw(name);
      if (v === undefined) return fallback;
      const min = opts.min ?? 0;
      const max = opts.max ?? Number.MAX_SAFE_INTEGER;
      const n = /^[+]?\d+$/.test(v) ? Number(v) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        const range = opts.max === undefined ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
        warn(`${name}=${quoteValue(v)} is not ${range}; using the default ${fallback}.`);
        return fallback;
      }
      return n;
    },
    ratio(name, fallback) {
      const v = raw(name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0 || n > 1) {
        warn(`${name}=${quoteValue(v)} is not a number in [0, 1]; using the default ${fallback}.`);
        return fallback;
      }
      return n;
    },
    oneOf(name, allowed, fallback) {
      const v = raw(name);
      if (v === undefined) return fallback;
      const l = v.toLowerCase() as (typeof allowed)[number];
      if (allowed.includes(l)) return l;
      warn(`${name}=${quoteValue(v)} is not one of ${allowed.join(', ')}; using the default ${fallback}.`);
      return fallback;
    },
    list(name) {
      const v = raw(name);
      if (v === undefined) return undefined;
      return v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    },
    url(name) {
      const v = raw(name);
      if (v === undefined) return undefined;
      try {
        const u = new URL(v);
        if (u.protocol === 'http:' || u.protocol === 'https:') return v;
      } catch {
        // reported below
      }
      return undefined;
    },
    keyValues(name, opts = {}) {
      const v = raw(name);
      if (v === undefined) return undefined;
      const out: Record<string, string> = {};
      const bad: string[] = [];
      for (const part of v.split(',')) {
        if (part.trim() === '') continue;
        const eq = part.indexOf('=');
        const key = eq > 0 ? safeDecode(part.slice(0, eq).trim()) : undefined;
        const value = eq > 0 ? safeDecode(part.slice(eq + 1).trim()) : undefined;
        if (
          key === undefined ||
          key === '' ||
          value === undefined ||
          (opts.header === true && !isValidHeader(key, value))
        ) {
          // Never echo a header entry: it may hold a token.
          bad.push(opts.secret ? `entry ${bad.length + 1}` : quoteValue(part.trim()));
          continue;
        }
        out[key] = value;
      }
      if (bad.length > 0) {
        warn(
          `${name} has ${bad.length} malformed entr${bad.length === 1 ? 'y' : 'ies'} (${bad.join(', ')}); expected ${opts.header ? 'header=value pairs (valid HTTP header names and values)' : 'key=value pairs'} separated by commas. Ignoring ${bad.length === 1 ? 'it' : 'them'}.`,
        );
      }
      return out;
    },
  };
}

// node:http's own checks: a header they refuse makes http.request() throw, so every export of
// the signal would fail (and the doctor crash). Loaded only when headers are configured.
function isValidHeader(name: string, value: string): boolean {
  const http = require('node:http') as typeof import('node:http');
  try {
    http.validateHeaderName(name);
    http.validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
