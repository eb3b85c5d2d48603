import { STATUS_CODES } from 'node:http';
import { getCorrelationId, isValidCorrelationId, newCorrelationId } from '@mem0-stack/logging';
import { classify, explicitUserMessage } from './classify';
import { CATEGORY_DEFAULTS } from './internal/defaults';
import { type RequestLike, requestLocale, requestPath } from './internal/request';
import { headerValue } from './internal/rules/retryAfter';
import { causeChain, ctorName, describe, get, getString } from './internal/safe';
import type { ErrorCategory, FieldIssue } from './types';
import { userMessageFor } from './userMessages';

/** One entry of `errors[]`: a field issue plus its JSON pointer (RFC 9457 §3 example shape). */
export type ProblemFieldError = FieldIssue & { pointer: string };

/** RFC 9457 `application/problem+json` body with the mem0-stack extension members. */
export type ProblemBody = {
  /** URI reference identifying the problem type, e.g. `urn:mem0-stack:error:db-unique-violation`. */
  type: string;
  /** Short, human-readable summary of the status (the HTTP reason phrase). */
  title: string;
  status: number;
  /** The user message: what happened and what to do. */
  detail: string;
  /** The request path (no query string). */
  instance?: string;
  code: string;
  category: ErrorCategory;
  correlation_id: string;
  retryable: boolean;
  /** Field-level problems for validation errors. */
  errors?: ProblemFieldError[];
  /** Internal detail, only with MEM0_EXPOSE_ERRORS=true and NODE_ENV=development. */
  debug?: { type: string; message: string; stack?: string; causes: string[] };
};

/** What {@link problemDetails} returns: everything needed to write the response. */
export type Problem = { status: number; headers: Record<string, string>; body: ProblemBody };

/** Options of {@link problemDetails}. */
export type ProblemOptions = {
  /** Prefix of `type`; the lower-kebab code is appended. Default `urn:mem0-stack:error:`. */
  typeBase?: string;
  /** Correlation id to put in the body; default `getCorrelationId()`, else a generated id. */
  correlationId?: string;
  /** Language for the message (default: the request's Accept-Language). */
  locale?: string;
  /**
   * Include internal detail (`debug`). Default: `MEM0_EXPOSE_ERRORS=true` AND
   * `NODE_ENV=development`; never enable in production.
   */
  expose?: boolean;
};

const MAX_ERRORS = 100;

export function exposeFromEnv(): boolean {
  return process.env.MEM0_EXPOSE_ERRORS === 'true' && process.env.NODE_ENV === 'development';
}

function pointer(path: string): string {
  if (path === '') return '#';
  return `#/${path
    .split('.')
    .map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1'))
    .join('/')}`;
}

function debugInfo(err: unknown): ProblemBody['debug'] {
  const stack = getString(err, 'stack');
  const causes = causeChain(err)
    .slice(1)
    .map((c) => `${ctorName(c) ?? typeof c}: ${describe(c, 300)}`);
  const info: NonNullable<ProblemBody['debug']> = {
    type: getString(err, 'name') ?? ctorName(err) ?? typeof err,
    message: describe(err, 2000),
    causes,
  };
  if (stack !== undefined) info.stack = stack.slice(0, 8000);
  return info;
}

// RFC 9110 requires these on their statuses; http-errors keeps the ones the app set
// (`createError(401, { headers: { 'WWW-Authenticate': 'Bearer' } })`) on `err.headers`. Only
// these are taken from the error, and only printable values (no header injection).
const REQUIRED_HEADERS: Partial<Record<number, string>> = {
  401: 'WWW-Authenticate',
  405: 'Allow',
  407: 'Proxy-Authenticate',
};

/**
 * Builds an RFC 9457 problem response for any thrown value. The body holds only the user
 * message, the code and generated fields — never a stack, SQL, host name, connection string
 * or internal message (unless `expose`, development only). Never throws.
 * @example
 * const { status, headers, body } = problemDetails(err, req);
 * res.writeHead(status, headers).end(JSON.stringify(body));
 */
export function problemDetails(err: unknown, req?: RequestLike, options: ProblemOptions = {}): Problem {
  const c = classify(err);
  let correlationId = options.correlationId;
  if (!isValidCorrelationId(correlationId)) {
    try {
      correlationId = getCorrelationId();
    } catch {
      correlationId = undefined;
    }
  }
  if (!isValidCorrelationId(correlationId)) correlationId = newCorrelationId();
  const locale = options.locale ?? requestLocale(req);
  const instance = requestPath(req);
  const body: ProblemBody = {
    type: `${options.typeBase ?? 'urn:mem0-stack:error:'}${c.code.toLowerCase().replace(/_/g, '-')}`,
    title: STATUS_CODES[c.status] ?? CATEGORY_DEFAULTS[c.category].title,
    status: c.status,
    detail: locale === undefined ? c.userMessage : userMessageFor(c, locale, explicitUserMessage(c)),
    ...(instance === undefined ? {} : { instance }),
    code: c.code,
    category: c.category,
    correlation_id: correlationId,
    retryable: c.retryable,
  };
  if (c.details && c.details.length > 0) {
    body.errors = c.details.slice(0, MAX_ERRORS).map((d) => ({ ...d, pointer: pointer(d.path) }));
  }
  if (options.expose ?? exposeFromEnv()) body.debug = debugInfo(c.cause);
  const headers: Record<string, string> = {
    'content-type': 'application/problem+json; charset=utf-8',
    'cache-control': 'no-store',
    'x-correlation-id': correlationId,
  };
  if (c.retryAfterMs !== undefined) headers['retry-after'] = String(Math.ceil(c.retryAfterMs / 1000));
  const required = REQUIRED_HEADERS[c.status];
  if (required !== undefined) {
    const value = headerValue(get(c.cause, 'headers'), required);
    if (typeof value === 'string' && value.length <= 1024 && /^[\t\x20-\x7e]+$/.test(value))
      headers[required.toLowerCase()] = value;
  }
  return { status: c.status, headers, body };
}
