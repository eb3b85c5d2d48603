import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Request, Response } from 'express';

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);
// Quality 4 / level 6: most of the size win for a fraction of the CPU of the maxima.
const BROTLI_OPTS = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } };

/** Per-response choices made by the route. */
export type SendOptions = {
  /** Answer with 304 when `If-None-Match` matches (cached reads only). */
  etag?: boolean;
  /** Compress bodies larger than this many bytes (0 = never). */
  compressAbove: number;
};

// Hot cached reads send the same bytes again and again: compress each representation once.
// Keyed by encoding + ETag (a hash of the JSON), bounded in bytes, least recently used first out.
const COMPRESSED_MAX_BYTES = 16 * 1024 * 1024;
const compressed = new Map<string, Buffer>();
let compressedBytes = 0;
// Compressions running now, by key: a burst of identical requests waits for one of them instead
// of compressing the same bytes again (and storing, and counting, the same entry many times).
const compressing = new Map<string, Promise<Buffer>>();

async function compress(json: Buffer, enc: 'br' | 'gzip', etag: string | undefined): Promise<Buffer> {
  const key = etag && `${enc}:${etag}`;
  if (!key) return enc === 'br' ? brotli(json, BROTLI_OPTS) : gz(json);
  const hit = compressed.get(key);
  if (hit) {
    compressed.delete(key);
    compressed.set(key, hit);
    return hit;
  }
  const running = compressing.get(key);
  if (running) return running;
  const work = enc === 'br' ? brotli(json, BROTLI_OPTS) : gz(json);
  compressing.set(key, work);
  let out: Buffer;
  try {
    out = await work;
  } finally {
    compressing.delete(key);
  }
  if (out.length < COMPRESSED_MAX_BYTES / 16 && !compressed.has(key)) {
    compressed.set(key, out);
    compressedBytes += out.length;
    for (const [k, v] of compressed) {
      if (compressedBytes <= COMPRESSED_MAX_BYTES) break;
      compressed.delete(k);
      compressedBytes -= v.length;
    }
  }
  return out;
}

/**
 * The coding the client prefers (RFC 9110 §12.5.3): the highest `q` among `br` and `gzip`, a tie
 * going to `br`; `*` gives its `q` to the codings it does not list; none when both are refused
 * (`;q=0`) or when the client rates `identity` higher by name.
 */
function pickEncoding(header: string | undefined): 'br' | 'gzip' | undefined {
  if (!header) return undefined;
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (name.trim()) weights.set(name.trim(), Number.isFinite(weight) ? weight : 0);
  }
  const any = weights.get('*');
  const br = weights.get('br') ?? any ?? 0;
  const gzip = weights.get('gzip') ?? any ?? 0;
  const best = Math.max(br, gzip);
  const identity = weights.get('identity');
  if (best <= 0 || (identity !== undefined && identity > best)) return undefined;
  return br >= gzip ? 'br' : 'gzip';
}

function matches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag.replace(/^W\//, ''));
}

/**
 * Serialises `body` once, then answers 304 on a matching ETag, compresses only above the
 * threshold (small bodies cost more CPU to compress than they save on the wire), and sends.
 * @example await sendJson(req, res, 200, page, { etag: true, compressAbove: 1024 });
 */
export async function sendJson(
  req: Request,
  res: Response,
  status: number,
  body: unknown,
  opts: SendOptions,
) {
  const json = Buffer.from(JSON.stringify(body));
  res.status(status).setHeader('content-type', 'application/json; charset=utf-8');
  // Before the 304 check: a 304 must carry the Vary a 200 would (RFC 9110 §15.4.5), or a shared
  // cache revalidating its gzip copy could serve it to a client that accepts no encoding.
  res.setHeader('vary', 'accept-encoding');
  let tag: string | undefined;
  if (opts.etag) {
    tag = `W/"${createHash('sha1').update(json).digest('base64url').slice(0, 27)}"`;
    res.setHeader('etag', tag);
    res.setHeader('cache-control', 'private, no-cache');
    const inm = req.headers['if-none-match'];
    if (inm && matches(inm, tag)) {
      res.status(304).end();
      return;
    }
  }
  const enc =
    opts.compressAbove > 0 && json.length > opts.compressAbove
      ? pickEncoding(req.headers['accept-encoding'])
      : undefined;
  if (enc) {
    const out = await compress(json, enc, tag);
    res.setHeader('content-encoding', enc);
    res.setHeader('content-length', out.length);
    res.end(out);
    return;
  }
  // Explicit: node leaves Content-Length out of a HEAD answer when it only sees the body in end(),
  // and a HEAD must carry the header fields its GET would (RFC 9110 §9.3.2).
  res.setHeader('content-length', json.length);
  res.end(json);
}

/**
 * Keeps only the requested fields of each memory (`?fields=id,content`).
 * @example selectFields(memory, ['id', 'content'])
 */
export function selectFields<T extends Record<string, unknown>>(
  item: T,
  fields: string[] | undefined,
): Partial<T> {
  if (!fields) return item;
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f in item) out[f] = item[f];
  return out as Partial<T>;
}
