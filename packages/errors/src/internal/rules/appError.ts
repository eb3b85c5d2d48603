import { isAppError } from '../../AppError';
import type { Classification } from '../../registerClassifier';

/** An AppError already says what it is. */
export function appErrorRule(e: unknown): Classification | undefined {
  if (!isAppError(e)) return undefined;
  return {
    code: e.code,
    category: e.category,
    severity: e.severity,
    retryable: e.retryable,
    status: e.status,
    userMessage: e.userMessage,
    retryAfterMs: e.retryAfterMs,
    maybeSent: e.maybeSent,
    details: e.details,
    source: 'app',
  };
}
