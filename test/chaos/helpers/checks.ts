// What every scenario checks on what it captured: responses are problem+json or success, stdout
// lines are one JSON object each, and no planted secret appears anywhere.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { Outcome } from './load';

export const CATEGORIES = [
  'validation',
  'authentication',
  'authorization',
  'not_found',
  'conflict',
  'rate_limited',
  'timeout',
  'unavailable',
  'database',
  'cache',
  'configuration',
  'internal',
];

/** A stack frame (V8 format) or a source location of the server. */
export const STACK_FRAME =
  /\n\s*at \S|\bat (?:async )?\S+ \((?:\/|node:)|node:internal|\/work\/|\/dist\/\S+\.js|\.ts:\d+:\d+/;
/** SQL text as the server runs it (not a word like "select" in a sentence). */
export const SERVER_SQL =
  /\b(?:SELECT\s+[\w*,\s()."]+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|websearch_to_tsquery|to_char\(|RETURNING\b|memories\s+WHERE)/i;
/** Where the server runs and what it connects to. */
export const INTERNAL_ADDRESS =
  /postgres(?:ql)?:\/\/|redis:\/\/|127\.0\.0\.1:\d+|localhost:\d+|ECONNREFUSED/i;

/**
 * Problems with one response: a non-2xx must be a complete RFC 9457 problem+json with our
 * extension members and nothing internal; a 2xx with a body must be valid JSON.
 */
export function responseProblems(o: Outcome): string[] {
  const out: string[] = [];
  if (o.status === undefined) return [`no response (${o.error})`];
  const body = o.body ?? '';
  if (o.status >= 400) {
    if (!/^application\/problem\+json\b/.test(o.contentType ?? ''))
      out.push(`status ${o.status} with content-type ${o.contentType}`);
    // biome-ignore lint/suspicious/noExplicitAny: inspected ad hoc
    let p: any;
    try {
      p = JSON.parse(body);
    } catch {
      return [...out, `status ${o.status} body is not JSON: ${body.slice(0, 120)}`];
    }
    if (typeof p !== 'object' || p === null || Array.isArray(p)) return [...out, 'problem is not an object'];
    if (typeof p.type !== 'string' || p.type.length === 0) out.push('problem.type missing');
    if (typeof p.title !== 'string') out.push('problem.title missing');
    if (p.status !== o.status) out.push(`problem.status ${p.status} != HTTP ${o.status}`);
    if (typeof p.detail !== 'string') out.push('problem.detail missing');
    if (typeof p.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(p.code)) out.push(`problem.code ${p.code}`);
    if (!CATEGORIES.includes(p.category)) out.push(`problem.category ${p.category}`);
    if (typeof p.correlation_id !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(p.correlation_id))
      out.push(`problem.correlation_id ${p.correlation_id}`);
    if (typeof p.retryable !== 'boolean') out.push('problem.retryable missing');
    if (p.debug !== undefined) out.push('problem.debug exposed');
    if (STACK_FRAME.test(body)) out.push(`stack frame in body: ${body.slice(0, 200)}`);
    if (SERVER_SQL.test(body)) out.push(`SQL in body: ${body.slice(0, 200)}`);
    if (INTERNAL_ADDRESS.test(body)) out.push(`internal address in body: ${body.slice(0, 200)}`);
  } else if (body.length > 0 && /json/.test(o.contentType ?? '')) {
    try {
      JSON.parse(body);
    } catch {
      out.push(`status ${o.status} body is not JSON`);
    }
  }
  return out;
}

export type StdoutCheck = {
  records: Array<Record<string, unknown>>;
  /** Lines that are not exactly one JSON object. */
  invalid: string[];
};

/** Every stdout line must be exactly one JSON object (a log record). */
export function parseStdout(lines: string[]): StdoutCheck {
  const records: Array<Record<string, unknown>> = [];
  const invalid: string[] = [];
  for (const line of lines) {
    try {
      const v = JSON.parse(line);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) records.push(v);
      else invalid.push(line);
    } catch {
      invalid.push(line);
    }
  }
  return { records, invalid };
}

/** The fields every log record carries (design.md, log record contract). */
export const RECORD_FIELDS = ['timestamp', 'level', 'message', 'service.name', 'trace_id', 'correlation_id'];

export type SecretHit = { source: string; secret: string; context: string };

/** Streams a file looking for any of `needles` (files can be tens of MB). */
export function scanFile(path: string, needles: string[], source = path): SecretHit[] {
  if (!existsSync(path) || statSync(path).size === 0) return [];
  const hits: SecretHit[] = [];
  const fd = openSync(path, 'r');
  const chunk = Buffer.alloc(1 << 20);
  const overlap = Math.max(...needles.map((n) => Buffer.byteLength(n))) - 1;
  let carry = Buffer.alloc(0);
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const buf = Buffer.concat([carry, chunk.subarray(0, n)]);
      for (const needle of needles) {
        const at = buf.indexOf(needle);
        if (at >= 0 && !hits.some((h) => h.secret === needle))
          hits.push({
            source,
            secret: needle,
            context: buf.subarray(Math.max(0, at - 120), at + needle.length + 40).toString('utf8'),
          });
      }
      carry = Buffer.from(buf.subarray(Math.max(0, buf.length - overlap)));
    }
  } finally {
    closeSync(fd);
  }
  return hits;
}

export function scanText(text: string, needles: string[], source: string): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const needle of needles) {
    const at = text.indexOf(needle);
    if (at >= 0)
      hits.push({
        source,
        secret: needle,
        context: text.slice(Math.max(0, at - 120), at + needle.length + 40),
      });
  }
  return hits;
}

/** Finds secrets in HTTP bodies as they stream past (bodies are not all kept). */
export function bodyScanner(needles: string[]) {
  const bufs = needles.map((n) => Buffer.from(n));
  const hits: SecretHit[] = [];
  let scanned = 0;
  return {
    hits,
    get scanned() {
      return scanned;
    },
    scan(o: Pick<Outcome, 'method' | 'path'>, body: Buffer) {
      scanned++;
      for (let i = 0; i < bufs.length; i++) {
        const at = body.indexOf(bufs[i] as Buffer);
        if (at >= 0)
          hits.push({
            source: `HTTP body of ${o.method} ${o.path}`,
            secret: needles[i] as string,
            context: body.subarray(Math.max(0, at - 80), at + 80).toString('utf8'),
          });
      }
    },
  };
}
