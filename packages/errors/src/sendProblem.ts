import {
  getCorrelationId,
  isValidCorrelationId,
  newCorrelationId,
  runWithCorrelation,
} from '@mem0-stack/logging';
import { type RequestLike, requestHeader, requestPath } from './internal/request';
import { get } from './internal/safe';
import { type ProblemOptions, problemDetails } from './problemDetails';
import { type RecordErrorOptions, recordError } from './recordError';
import type { ClassifiedError } from './types';

/** The response methods we use; node's ServerResponse and express' Response both fit. */
export type ResponseLike = {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: string): unknown;
  getHeader(name: string): unknown;
  end(chunk?: string): unknown;
  destroy?(error?: Error): unknown;
};

const STALE_HEADERS = ['content-encoding', 'content-language', 'content-range', 'content-disposition'];

/** Options of {@link sendProblem}, {@link errorHandler} and {@link withErrorHandling}. */
export type ErrorResponseOptions = ProblemOptions & Pick<RecordErrorOptions, 'logger'>;

function pickCorrelationId(req: unknown, res: ResponseLike): { id: string; scoped: boolean } {
  let active: string | undefined;
  try {
    active = getCorrelationId();
  } catch {
    active = undefined;
  }
  if (isValidCorrelationId(active)) return { id: active, scoped: true };
  // No logging scope (requestLogger not mounted): reuse what the client will see, or what it sent.
  const candidates = [
    get(res, 'getHeader') ? res.getHeader('x-correlation-id') : undefined,
    requestHeader(req, 'x-correlation-id'),
    requestHeader(req, 'x-request-id'),
  ];
  const id = candidates.find(isValidCorrelationId);
  return { id: (id as string | undefined) ?? newCorrelationId(), scoped: false };
}

/**
 * Records `err` once (log, span, metric) and writes the problem+json response, with the same
 * correlation id in the body, the `x-correlation-id` header and the log line. If headers are
 * already sent mid-response, the connection is destroyed (the client sees a truncated response,
 * not a corrupt one); a response already ended is left to finish. Never throws.
 * @example
 * http.createServer(async (req, res) => {
 *   try { await route(req, res); } catch (err) { sendProblem(err, req, res); }
 * });
 */
export function sendProblem(
  err: unknown,
  req: RequestLike | undefined,
  res: ResponseLike,
  options: ErrorResponseOptions = {},
): ClassifiedError {
  const { id, scoped } = pickCorrelationId(req, res);
  const run = (): ClassifiedError => {
    const fields: Record<string, unknown> = {};
    const method = get(req, 'method');
    if (typeof method === 'string') fields['http.request.method'] = method;
    const path = requestPath(req);
    if (path !== undefined) fields['url.path'] = path;
    const c = recordError(err, { logger: options.logger, fields });
    try {
      if (res.headersSent) {
        // A complete response (end() already called) is left alone: destroying the socket would
        // drop its still-buffered tail. Only a response cut mid-stream is aborted.
        if (get(res, 'writableEnded') !== true) res.destroy?.();
        return c;
      }
      const problem = problemDetails(c, req, { ...options, correlationId: id });
      const body = JSON.stringify(problem.body);
      res.statusCode = problem.status;
      // Headers the failed route set for its own representation do not describe this body: a
      // stale Content-Encoding makes it unreadable, a stale Content-Length makes node cut it.
      const remove = get(res, 'removeHeader');
      if (typeof remove === 'function') {
        for (const name of STALE_HEADERS) (remove as (n: string) => void).call(res, name);
      }
      for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
      res.setHeader('content-length', String(Buffer.byteLength(body)));
      res.end(get(req, 'method') === 'HEAD' ? undefined : body);
    } catch {
      // The socket may already be gone; there is nobody left to answer.
      try {
        res.destroy?.();
      } catch {
        /* nothing else to do */
      }
    }
    return c;
  };
  return scoped ? run() : runWithCorrelation(id, run);
}

/**
 * Wraps a plain `node:http` handler (sync or async): a throw or rejection becomes a
 * problem+json response via {@link sendProblem}.
 * @example http.createServer(withErrorHandling(async (req, res) => { res.end(await render(req)); }));
 */
export function withErrorHandling<Req extends RequestLike, Res extends ResponseLike>(
  handler: (req: Req, res: Res) => unknown,
  options: ErrorResponseOptions = {},
): (req: Req, res: Res) => void {
  return (req, res) => {
    try {
      const out = handler(req, res);
      if (out && typeof (out as PromiseLike<unknown>).then === 'function') {
        (out as PromiseLike<unknown>).then(undefined, (err: unknown) => sendProblem(err, req, res, options));
      }
    } catch (err) {
      sendProblem(err, req, res, options);
    }
  };
}
