/**
 * The error contract every mem0-stack package honours (see docs/architecture.md):
 * any thrown value classifies into this shape.
 */

/** What went wrong, from the caller's point of view. */
export type ErrorCategory =
  | 'validation'
  | 'authentication'
  | 'authorization'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'timeout'
  | 'unavailable'
  | 'database'
  | 'cache'
  | 'configuration'
  | 'internal';

/** How bad it is for the service (drives log level and alerting). */
export type ErrorSeverity = 'low' | 'medium' | 'high' | 'critical';

/** One field-level problem, for validation errors. */
export type FieldIssue = { path: string; message: string; code?: string };

/**
 * The result of `classify(err)`: a stable description of any thrown value.
 * @example
 * const c = classify(err);
 * if (c.retryable) scheduleRetry(c.retryAfterMs);
 */
export type ClassifiedError = {
  /** Stable machine code, e.g. `DB_UNIQUE_VIOLATION`, `REDIS_UNAVAILABLE`, `UNCLASSIFIED`. */
  code: string;
  category: ErrorCategory;
  severity: ErrorSeverity;
  /** Safe to try again (transient). Idempotency is the caller's decision. */
  retryable: boolean;
  /** HTTP status a server should answer with. */
  status: number;
  /** Message safe to show to an end user. */
  userMessage: string;
  /** The original thrown value. */
  cause: unknown;
  /** Server-side hint (from Retry-After or the rule) in milliseconds. */
  retryAfterMs?: number;
  /** True when the request may have reached the dependency (ECONNRESET…): retry only idempotent work. */
  maybeSent?: boolean;
  /** True when no rule matched: analytics use it to find classification gaps. */
  unclassified?: boolean;
  /** Field-level issues for validation errors. */
  details?: FieldIssue[];
  /** Where the failure came from: `postgres`, `redis`, `network`, `http`, `app`, `validation`… (low cardinality). */
  source?: string;
  /** Name of the classifier rule that matched (`postgres`, `redis`, your registered name…). */
  rule?: string;
};
