import { createHash } from 'node:crypto';

/**
 * Normalises SQL for a cache key: comments dropped, whitespace runs collapsed, unquoted text
 * lower-cased (PostgreSQL folds unquoted identifiers and keywords), string literals, quoted
 * identifiers and dollar-quoted bodies kept byte for byte, trailing semicolons removed.
 * `SELECT *  FROM t -- x` and `select * from t` give the same key.
 */
export function normalizeSql(sql: string): string {
  let out = '';
  let i = 0;
  let space = false;
  const n = sql.length;
  const emit = (s: string) => {
    if (space && out.length > 0) out += ' ';
    space = false;
    out += s;
  };
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end;
      space = true;
      continue;
    }
    if (c === '/' && next === '*') {
      // PostgreSQL block comments nest.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      space = true;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < n) {
        if (sql[j] === c) {
          if (sql[j + 1] === c)
            j += 2; // doubled quote inside the literal
          else break;
        } else if (c === "'" && sql[j] === '\\' && /[eE]$/.test(sql.slice(Math.max(0, i - 1), i))) j += 2;
        else j++;
      }
      emit(sql.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (m) {
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        const stop = end < 0 ? n : end + tag.length;
        emit(sql.slice(i, stop));
        i = stop;
        continue;
      }
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') {
      space = true;
      i++;
      continue;
    }
    let j = i;
    while (j < n && !/[\s'"$\-/]/.test(sql[j] as string)) j++;
    if (j === i) j = i + 1;
    emit(sql.slice(i, j).toLowerCase());
    i = j;
  }
  return out.replace(/[;\s]+$/, '');
}

// Statements whose results must never be cached: writes, locks, and session changes.
// `into`: SELECT … INTO creates a table (INSERT INTO and MERGE INTO are writes anyway).
const UNCACHEABLE =
  /\b(insert|update|delete|merge|truncate|create|alter|drop|grant|revoke|copy|call|do|lock|into|vacuum|analyze|refresh|listen|notify|set|reset|begin|commit|rollback|nextval|setval)\b|\bfor\s+(update|share|no\s+key\s+update|key\s+share)\b/;

/** True for a read-only SELECT/WITH/VALUES/TABLE statement (checked on the normalised text, literals excluded). */
export function isCacheableSql(normalized: string): boolean {
  if (!/^(select|with|values|table)\b/.test(normalized)) return false;
  const code = normalized.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, "''");
  return !UNCACHEABLE.test(code);
}

function encodeParam(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return { d: v.getTime() };
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { b: Buffer.from(v).toString('base64') };
  if (typeof v === 'bigint') return { n: v.toString() };
  if (Array.isArray(v)) return v.map(encodeParam);
  if (typeof v === 'object') {
    // Objects are sent to pg as JSON; sort keys so {a,b} and {b,a} share a key.
    const o = v as Record<string, unknown>;
    return {
      o: Object.keys(o)
        .sort()
        .map((k) => [k, encodeParam(o[k])]),
    };
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return { f: String(v) };
  return v;
}

/** Stable cache key of a query: `q:` + SHA-256 of the normalised SQL and typed parameters. */
export function queryKey(normalized: string, params: readonly unknown[] | undefined): string {
  const h = createHash('sha256');
  h.update(normalized);
  h.update('\u0000');
  h.update(JSON.stringify((params ?? []).map(encodeParam)));
  return `q:${h.digest('base64url')}`;
}
