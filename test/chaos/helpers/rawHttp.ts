// Requests Node's HTTP client refuses to send (bare CR/LF in header values, malformed request
// lines, lying Content-Length, 64 KB headers): written byte by byte on a socket, the answer parsed
// by hand.
import { connect } from 'node:net';
import type { Outcome } from './load';

export type RawResponse = {
  status?: number;
  headers: Record<string, string>;
  body: string;
  /** How the exchange ended when no complete answer came back. */
  error?: string;
};

/** Sends `bytes` to host:port and reads until the server closes or `timeoutMs` passes. */
export function rawRequest(port: number, bytes: Buffer | string, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = connect({ port, host: '127.0.0.1' });
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({
        ...parseResponse(Buffer.concat(chunks)),
        ...(error && chunks.length === 0 ? { error } : {}),
      });
    };
    const timer = setTimeout(() => finish('TIMEOUT'), timeoutMs);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => {
      chunks.push(d);
      // Connection: close is requested; but stop as soon as a complete answer is in.
      const r = parseResponse(Buffer.concat(chunks));
      if (r.complete) finish();
    });
    sock.on('end', () => finish());
    sock.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
  });
}

function dechunk(body: Buffer): { body: Buffer; complete: boolean } {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const nl = body.indexOf('\r\n', i);
    if (nl < 0) return { body: Buffer.concat(out), complete: false };
    const size = Number.parseInt(body.subarray(i, nl).toString(), 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(out), complete: false };
    if (size === 0) return { body: Buffer.concat(out), complete: true };
    out.push(body.subarray(nl + 2, nl + 2 + size));
    i = nl + 2 + size + 2;
    if (i > body.length) return { body: Buffer.concat(out), complete: false };
  }
}

function parseResponse(buf: Buffer): RawResponse & { complete: boolean } {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return { headers: {}, body: '', complete: false };
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  const rest = buf.subarray(end + 4);
  let body = rest;
  let complete = false;
  if (headers['transfer-encoding'] === 'chunked') {
    const d = dechunk(rest);
    body = d.body;
    complete = d.complete;
  } else if (headers['content-length'] !== undefined) {
    complete = rest.length >= Number(headers['content-length']);
    body = rest.subarray(0, Number(headers['content-length']));
  } else complete = status === 204 || status === 304;
  return {
    status: Number.isFinite(status) ? status : undefined,
    headers,
    body: body.toString('utf8'),
    complete,
  };
}

/** A raw exchange as a load Outcome, so the same response checks apply. */
export function rawOutcome(tag: string, r: RawResponse): Outcome {
  return {
    tag,
    method: 'RAW',
    path: tag,
    traceId: undefined,
    status: r.status,
    contentType: r.headers['content-type'],
    body: r.body,
    bodyBytes: Buffer.byteLength(r.body),
    error: r.status === undefined ? (r.error ?? 'NO_RESPONSE') : undefined,
    reusedSocket: false,
    startedAt: Date.now(),
    ms: 0,
  };
}
