import { get, getString } from './safe';

/** The few request fields we read; express' Request and node's IncomingMessage both fit. */
export type RequestLike = {
  method?: string;
  url?: string;
  originalUrl?: string;
  headers?: Record<string, string | string[] | undefined>;
};

export function requestHeader(req: unknown, name: string): string | undefined {
  const v = get(get(req, 'headers'), name);
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

/** The request path without its query string (queries carry tokens), bounded. */
export function requestPath(req: unknown): string | undefined {
  const url = getString(req, 'originalUrl') ?? getString(req, 'url');
  if (url === undefined) return undefined;
  let path = url.split('?')[0]!.split('#')[0]!;
  // Absolute-form target (`GET http://user:pw@host/p`, as sent to a proxy): keep the path only,
  // never the credentials or the host name.
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(path);
  if (absolute) path = path.slice(absolute[0].length) || '/';
  if (path.length === 0 || path.length > 512) return undefined;
  // Only printable ASCII: the instance is echoed back, so no control characters.
  if (/^[\x21-\x7e]+$/.test(path)) return path;
  try {
    return encodeURI(path).slice(0, 512);
  } catch {
    // A lone surrogate (not valid UTF-16) makes encodeURI throw: no instance beats no answer.
    return undefined;
  }
}

const LOCALE = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/;

/** First language of Accept-Language, if well-formed. */
export function requestLocale(req: unknown): string | undefined {
  const h = requestHeader(req, 'accept-language');
  if (h === undefined) return undefined;
  const first = h.split(',')[0]?.split(';')[0]?.trim();
  return first !== undefined && LOCALE.test(first) ? first : undefined;
}
