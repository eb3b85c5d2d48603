/**
 * Replaces every literal in a SQL statement (quoted strings, dollar-quoted strings, numbers,
 * hex/bit strings) with `?`, keeping placeholders (`$1`), identifiers and keywords, so
 * `db.query.text` never carries user data even when an application concatenates values
 * into its SQL. Linear time, no regular expressions over the whole statement.
 * @example
 * sanitizeSql("SELECT * FROM users WHERE email = 'a@b.c' AND id = 42 AND org = $1");
 * // "SELECT * FROM users WHERE email = ? AND id = ? AND org = $1"
 */
export function sanitizeSql(sql: string, dialect: SqlDialect = 'postgresql'): string {
  // MySQL/MariaDB: every string honours backslash escapes and "double quotes" delimit a string
  // (mysql2's format() inlines bound values as 'O\'Reilly'); `backticks` quote identifiers.
  const mysql = dialect === 'mysql';
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    // -- line comment and /* block comment */: kept verbatim (they hold no bound values
    // in practice and are useful for sqlcommenter-style tags)
    if (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45) {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      out += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      out += sql.slice(i, stop);
      i = stop;
      continue;
    }
    // 'string', E'escaped', X'hex', B'bits', N'national'
    if (
      c === 39 /* ' */ ||
      (isPrefix(c) && sql.charCodeAt(i + 1) === 39 && !isIdentChar(sql.charCodeAt(i - 1)))
    ) {
      const backslash = mysql || c === 69 || c === 101; // E'' strings honour backslash escapes
      let j = c === 39 ? i + 1 : i + 2;
      while (j < n) {
        const d = sql.charCodeAt(j);
        if (backslash && d === 92 /* \ */) {
          j += 2;
          continue;
        }
        if (d === 39) {
          if (sql.charCodeAt(j + 1) === 39) {
            j += 2;
            continue;
          }
          j++;
          break;
        }
        j++;
      }
      out += '?';
      i = j;
      continue;
    }
    if (mysql && (c === 34 /* " */ || c === 96) /* ` */) {
      // "string" (replaced) or `identifier` (kept), with backslash and doubled-quote escapes.
      let j = i + 1;
      while (j < n) {
        const d = sql.charCodeAt(j);
        if (d === 92 /* \ */ && c === 34) {
          j += 2;
          continue;
        }
        if (d === c) {
          if (sql.charCodeAt(j + 1) === c) {
            j += 2;
            continue;
          }
          j++;
          break;
        }
        j++;
      }
      out += c === 34 ? '?' : sql.slice(i, Math.min(j, n));
      i = j;
      continue;
    }
    // "quoted identifier": kept
    if (c === 34 /* " */) {
      let j = i + 1;
      while (j < n && !(sql.charCodeAt(j) === 34 && sql.charCodeAt(j + 1) !== 34))
        j += sql.charCodeAt(j) === 34 ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    // $1 placeholder (kept) or $tag$ dollar-quoted string (replaced)
    if (c === 36 /* $ */) {
      let j = i + 1;
      if (isDigit(sql.charCodeAt(j))) {
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        out += sql.slice(i, j);
        i = j;
        continue;
      }
      j = wordEnd(sql, j);
      if (sql.charCodeAt(j) === 36) {
        const tag = sql.slice(i, j + 1);
        const end = sql.indexOf(tag, j + 1);
        out += '?';
        i = end === -1 ? n : end + tag.length;
        continue;
      }
      out += '$';
      i++;
      continue;
    }
    // numbers not glued to an identifier (t1, col_2 stay)
    if ((isDigit(c) || (c === 46 && isDigit(sql.charCodeAt(i + 1)))) && !isIdentChar(sql.charCodeAt(i - 1))) {
      let j = i;
      while (j < n && (isDigit(sql.charCodeAt(j)) || sql.charCodeAt(j) === 46)) j++;
      if (sql.charCodeAt(j) === 101 || sql.charCodeAt(j) === 69) {
        let k = j + 1;
        if (sql.charCodeAt(k) === 43 || sql.charCodeAt(k) === 45) k++;
        if (isDigit(sql.charCodeAt(k))) {
          j = k;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
        }
      }
      // The rest of a PostgreSQL 16 literal: 0x1F, 0o17, 0b101, 1_000_000 (otherwise `x1F` or
      // `_000_000` would be copied out as an identifier, digits and all).
      j = wordEnd(sql, j);
      out += '?';
      i = j;
      continue;
    }
    // identifiers and keywords copied in one slice
    if (isIdentChar(c)) {
      let j = i + 1;
      while (j < n && isIdentChar(sql.charCodeAt(j))) j++;
      out += sql.slice(i, j);
      i = j;
      continue;
    }
    out += sql[i];
    i++;
  }
  return out;
}

/** How string literals are written: PostgreSQL (and standard SQL), or MySQL/MariaDB. */
export type SqlDialect = 'postgresql' | 'mysql';

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Index after the identifier characters from `j`, stopping at `$` (a dollar-quote tag's end). */
function wordEnd(sql: string, j: number): number {
  while (j < sql.length && isIdentChar(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 36) j++;
  return j;
}

function isIdentChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c > 127
  );
}

/** E, X, B, N (either case) can prefix a string literal. */
function isPrefix(c: number): boolean {
  return c === 69 || c === 101 || c === 88 || c === 120 || c === 66 || c === 98 || c === 78 || c === 110;
}
