import type { ErrorCategory, ErrorSeverity } from '../types';

type CategoryDefaults = { status: number; severity: ErrorSeverity; retryable: boolean; title: string };

/** Per-category defaults: a rule only states what differs. Titles are public text. */
export const CATEGORY_DEFAULTS: Readonly<Record<ErrorCategory, CategoryDefaults>> = {
  validation: { status: 400, severity: 'low', retryable: false, title: 'Invalid request' },
  authentication: { status: 401, severity: 'low', retryable: false, title: 'Authentication required' },
  authorization: { status: 403, severity: 'low', retryable: false, title: 'Forbidden' },
  not_found: { status: 404, severity: 'low', retryable: false, title: 'Not found' },
  conflict: { status: 409, severity: 'low', retryable: false, title: 'Conflict' },
  rate_limited: { status: 429, severity: 'medium', retryable: true, title: 'Too many requests' },
  timeout: { status: 504, severity: 'medium', retryable: true, title: 'Timed out' },
  unavailable: { status: 503, severity: 'high', retryable: true, title: 'Service unavailable' },
  database: { status: 500, severity: 'high', retryable: false, title: 'Internal server error' },
  cache: { status: 503, severity: 'medium', retryable: false, title: 'Service unavailable' },
  configuration: { status: 500, severity: 'critical', retryable: false, title: 'Internal server error' },
  internal: { status: 500, severity: 'high', retryable: false, title: 'Internal server error' },
};

export const CATEGORIES = Object.keys(CATEGORY_DEFAULTS) as ErrorCategory[];
export const SEVERITIES: readonly ErrorSeverity[] = ['low', 'medium', 'high', 'critical'];

export function isCategory(v: unknown): v is ErrorCategory {
  return typeof v === 'string' && Object.hasOwn(CATEGORY_DEFAULTS, v);
}

export function isSeverity(v: unknown): v is ErrorSeverity {
  return typeof v === 'string' && (SEVERITIES as readonly string[]).includes(v);
}

/** A status a response may carry: 4xx/5xx only, otherwise the category's default. */
export function validStatus(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 400 && v <= 599;
}
