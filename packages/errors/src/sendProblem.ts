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
 * already sent, the connection is destroyed (the client sees a truncated response, not a
 * corrupt one). Never throws.
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
        res.destroy?.();
        return c;
      }
      const problem = problemDetails(c, req, { ...options, correlationId: id });
      res.statusCode = problem.status;
      for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
      res.end(get(req, 'method') === 'HEAD' ? undefined : JSON.stringify(problem.body));
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
