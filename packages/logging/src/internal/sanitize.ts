/**
 * Turns arbitrary log field values into JSON-safe, redacted, size-capped values in one walk.
 * Never throws: whatever the input (circular graphs, BigInt, throwing getters, Proxies,
 * 1 MB strings), the result can be passed to JSON.stringify and to the OTel Logs SDK.
 */

/** Redaction settings; `false` turns redaction off entirely. */
export type RedactOptions =
  | false
  | {
      /** Replaces the default key list (case-insensitive, ignoring `-`, `_`, `.`; suffix match, or substring for words of 6+ letters). */
      keys?: readonly string[];
      /** Added to the default (or given) key list. */
      extraKeys?: readonly string[];
      /** Scrub secret-looking values (connection-string passwords, bearer/basic tokens, JWTs). Default true. */
      values?: boolean;
      /** Replacement text. Default `[REDACTED]`. */
      censor?: string;
    };

/** Default sensitive key names (suffix match on the normalised key, so `db_password`, `x-api-key`, `accessToken` match too). */
export const DEFAULT_REDACT_KEYS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'authorization',
  'cookie',
  'set-cookie',
  'api_key',
  'apikey',
  'private_key',
  'credentials',
  'connection_string',
  'connectionstring',
  'dsn',
];

export type SanitizeOptions = {
  redact?: RedactOptions;
  /** Strings longer than this are cut and marked. Default 16384 characters. */
  maxStringLength?: number;
  /** Objects nested deeper than this are replaced by a marker. Default 8. */
  maxDepth?: number;
  /** Arrays, Maps and Sets longer than this are cut and marked. Default 100. */
  maxItems?: number;
};

const normaliseKey = (key: string) => key.toLowerCase().replace(/[-_.\s]/g, '');

// One cheap test decides whether a string needs the (rarer, costlier) scrubbing replacements.
const SUSPECT =
  /:\/\/[^\s/@]*:[^\s@]*@|\b(?:bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}|eyJ[A-Za-z0-9_-]{5,}\.|(?:password|passwd|pwd|secret|token|api[_-]?key|apikey)=[^\s&;]/i;
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):([^@/\s]*)@/gi;
const BEARER = /\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*/gi;
const BASIC = /\b(basic)\s+([A-Za-z0-9+/]{8,}={0,2})/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const KV_SECRET =
  /\b((?:[a-z0-9_-]*)(?:password|passwd|pwd|secret|token|api[_-]?key|apikey))=([^\s&;,"']+)/gi;

const CIRCULAR = '[Circular]';
const KEY_CACHE_LIMIT = 4096;

/** Stateless-per-call sanitizer; one instance per logger holds its compiled settings and key cache. */
export class Sanitizer {
  readonly censor: string;
  readonly redactValues: boolean;
  readonly maxStringLength: number;
  readonly maxDepth: number;
  readonly maxItems: number;
  private readonly patterns: string[];
  private readonly sensitive = new Map<string, boolean>();
  /** Set per record by the caller: include Error stacks (only when debug is enabled). */
  includeStack = false;

  constructor(opts: SanitizeOptions = {}) {
    const r = opts.redact;
    const cfg = r === false ? undefined : r;
    this.censor = cfg?.censor || '[REDACTED]';
    this.redactValues = r !== false && cfg?.values !== false;
    this.patterns =
      r === false ? [] : [...(cfg?.keys ?? DEFAULT_REDACT_KEYS), ...(cfg?.extraKeys ?? [])].map(normaliseKey);
    this.maxStringLength = opts.maxStringLength ?? 16384;
    this.maxDepth = opts.maxDepth ?? 8;
    this.maxItems = opts.maxItems ?? 100;
  }

  /** Whether the value under `key` must be censored. Cached, since keys repeat across records. */
  isSensitiveKey(key: string): boolean {
    let hit = this.sensitive.get(key);
    if (hit !== undefined) return hit;
    hit = false;
    if (this.patterns.length > 0) {
      const k = normaliseKey(key);
      for (const p of this.patterns) {
        // Long, unambiguous words match anywhere (passwordHash); short ones only as a suffix
        // (accessToken yes, tokenCount no).
        if (k.endsWith(p) || (p.length >= 6 && k.includes(p))) {
          hit = true;
          break;
        }
      }
    }
    if (this.sensitive.size < KEY_CACHE_LIMIT) this.sensitive.set(key, hit);
    return hit;
  }

  /** Caps the length and scrubs secret-looking substrings. */
  string(s: string): string {
    if (s.length > this.maxStringLength) {
      s = `${s.slice(0, this.maxStringLength)}…[truncated ${s.length - this.maxStringLength} chars]`;
    }
    if (this.redactValues && SUSPECT.test(s)) s = this.scrub(s);
    return s;
  }

  private scrub(s: string): string {
    const c = this.censor;
    return s
      .replace(URL_PASSWORD, `$1$2:${c}@`)
      .replace(JWT, c)
      .replace(BEARER, `$1 ${c}`)
      .replace(BASIC, (m, scheme: string, b64: string) => {
        // "Basic plan" must survive; only real user:pass payloads are censored.
        try {
          return Buffer.from(b64, 'base64').toString('latin1').includes(':') ? `${scheme} ${c}` : m;
        } catch {
          return m;
        }
      })
      .replace(KV_SECRET, `$1=${c}`);
  }

  /** A JSON-safe copy of `value`. `depth` counts nesting, `seen` holds the ancestors (cycle check). */
  value(value: unknown, depth = 0, seen?: unknown[]): unknown {
    switch (typeof value) {
      case 'string':
        return this.string(value);
      case 'number':
        return Number.isFinite(value) ? value : String(value);
      case 'boolean':
        return value;
      case 'bigint':
        return value.toString();
      case 'undefined':
        return undefined;
      case 'symbol':
        return value.toString();
      case 'function':
        return `[Function ${(value as { name?: string }).name || 'anonymous'}]`;
    }
    if (value === null) return null;
    try {
      return this.object(value as object, depth, seen ?? []);
    } catch (err) {
      return `[Unserializable: ${this.string(String((err as Error)?.message ?? err))}]`;
    }
  }

  private object(obj: object, depth: number, seen: unknown[]): unknown {
    if (seen.includes(obj)) return CIRCULAR;
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
    if (ArrayBuffer.isView(obj)) {
      const name = Buffer.isBuffer(obj) ? 'Buffer' : obj.constructor?.name || 'TypedArray';
      return `[${name} ${obj.byteLength} bytes]`;
    }
    if (obj instanceof ArrayBuffer) return `[ArrayBuffer ${obj.byteLength} bytes]`;
    if (depth >= this.maxDepth) return Array.isArray(obj) ? '[Array]' : '[Object]';
    if (isError(obj)) return this.error(obj, depth, seen);
    seen.push(obj);
    try {
      if (Array.isArray(obj)) return this.list(obj, obj.length, depth, seen);
      if (obj instanceof Map) return this.map(obj, depth, seen);
      if (obj instanceof Set) return this.list(Array.from(obj), obj.size, depth, seen);
      if (obj instanceof RegExp) return obj.toString();
      const toJSON = (obj as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        const j = toJSON.call(obj);
        return j === obj ? this.fields(obj, depth, seen) : this.value(j, depth + 1, seen);
      }
      return this.fields(obj, depth, seen);
    } finally {
      seen.pop();
    }
  }

  private list(items: unknown[], total: number, depth: number, seen: unknown[]): unknown[] {
    const n = Math.min(items.length, this.maxItems);
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const v = this.value(items[i], depth + 1, seen);
      out[i] = v === undefined ? null : v;
    }
    if (total > n) out.push(`…[truncated ${total - n} items]`);
    return out;
  }

  private map(m: Map<unknown, unknown>, depth: number, seen: unknown[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let i = 0;
    for (const [k, v] of m) {
      if (i++ >= this.maxItems) {
        out['…'] = `[truncated ${m.size - this.maxItems} entries]`;
        break;
      }
      const key = typeof k === 'string' ? k : String(k);
      out[key] = this.isSensitiveKey(key) ? this.censor : this.value(v, depth + 1, seen);
    }
    return out;
  }

  private fields(obj: object, depth: number, seen: unknown[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const src = obj as Record<string, unknown>;
    let i = 0;
    for (const key in src) {
      if (!Object.hasOwn(src, key)) continue;
      if (i++ >= this.maxItems) {
        out['…'] = '[truncated keys]';
        break;
      }
      if (this.isSensitiveKey(key)) {
        out[key] = this.censor;
        continue;
      }
      const v = this.value(src[key], depth + 1, seen);
      if (v !== undefined) out[key] = v;
    }
    return out;
  }

  /** Errors become `{ type, message, code?, stack? (debug only), cause?, ...own fields }`. */
  error(err: Error, depth = 0, seen: unknown[] = []): Record<string, unknown> {
    seen.push(err);
    try {
      const out: Record<string, unknown> = {
        type: safeName(err),
        message: this.string(String(err.message ?? '')),
      };
      const code = (err as { code?: unknown }).code;
      if (code !== undefined) out.code = this.value(code, depth + 1, seen);
      if (this.includeStack && typeof err.stack === 'string') out.stack = this.string(err.stack);
      const cause = (err as { cause?: unknown }).cause;
      if (cause !== undefined) out.cause = this.value(cause, depth + 1, seen);
      const src = err as unknown as Record<string, unknown>;
      for (const key in src) {
        // `level` is winston's, set on an Error logged directly (logger.error(err)).
        if (!Object.hasOwn(src, key) || key in out || key === 'stack' || key === 'message' || key === 'level')
          continue;
        out[key] = this.isSensitiveKey(key) ? this.censor : this.value(src[key], depth + 1, seen);
      }
      return out;
    } finally {
      seen.pop();
    }
  }
}

function safeName(err: Error): string {
  const name = err.name;
  if (typeof name === 'string' && name !== 'Error') return name;
  return err.constructor?.name || 'Error';
}

/** Errors from other realms or duplicate packages fail `instanceof`, so check the tag too. */
export function isError(v: unknown): v is Error {
  return v instanceof Error || Object.prototype.toString.call(v) === '[object Error]';
}
