import { type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, problemDetails, recordError } from '@mem0-stack/errors';

// Node's parser rejects these before express sees a request; its default answer is a bare
// status line with no body, which breaks the promise that every error is problem+json.
const PARSER_STATUS: Record<string, { status: number; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'HEADERS_TOO_LARGE',
    message: 'The request headers are too large. Send smaller headers (at most 16 KB in total).',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'REQUEST_TIMEOUT',
    message: 'The request took too long to arrive. Please send it again.',
  },
};

/** Writes a complete problem+json response straight to a raw socket, then closes it. */
function answer(socket: Duplex, err: AppError): void {
  try {
    recordError(err);
  } catch {
    // Analytics never block the answer.
  }
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const p = problemDetails(err);
  const body = JSON.stringify(p.body);
  const head = [
    `HTTP/1.1 ${p.status} ${STATUS_CODES[p.status] ?? 'Error'}`,
    'content-type: application/problem+json',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    ...Object.entries(p.headers)
      .filter(([k]) => k.toLowerCase() !== 'content-type')
      .map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * Answers requests that Node's HTTP parser rejects (oversized headers, malformed framing or
 * header bytes, slow requests) and CONNECT (we are not a proxy) with problem+json instead of
 * Node's empty default, and counts them in `app.errors`.
 * @example answerRejectedRequests(server);
 */
export function answerRejectedRequests(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset or closed connection has no one left to answer.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const known = PARSER_STATUS[err.code ?? ''];
    answer(
      socket,
      new AppError(`HTTP parser rejected the request: ${err.code ?? err.message}`, {
        code: known?.code ?? 'MALFORMED_REQUEST',
        category: 'validation',
        severity: 'low',
        status: known?.status ?? 400,
        userMessage: known?.message ?? 'The request is not valid HTTP. Check the request line and headers.',
        cause: err,
      }),
    );
  });
  server.on('connect', (_req, socket: Duplex) => {
    answer(
      socket,
      new AppError('CONNECT is not supported', {
        code: 'METHOD_NOT_ALLOWED',
        category: 'validation',
        severity: 'low',
        status: 405,
        userMessage: 'This service is not a proxy: CONNECT is not supported.',
      }),
    );
  });
}
