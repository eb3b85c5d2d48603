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
  'passphrase',
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

/**
 * The redaction rule for one field name against normalised patterns: long, unambiguous words
 * match anywhere (passwordHash); short ones only as a suffix (accessToken yes, tokenCount no).
 */
function matchesPattern(key: string, patterns: readonly string[]): boolean {
  const k = normaliseKey(key);
  for (const p of patterns) if (k.endsWith(p) || (p.length >= 6 && k.includes(p))) return true;
  return false;
}

let defaultPatterns: string[] | undefined;

/**
 * Whether the logger's default redaction (DEFAULT_REDACT_KEYS) censors the value under `key`:
 * for code that serialises objects outside the logger (error descriptions, span attributes).
 * @example isSensitiveKey('db_password') // true; isSensitiveKey('tokenCount') // false
 */
export function isSensitiveKey(key: string): boolean {
  defaultPatterns ??= DEFAULT_REDACT_KEYS.map(normaliseKey);
  return matchesPattern(key, defaultPatterns);
}

// One cheap test decides whether a string needs the (rarer, costlier) scrubbing replacements.
const SUSPECT =
  /:\/\/[^\s/@]*:[^\s@]*@|\b(?:bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}|eyJ[A-Za-z0-9_-]{5,}\.|(?:password|passwd|pwd|secret|token|api[_-]?key|apikey)=[^\s&;]/i;
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):([^@/\s]*)@/gi;
const BEARER = /\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*/gi;
const BASIC = /\b(basic)\s+([A-Za-z0-9+/]{8,}={0,2})/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
// The value may be quoted (`password="a b"`, logfmt/shell style); the quotes are kept around the censor.
const KV_SECRET =
  /\b((?:[a-z0-9_-]*)(?:password|passwd|pwd|secret|token|api[_-]?key|apikey))=(?:"[^"\n]*"?|'[^'\n]*'?|[^\s&;,"']+)/gi;

const CIRCULAR = '[Circular]';
const KEY_CACHE_LIMIT = 4096;
/** Longer keys are not cached: 4096 huge, distinct keys (from a logged request body) would be retained forever. */
export const KEY_CACHE_MAX_LENGTH = 256;
/** How far past the cut a long string is scrubbed, so a secret straddling the cut still matches. */
const SCRUB_MARGIN = 1024;

/**
 * `out[key] = v`, except that a `__proto__` key (JSON.parse of a request body makes it an own
 * property) stays an ordinary field instead of replacing the copy's prototype.
 */
export function put(out: Record<string, unknown>, key: string, v: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  else out[key] = v;
}

/** Stateless-per-call sanitizer; one instance per logger holds its compiled settings and key cache. */
export class Sanitizer {
  readonly censor: string;
  readonly redactValues: boolean;
  readonly maxStringLength: number;
  readonly maxDepth: number;
  readonly maxItems: number;
  readonly censorJson: string;
  private readonly patterns: string[];
  private readonly sensitive = new Map<string, boolean>();
  /** Reused ancestor stack for cycle detection (push/pop stay balanced, even on throw). */
  private readonly ancestors: unknown[] = [];
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
    this.censorJson = JSON.stringify(this.censor);
  }

  /** Whether the value under `key` must be censored. Cached, since keys repeat across records. */
  isSensitiveKey(key: string): boolean {
    let hit = this.sensitive.get(key);
    if (hit !== undefined) return hit;
    hit = this.patterns.length > 0 && matchesPattern(key, this.patterns);
    if (this.sensitive.size < KEY_CACHE_LIMIT && key.length <= KEY_CACHE_MAX_LENGTH)
      this.sensitive.set(key, hit);
    return hit;
  }

  /** Caps the length and scrubs secret-looking substrings. */
  string(s: string): string {
    if (s.length > this.maxStringLength) {
      // Scrub before cutting: a secret cut in half (`postgres://u:secr`) no longer matches.
      let head = s.slice(0, this.maxStringLength + SCRUB_MARGIN);
      if (this.redactValues && SUSPECT.test(head)) head = this.scrub(head);
      return `${head.slice(0, this.maxStringLength)}…[truncated ${s.length - this.maxStringLength} chars]`;
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
      .replace(KV_SECRET, (m, key: string) => {
        const q = m[key.length + 1];
        return q === '"' || q === "'" ? `${key}=${q}${c}${q}` : `${key}=${c}`;
      });
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
      return this.object(value as object, depth, seen ?? this.ancestors);
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
      put(out, key, this.isSensitiveKey(key) ? this.censor : this.value(v, depth + 1, seen));
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
        put(out, key, this.censor);
        continue;
      }
      const v = this.value(src[key], depth + 1, seen);
      if (v !== undefined) put(out, key, v);
    }
    return out;
  }

  /**
   * JSON text of `value` with the same rules as {@link value} (redaction, caps, cycles,
   * special types), written directly without building a copy — the stdout-only fast path.
   * Returns undefined where JSON would omit the value.
   */
  json(value: unknown, depth = 0, seen?: unknown[]): string | undefined {
    switch (typeof value) {
      case 'string':
        return quote(this.string(value));
      case 'number':
        return Number.isFinite(value) ? `${value}` : `"${value}"`;
      case 'boolean':
        return value ? 'true' : 'false';
      case 'bigint':
        return `"${value}"`;
      case 'undefined':
        return undefined;
      case 'symbol':
      case 'function':
        return quote(this.value(value) as string);
    }
    if (value === null) return 'null';
    try {
      return this.objectJson(value as object, depth, seen ?? this.ancestors);
    } catch (err) {
      return quote(`[Unserializable: ${this.string(String((err as Error)?.message ?? err))}]`);
    }
  }

  private objectJson(obj: object, depth: number, seen: unknown[]): string {
    if (seen.includes(obj)) return `"${CIRCULAR}"`;
    const proto = Object.getPrototypeOf(obj);
    // Plain objects (by far the most common field values) skip the type checks below.
    if (
      (proto === Object.prototype || proto === null) &&
      depth < this.maxDepth &&
      typeof (obj as { toJSON?: unknown }).toJSON !== 'function'
    ) {
      seen.push(obj);
      try {
        return this.fieldsJson(obj as Record<string, unknown>, depth, seen);
      } finally {
        seen.pop();
      }
    }
    if (
      obj instanceof Date ||
      ArrayBuffer.isView(obj) ||
      obj instanceof ArrayBuffer ||
      obj instanceof RegExp ||
      depth >= this.maxDepth ||
      isError(obj)
    ) {
      // rare shapes: reuse the tree code rather than duplicate it
      return plainJson(this.value(obj, depth, seen));
    }
    seen.push(obj);
    try {
      if (Array.isArray(obj)) return this.listJson(obj, obj.length, depth, seen);
      if (obj instanceof Set) return this.listJson(Array.from(obj), obj.size, depth, seen);
      if (obj instanceof Map) return plainJson(this.value(obj, depth, seen.slice(0, -1)));
      const toJSON = (obj as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        const j = toJSON.call(obj);
        if (j !== obj) return this.json(j, depth + 1, seen) ?? 'null';
      }
      return this.fieldsJson(obj as Record<string, unknown>, depth, seen);
    } finally {
      seen.pop();
    }
  }

  private fieldsJson(src: Record<string, unknown>, depth: number, seen: unknown[]): string {
    let out = '{';
    let first = true;
    let i = 0;
    for (const key in src) {
      if (!Object.hasOwn(src, key)) continue;
      if (i++ >= this.maxItems) {
        out += `${first ? '' : ','}"…":"[truncated keys]"`;
        break;
      }
      const v = this.isSensitiveKey(key) ? this.censorJson : this.json(src[key], depth + 1, seen);
      if (v === undefined) continue;
      out += `${first ? '' : ','}${quote(key)}:${v}`;
      first = false;
    }
    return `${out}}`;
  }

  private listJson(items: unknown[], total: number, depth: number, seen: unknown[]): string {
    const n = Math.min(items.length, this.maxItems);
    let out = '[';
    for (let i = 0; i < n; i++)
      out += (i === 0 ? '' : ',') + (this.json(items[i], depth + 1, seen) ?? 'null');
    if (total > n) out += `${n === 0 ? '' : ','}${quote(`…[truncated ${total - n} items]`)}`;
    return `${out}]`;
  }

  /** Errors become `{ type, message, code?, stack? (debug only), cause?, ...own fields }`. */
  error(err: Error, depth = 0, seen: unknown[] = []): Record<string, unknown> {
    seen.push(err);
    try {
      // Every read goes through readProp: a throwing getter on an Error logged directly
      // (logger.error(err)) would otherwise take the whole record down with it.
      const message = readProp(err, 'message');
      const out: Record<string, unknown> = {
        type: safeName(err),
        message: this.string(typeof message === 'string' ? message : safeString(message ?? '')),
      };
      const code = readProp(err, 'code');
      if (code !== undefined) out.code = this.value(code, depth + 1, seen);
      const stack = this.includeStack ? readProp(err, 'stack') : undefined;
      if (typeof stack === 'string') out.stack = this.string(stack);
      const cause = readProp(err, 'cause');
      if (cause !== undefined) out.cause = this.value(cause, depth + 1, seen);
      // AggregateError's `errors` is not enumerable; it holds the actual reasons (ECONNREFUSED per address).
      const errors = readProp(err, 'errors');
      if (Array.isArray(errors)) out.errors = this.value(errors, depth + 1, seen);
      const src = err as unknown as Record<string, unknown>;
      for (const key in src) {
        // `level` is winston's, set on an Error logged directly (logger.error(err)).
        if (!Object.hasOwn(src, key) || key in out || key === 'stack' || key === 'message' || key === 'level')
          continue;
        put(
          out,
          key,
          this.isSensitiveKey(key) ? this.censor : this.value(readProp(src, key), depth + 1, seen),
        );
      }
      return out;
    } finally {
      seen.pop();
    }
  }
}

/** `obj[key]`, or undefined when a getter (or a Proxy trap) throws. */
function readProp(obj: object, key: string): unknown {
  try {
    return (obj as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    return '[unprintable]';
  }
}

function safeName(err: Error): string {
  const name = readProp(err, 'name');
  if (typeof name === 'string' && name !== 'Error') return name;
  const ctor = readProp(err, 'constructor') as { name?: unknown } | undefined;
  const ctorName = typeof ctor === 'function' ? readProp(ctor, 'name') : undefined;
  return typeof ctorName === 'string' && ctorName !== '' ? ctorName : 'Error';
}

/** Errors from other realms or duplicate packages fail `instanceof`, so check the tag too. */
export function isError(v: unknown): v is Error {
  if (v instanceof Error) return true;
  // Only objects that look like errors pay for the tag check.
  const o = v as { stack?: unknown; message?: unknown } | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.message === 'string' &&
    typeof o.stack === 'string' &&
    Object.prototype.toString.call(v) === '[object Error]'
  );
}

/**
 * JSON string literal for `s`. Short strings without characters that need escaping (the
 * common case) are wrapped directly, which is about twice as fast as JSON.stringify.
 */
export function quote(s: string): string {
  if (s.length > 64) return JSON.stringify(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/** JSON text of a tree that {@link Sanitizer.value} produced (only null, booleans, finite numbers, strings, arrays, plain objects). */
export function plainJson(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'number':
      return `${v}`;
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ',') + plainJson(v[i]);
    return `${out}]`;
  }
  let out = '{';
  let first = true;
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (x === undefined) continue;
    out += `${first ? '' : ','}${quote(k)}:${plainJson(x)}`;
    first = false;
  }
  return `${out}}`;
}
