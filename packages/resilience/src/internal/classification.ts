import { type ClassifiedError, classify } from '@mem0-stack/errors';
import { isBrokenCircuitError, isBulkheadRejectedError, isPolicyTimeoutError } from '../errors';

/** What the policies need to know about a failure. */
export type Verdict = {
  classified: ClassifiedError;
  /** Transient: worth another attempt (idempotency aside). */
  retryable: boolean;
  /** The request may have reached the dependency: retry only idempotent work. */
  maybeSent: boolean;
  /** The dependency itself is unhealthy: counts towards opening a breaker. */
  dependencyFailure: boolean;
  /** Refused by one of our own policies (breaker, bulkhead): never retried by default. */
  rejection: boolean;
};

const DEPENDENCY_CATEGORIES = new Set(['unavailable', 'timeout', 'rate_limited']);
/** classify()'s code for a deliberate abort (AbortError, node-redis AbortError). */
const ABORTED = 'ABORTED';
const cache = new WeakMap<object, Verdict>();

function ownVerdict(err: unknown): Omit<Verdict, 'classified'> | undefined {
  // Our own errors are decided here so that the answer does not depend on the classifier
  // rules another package registers.
  if (isPolicyTimeoutError(err)) {
    // A timed-out request was sent: only idempotent work may be retried. A passed overall
    // deadline means the caller's time is up: never retried.
    return { retryable: !err.deadline, maybeSent: true, dependencyFailure: !err.deadline, rejection: false };
  }
  if (isBrokenCircuitError(err) || isBulkheadRejectedError(err)) {
    return { retryable: false, maybeSent: false, dependencyFailure: false, rejection: true };
  }
  return undefined;
}

/**
 * classify() plus the two decisions the policies make from it. Cached per error object: the
 * same failure passes through the breaker, the retry and telemetry.
 */
export function verdict(err: unknown): Verdict {
  const own = ownVerdict(err);
  if (own !== undefined) {
    // Our own rejections arrive by the thousand while a breaker is open: decide without running
    // the classifier chain or adding WeakMap entries (both showed up as GC pauses), and classify
    // only if someone asks for the details.
    let classified: ClassifiedError | undefined;
    return {
      ...own,
      get classified() {
        if (classified === undefined) classified = classify(err);
        return classified;
      },
    };
  }
  const isObj = err !== null && typeof err === 'object';
  if (isObj) {
    const hit = cache.get(err as object);
    if (hit !== undefined) return hit;
  }
  const classified = classify(err);
  const v: Verdict = {
    classified,
    retryable: classified.retryable,
    maybeSent: classified.maybeSent === true,
    // A syntax error or a unique violation is the caller's bug, not an unhealthy database:
    // database/cache errors count only when transient. A deliberate abort (the caller or its
    // client went away: classified ABORTED, category timeout) says nothing about the dependency.
    dependencyFailure:
      (DEPENDENCY_CATEGORIES.has(classified.category) && classified.code !== ABORTED) ||
      ((classified.category === 'database' || classified.category === 'cache') && classified.retryable),
    rejection: false,
  };
  if (isObj) cache.set(err as object, v);
  return v;
}

/**
 * The call was cut short from our side (the caller aborted, the retry's overall deadline
 * passed): the failure says nothing about the dependency's health either way.
 */
export function isCancellation(err: unknown): boolean {
  return isPolicyTimeoutError(err) ? err.deadline : verdict(err).classified.code === ABORTED;
}
