import { NotFoundError } from './categoryErrors';
import { type RequestLike, requestPath } from './internal/request';
import { get } from './internal/safe';
import { type ErrorResponseOptions, type ResponseLike, sendProblem } from './sendProblem';

/**
 * Express error middleware (mount last): any error from a route becomes an RFC 9457
 * problem+json response, recorded once in logs, traces and metrics. Body-parser failures
 * answer 400 (malformed JSON) or 413 (too large).
 * @example
 * app.use(express.json());
 * app.use('/v1', routes);
 * app.use(notFoundHandler());
 * app.use(errorHandler());
 */
export function errorHandler(
  options: ErrorResponseOptions = {},
): (err: unknown, req: RequestLike, res: ResponseLike, next: (err?: unknown) => void) => void {
  // Express recognises error middleware by its four declared parameters.
  return function mem0ErrorHandler(err, req, res, _next) {
    sendProblem(err, req, res, options);
  };
}

/**
 * Express middleware for unmatched routes (mount after all routes, before errorHandler):
 * answers 404 `ROUTE_NOT_FOUND` as problem+json.
 * @example app.use(notFoundHandler());
 */
export function notFoundHandler(
  options: ErrorResponseOptions = {},
): (req: RequestLike, res: ResponseLike, next: (err?: unknown) => void) => void {
  return function mem0NotFound(req, res, _next) {
    sendProblem(routeNotFound(req), req, res, options);
  };
}

function routeNotFound(req: unknown): Error {
  const method = get(req, 'method');
  return new NotFoundError(
    `no route for ${typeof method === 'string' ? method : 'GET'} ${requestPath(req) ?? '?'}`,
    {
      code: 'ROUTE_NOT_FOUND',
    },
  );
}
