import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ApiProblem } from './problem';

const VALID_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Correlation id: the active trace id, else a valid incoming header, else a new one. */
export const correlation: RequestHandler = (req, res, next) => {
  const span = trace.getActiveSpan();
  const incoming = req.headers['x-correlation-id'] ?? req.headers['x-request-id'];
  const id =
    span?.spanContext().traceId ??
    (typeof incoming === 'string' && VALID_ID.test(incoming) ? incoming : randomUUID().replace(/-/g, ''));
  res.locals.correlationId = id;
  res.setHeader('x-correlation-id', id);
  next();
};

/** problem+json for anything thrown by a route. */
export const problemHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  const e = err as { status?: number; statusCode?: number; type?: string; code?: string; details?: unknown };
  let status = 500;
  let code = 'INTERNAL';
  let title = 'Internal error';
  let details: unknown;
  if (err instanceof ApiProblem) {
    status = err.status;
    code = err.code;
    title = err.message;
    details = err.details;
  } else if (e.type === 'entity.parse.failed') {
    status = 400;
    code = 'INVALID_JSON';
    title = 'Request body is not valid JSON';
  } else if (e.type === 'entity.too.large') {
    status = 413;
    code = 'PAYLOAD_TOO_LARGE';
    title = 'Request body too large';
  }
  res
    .status(status)
    .type('application/problem+json')
    .json({ type: 'about:blank', title, status, code, details, correlation_id: res.locals.correlationId });
};

export const notFound: RequestHandler = (_req, _res, next) => {
  next(new ApiProblem(404, 'ROUTE_NOT_FOUND', 'No such route'));
};
