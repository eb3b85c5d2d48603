import { getLogger, type LogFields, type Logger } from '@mem0-stack/logging';
import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { classify } from './classify';
import { countError } from './errorStats';
import { errorCounter } from './internal/errorMetric';
import { redactSecrets } from './internal/redact';
import { ctorName, describe, get, getString, isErrorLike, isObjectLike } from './internal/safe';
import type { ClassifiedError, ErrorSeverity } from './types';

/** Options of {@link recordError}. */
export type RecordErrorOptions = {
  /** Logger to write to; default `getLogger()` of @mem0-stack/logging. */
  logger?: Logger;
  /** Extra log fields (e.g. `{ 'error.origin': 'job' }`). */
  fields?: LogFields;
  /** Span to record on; default the active span; `false` for none. */
  span?: Span | false;
  /** Log message; default `<code>: <internal message>`. */
  message?: string;
};

const LEVEL: Record<ErrorSeverity, string> = {
  low: 'info',
  medium: 'warn',
  high: 'error',
  critical: 'error',
};

// "Once" per error object: a value recorded deep in a call stack and rethrown up to the HTTP
// error handler must not be logged, counted and added to the span twice.
const recorded = new WeakSet<object>();

function exceptionType(err: unknown): string {
  return getString(err, 'name') ?? ctorName(err) ?? (err === null ? 'null' : typeof err);
}

function internalMessage(err: unknown): string {
  return redactSecrets(describe(err, 1000));
}

function recordOnSpan(span: Span, err: unknown, c: ClassifiedError): void {
  if (!span.isRecording()) return;
  const attrs: Record<string, string | boolean> = {
    'exception.type': exceptionType(err),
    'exception.message': internalMessage(err),
    'error.code': c.code,
    'error.category': c.category,
    'error.severity': c.severity,
    'error.retryable': c.retryable,
  };
  const stack = getString(err, 'stack');
  if (stack !== undefined) attrs['exception.stacktrace'] = redactSecrets(stack.slice(0, 8000));
  span.addEvent('exception', attrs);
  // Client errors (4xx) are the caller's problem: per the HTTP semantic conventions they do
  // not make a server span an error, so dashboards of failed requests stay meaningful.
  if (c.status >= 500) {
    span.setAttribute('error.type', c.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: c.code });
  }
}

function log(logger: Logger, err: unknown, c: ClassifiedError, options: RecordErrorOptions): void {
  const fields: LogFields = {
    ...options.fields,
    'error.code': c.code,
    'error.category': c.category,
    'error.severity': c.severity,
    'error.retryable': c.retryable,
    'error.status': c.status,
    'exception.type': exceptionType(err),
    'exception.message': internalMessage(err),
  };
  if (c.unclassified) fields['error.unclassified'] = true;
  if (c.source) fields['error.source'] = c.source;
  if (c.rule) fields['error.rule'] = c.rule;
  // Bugs need their stack in the log line; expected failures (validation, timeouts) do not.
  if (c.category === 'internal' || c.unclassified) {
    const stack = getString(err, 'stack');
    if (stack !== undefined) fields['exception.stacktrace'] = redactSecrets(stack.slice(0, 8000));
  }
  if (isErrorLike(err) && get(err, 'cause') !== undefined) {
    fields['exception.cause'] = internalMessage(get(err, 'cause'));
  }
  logger.log(LEVEL[c.severity], options.message ?? `${c.code}: ${fields['exception.message']}`, fields);
}

/**
 * Classifies an error and makes it visible once: one log line (level from severity: low →
 * info, medium → warn, high/critical → error) with `error.code/category/severity`, an
 * `exception` event on the active span (ERROR status only for 5xx), one increment of
 * `app.errors{error.category,error.severity,error.code}` and the in-process
 * {@link errorStats}. Recording the same error object again is a no-op. Never throws.
 * @example
 * try { await syncMemories(); } catch (err) { recordError(err, { fields: { job: 'sync' } }); }
 */
export function recordError(err: unknown, options: RecordErrorOptions = {}): ClassifiedError {
  const c = classify(err);
  if (isObjectLike(err)) {
    if (recorded.has(err)) return c;
    recorded.add(err);
  }
  // Telemetry never fails the caller: each sink is isolated.
  // A metric label: past the errorStats cap, minted codes are folded into OTHER there too.
  let code = c.code;
  try {
    code = countError(c);
  } catch {
    /* counting is best effort */
  }
  try {
    errorCounter().add(1, {
      'error.category': c.category,
      'error.severity': c.severity,
      'error.code': code,
    });
  } catch {
    /* metrics are best effort */
  }
  try {
    const span = options.span === false ? undefined : (options.span ?? trace.getActiveSpan());
    if (span) recordOnSpan(span, err, c);
  } catch {
    /* tracing is best effort */
  }
  try {
    log(options.logger ?? getLogger(), err, c, options);
  } catch {
    /* logging is best effort */
  }
  return c;
}

/**
 * The log line of {@link recordError} alone, for an error already counted and on its span
 * (internal: the fatal line of a recorded error that then crashed the process). Never throws.
 */
export function logError(err: unknown, options: RecordErrorOptions = {}): void {
  try {
    log(options.logger ?? getLogger(), err, classify(err), options);
  } catch {
    /* logging is best effort */
  }
}

/** True once {@link recordError} has handled this error object (internal). */
export function wasRecorded(err: unknown): boolean {
  return isObjectLike(err) && recorded.has(err);
}
