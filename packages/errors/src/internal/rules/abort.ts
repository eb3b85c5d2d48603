import type { Classification } from '../../registerClassifier';
import { ctorName, get, getString } from '../safe';

/**
 * `AbortSignal.timeout()` rejects with a DOMException named TimeoutError; a manual abort with
 * one named AbortError (Node: code ABORT_ERR). Cockatiel names its policy errors explicitly.
 */
export function abortRule(e: unknown): Classification | undefined {
  const name = getString(e, 'name');
  const cls = ctorName(e);
  if (name === 'TimeoutError') {
    return { code: 'TIMEOUT', category: 'timeout', retryable: true, maybeSent: true, source: 'app' };
  }
  if (name === 'AbortError' || cls === 'AbortError' || getString(e, 'code') === 'ABORT_ERR') {
    // Node core (http.request, timers/promises, events.once, streams) rejects with an AbortError
    // whose cause is the signal's reason: AbortSignal.timeout() makes that a deadline, not a cancel.
    if (getString(get(e, 'cause'), 'name') === 'TimeoutError') {
      return { code: 'TIMEOUT', category: 'timeout', retryable: true, maybeSent: true, source: 'app' };
    }
    // A deliberate abort (client went away, caller cancelled): retrying would defeat it.
    return { code: 'ABORTED', category: 'timeout', retryable: false, maybeSent: true, source: 'app' };
  }
  if (name === 'TaskCancelledError' || cls === 'TaskCancelledError') {
    return { code: 'TIMEOUT', category: 'timeout', retryable: true, maybeSent: true, source: 'resilience' };
  }
  if (name === 'BrokenCircuitError' || cls === 'BrokenCircuitError') {
    return {
      code: 'CIRCUIT_OPEN',
      category: 'unavailable',
      retryable: true,
      maybeSent: false,
      source: 'resilience',
    };
  }
  if (name === 'IsolatedCircuitError' || cls === 'IsolatedCircuitError') {
    return {
      code: 'CIRCUIT_ISOLATED',
      category: 'unavailable',
      retryable: false,
      maybeSent: false,
      source: 'resilience',
    };
  }
  if (name === 'BulkheadRejectedError' || cls === 'BulkheadRejectedError') {
    return {
      code: 'OVERLOADED',
      category: 'unavailable',
      retryable: true,
      maybeSent: false,
      source: 'resilience',
    };
  }
  return undefined;
}
