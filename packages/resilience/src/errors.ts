import { AppError } from '@mem0-stack/errors';

// Errors raised by the policies themselves. They are AppErrors, so classify(), problemDetails()
// and recordError() know them without extra rules (503 + Retry-After for an open circuit, 504 for
// a timeout). Each also carries a Symbol.for brand so the guards work across duplicate copies of
// this package (instanceof would not).

const BROKEN = Symbol.for('@mem0-stack/resilience.BrokenCircuitError');
const TIMEOUT = Symbol.for('@mem0-stack/resilience.PolicyTimeoutError');
const BULKHEAD = Symbol.for('@mem0-stack/resilience.BulkheadRejectedError');

function branded(e: unknown, brand: symbol): boolean {
  if (e === null || typeof e !== 'object') return false;
  try {
    return (e as Record<symbol, unknown>)[brand] === true;
  } catch {
    return false;
  }
}

/**
 * Thrown without calling the function while a circuit breaker is open, while its half-open
 * probe is in flight, or while it is isolated. `cause` is the failure that opened it. Classifies
 * as `CIRCUIT_OPEN` (unavailable, 503, `retryAfterMs` ≈ time until the next probe).
 * @example
 * try { await breaker.execute(call); } catch (e) { if (isBrokenCircuitError(e)) return cached; throw e; }
 */
export class BrokenCircuitError extends AppError {
  /** Breaker name. */
  readonly circuit: string;
  /** `open`, `half-open` (probe in flight) or `isolated`. */
  readonly state: 'open' | 'half-open' | 'isolated';

  constructor(
    circuit: string,
    state: 'open' | 'half-open' | 'isolated',
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    const isolated = state === 'isolated';
    super(`circuit breaker "${circuit}" is ${state}: call not attempted`, {
      code: isolated ? 'CIRCUIT_ISOLATED' : 'CIRCUIT_OPEN',
      category: 'unavailable',
      severity: 'medium',
      retryable: !isolated,
      maybeSent: false,
      retryAfterMs: options.retryAfterMs,
      cause: options.cause,
    });
    this.name = 'BrokenCircuitError';
    this.circuit = circuit;
    this.state = state;
    Object.defineProperty(this, BROKEN, { value: true });
  }
}

/**
 * True for a {@link BrokenCircuitError} from any copy of this package, and for cockatiel's own.
 * @example if (isBrokenCircuitError(err)) res.status(503);
 */
export function isBrokenCircuitError(e: unknown): e is BrokenCircuitError {
  if (branded(e, BROKEN)) return true;
  return e instanceof Error && 'isBrokenCircuitError' in e;
}

/**
 * Raised when a `timeout()` or a retry `deadlineMs` passes. Classifies as `POLICY_TIMEOUT` /
 * `DEADLINE_EXCEEDED` (timeout, 504, `maybeSent`: the request may have reached the dependency).
 * @example
 * if (isPolicyTimeoutError(err) && err.deadline) log.warn('gave up after the overall deadline');
 */
export class PolicyTimeoutError extends AppError {
  /** The limit that passed, in milliseconds. */
  readonly timeoutMs: number;
  /** True for a retry policy's overall deadline, false for a per-attempt timeout. */
  readonly deadline: boolean;

  constructor(timeoutMs: number, options: { deadline?: boolean; cause?: unknown; name?: string } = {}) {
    const deadline = options.deadline === true;
    const where = options.name ? ` (${options.name})` : '';
    super(
      deadline ? `deadline of ${timeoutMs} ms exceeded${where}` : `timed out after ${timeoutMs} ms${where}`,
      {
        code: deadline ? 'DEADLINE_EXCEEDED' : 'POLICY_TIMEOUT',
        category: 'timeout',
        retryable: true,
        maybeSent: true,
        cause: options.cause,
      },
    );
    this.name = 'PolicyTimeoutError';
    this.timeoutMs = timeoutMs;
    this.deadline = deadline;
    Object.defineProperty(this, TIMEOUT, { value: true });
  }
}

/**
 * True for a {@link PolicyTimeoutError} from any copy of this package.
 * @example if (isPolicyTimeoutError(err)) res.status(504);
 */
export function isPolicyTimeoutError(e: unknown): e is PolicyTimeoutError {
  return branded(e, TIMEOUT);
}

/**
 * Thrown when a bulkhead has no free slot and no free queue place. Classifies as `OVERLOADED`
 * (unavailable, 503).
 * @example
 * try { await heavy.execute(render); } catch (e) { if (isBulkheadRejectedError(e)) return busy(res); throw e; }
 */
export class BulkheadRejectedError extends AppError {
  readonly limit: number;
  readonly queue: number;

  constructor(name: string, limit: number, queue: number) {
    super(`bulkhead "${name}" is full (${limit} running, ${queue} queued)`, {
      code: 'OVERLOADED',
      category: 'unavailable',
      severity: 'medium',
      retryable: true,
      maybeSent: false,
    });
    this.name = 'BulkheadRejectedError';
    this.limit = limit;
    this.queue = queue;
    Object.defineProperty(this, BULKHEAD, { value: true });
  }
}

/**
 * True for a {@link BulkheadRejectedError} from any copy of this package, and for cockatiel's own.
 * @example if (isBulkheadRejectedError(err)) res.status(503);
 */
export function isBulkheadRejectedError(e: unknown): e is BulkheadRejectedError {
  if (branded(e, BULKHEAD)) return true;
  return e instanceof Error && 'isBulkheadRejectedError' in e;
}
