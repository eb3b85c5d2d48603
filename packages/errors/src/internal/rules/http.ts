import type { Classification } from '../../registerClassifier';
import type { ErrorCategory } from '../../types';
import { get, getNumber, getString, isErrorLike, isObjectLike } from '../safe';
import { headerValue, parseRetryAfter } from './retryAfter';

type Row = [code: string, category: ErrorCategory, retryable?: boolean];

const STATUS: Record<number, Row> = {
  400: ['BAD_REQUEST', 'validation'],
  401: ['UNAUTHENTICATED', 'authentication'],
  403: ['FORBIDDEN', 'authorization'],
  404: ['NOT_FOUND', 'not_found'],
  405: ['METHOD_NOT_ALLOWED', 'validation'],
  406: ['NOT_ACCEPTABLE', 'validation'],
  408: ['REQUEST_TIMEOUT', 'timeout', true],
  409: ['CONFLICT', 'conflict'],
  410: ['GONE', 'not_found'],
  411: ['LENGTH_REQUIRED', 'validation'],
  412: ['PRECONDITION_FAILED', 'conflict'],
  413: ['PAYLOAD_TOO_LARGE', 'validation'],
  414: ['URI_TOO_LONG', 'validation'],
  415: ['UNSUPPORTED_MEDIA_TYPE', 'validation'],
  416: ['RANGE_NOT_SATISFIABLE', 'validation'],
  422: ['UNPROCESSABLE_CONTENT', 'validation'],
  423: ['LOCKED', 'conflict'],
  428: ['PRECONDITION_REQUIRED', 'validation'],
  429: ['RATE_LIMITED', 'rate_limited', true],
  431: ['HEADERS_TOO_LARGE', 'validation'],
  451: ['UNAVAILABLE_FOR_LEGAL_REASONS', 'authorization'],
  500: ['INTERNAL_ERROR', 'internal'],
  501: ['NOT_IMPLEMENTED', 'internal'],
  502: ['BAD_GATEWAY', 'unavailable', true],
  503: ['UNAVAILABLE', 'unavailable', true],
  504: ['GATEWAY_TIMEOUT', 'timeout', true],
};

function row(status: number): Row {
  return STATUS[status] ?? (status < 500 ? ['CLIENT_ERROR', 'validation'] : ['SERVER_ERROR', 'internal']);
}

/** Our own HTTP error (http-errors, `{ status }` errors): the status is what we answer. */
function ownStatus(status: number, retryAfterMs: number | undefined): Classification {
  const [code, category, retryable = false] = row(status);
  return { code, category, retryable, status, retryAfterMs, source: 'http' };
}

/**
 * A dependency answered with an error status. We answer our caller with what fits *our*
 * situation: a 5xx upstream is a bad gateway (502), its 401/403 is our credentials problem
 * (never tell the caller they are unauthenticated), 408/429/502/503/504 are retryable.
 */
function upstreamStatus(status: number, retryAfterMs: number | undefined): Classification {
  const [code, category, retryable = false] = row(status);
  const maybeSent = !(status === 408 || status === 429 || status === 503);
  const base = { retryable, retryAfterMs, maybeSent, source: 'http' };
  if (status === 401 || status === 403 || status === 407) {
    return { ...base, code: 'UPSTREAM_AUTH_FAILED', category: 'configuration', status: 502 };
  }
  if (status === 408 || status === 504)
    return { ...base, code: 'UPSTREAM_TIMEOUT', category: 'timeout', status: 504 };
  if (status === 429)
    return { ...base, code: 'UPSTREAM_RATE_LIMITED', category: 'rate_limited', status: 429 };
  if (status === 503) return { ...base, code: 'UPSTREAM_UNAVAILABLE', category: 'unavailable', status: 503 };
  if (status >= 500) {
    return {
      ...base,
      code: status === 502 ? 'UPSTREAM_BAD_GATEWAY' : 'UPSTREAM_ERROR',
      category: 'unavailable',
      status: 502,
    };
  }
  return { ...base, code: `UPSTREAM_${code}`, category, status };
}

function validHttpStatus(n: number | undefined): n is number {
  return n !== undefined && Number.isInteger(n) && n >= 400 && n <= 599;
}

// body-parser / raw-body error `type`s (express.json(), express.urlencoded()).
const BODY_PARSER: Record<string, Classification> = {
  'entity.parse.failed': { code: 'MALFORMED_JSON', category: 'validation', status: 400, source: 'http' },
  'entity.too.large': { code: 'PAYLOAD_TOO_LARGE', category: 'validation', status: 413, source: 'http' },
  'parameters.too.many': { code: 'PAYLOAD_TOO_LARGE', category: 'validation', status: 413, source: 'http' },
  'encoding.unsupported': {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    category: 'validation',
    status: 415,
    source: 'http',
  },
  'charset.unsupported': {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    category: 'validation',
    status: 415,
    source: 'http',
  },
  'request.size.invalid': { code: 'BAD_REQUEST', category: 'validation', status: 400, source: 'http' },
  'request.aborted': { code: 'ABORTED', category: 'timeout', retryable: false, status: 400, source: 'http' },
  'entity.verify.failed': { code: 'FORBIDDEN', category: 'authorization', status: 403, source: 'http' },
};

/** fetch `Response`, undici/axios/got/ky HTTP errors, http-errors and body-parser errors. */
export function httpRule(e: unknown): Classification | undefined {
  if (!isObjectLike(e)) return undefined;
  const type = getString(e, 'type');
  if (type !== undefined && Object.hasOwn(BODY_PARSER, type) && getNumber(e, 'status') !== undefined) {
    return BODY_PARSER[type];
  }
  // A thrown fetch Response (or anything shaped like one).
  const status = getNumber(e, 'status');
  if (typeof get(e, 'ok') === 'boolean' && validHttpStatus(status) && isObjectLike(get(e, 'headers'))) {
    return upstreamStatus(status, parseRetryAfter(headerValue(get(e, 'headers'), 'retry-after')));
  }
  // undici.request with throwOnError, axios/got/ky errors carrying the upstream response.
  if (getString(e, 'code') === 'UND_ERR_RESPONSE_STATUS_CODE') {
    const s = getNumber(e, 'statusCode');
    if (validHttpStatus(s))
      return upstreamStatus(s, parseRetryAfter(headerValue(get(e, 'headers'), 'retry-after')));
  }
  const response = get(e, 'response');
  if (isObjectLike(response) && isErrorLike(e)) {
    const s = getNumber(response, 'status') ?? getNumber(response, 'statusCode');
    if (validHttpStatus(s)) {
      return upstreamStatus(s, parseRetryAfter(headerValue(get(response, 'headers'), 'retry-after')));
    }
  }
  // http-errors (createError(404)), fastify/express style `{ status | statusCode }` errors.
  const own = status ?? getNumber(e, 'statusCode');
  if (validHttpStatus(own)) {
    return ownStatus(own, parseRetryAfter(headerValue(get(e, 'headers'), 'retry-after')));
  }
  return undefined;
}

/** `fetch` wraps every network failure in `TypeError('fetch failed')`; used when the cause says nothing. */
export function fetchFailedRule(e: unknown): Classification | undefined {
  if (getString(e, 'name') === 'TypeError' && getString(e, 'message') === 'fetch failed') {
    return {
      code: 'UPSTREAM_FETCH_FAILED',
      category: 'unavailable',
      retryable: true,
      maybeSent: true,
      source: 'http',
    };
  }
  return undefined;
}
