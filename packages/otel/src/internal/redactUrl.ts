export const REDACTED = 'REDACTED';

/**
 * Keeps a URL's shape but not its secrets: user info becomes REDACTED:REDACTED, every
 * query value becomes REDACTED (names are kept: they help debugging and are not secret),
 * the fragment is dropped. Works on absolute URLs and bare `path?query` targets alike.
 */
export function redactUrl(url: string): string {
  let s = url;
  const hash = s.indexOf('#');
  if (hash !== -1) s = s.slice(0, hash);
  const scheme = s.indexOf('://');
  if (scheme !== -1) {
    const hostStart = scheme + 3;
    const slash = s.indexOf('/', hostStart);
    const q = s.indexOf('?', hostStart);
    const authorityEnd = Math.min(slash === -1 ? s.length : slash, q === -1 ? s.length : q);
    const at = s.lastIndexOf('@', authorityEnd);
    if (at >= hostStart) s = `${s.slice(0, hostStart)}${REDACTED}:${REDACTED}${s.slice(at)}`;
  }
  const q = s.indexOf('?');
  if (q === -1) return s;
  return `${s.slice(0, q + 1)}${redactQuery(s.slice(q + 1))}`;
}

/** `a=1&b=2` → `a=REDACTED&b=REDACTED`. */
export function redactQuery(query: string): string {
  if (query === '') return query;
  return query
    .split('&')
    .map((pair) => {
      if (pair === '') return pair;
      const eq = pair.indexOf('=');
      return `${eq === -1 ? pair : pair.slice(0, eq)}=${REDACTED}`;
    })
    .join('&');
}
