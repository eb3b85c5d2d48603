import type { ClassifiedError } from '@mem0-stack/errors';
import {
  decorrelatedJitterGenerator,
  ExponentialBackoff,
  fullJitterGenerator,
  type GeneratorFn,
  type IBackoff,
  type IBackoffFactory,
  noJitterGenerator,
} from 'cockatiel';
import { PolicyTimeoutError } from './errors';
import { BasePolicy, RUN, type Step } from './internal/base';
import { verdict } from './internal/classification';
import { type DeadlineEntry, type DeadlineList, listFor, now, track, untrack } from './internal/deadlines';
import { ChildScope, invoke, raceAbort, type Scope } from './internal/scope';
import { recordExhausted, recordRecovered, recordRejected, recordRetry } from './internal/telemetry';
import { createRetryBudget, type RetryBudget } from './retryBudget';
import type { Policy } from './types';

/**
 * How backoff delays are randomised (cockatiel's generators).
 * @example retry({ jitter: 'full' })
 */
export type Jitter = 'full' | 'decorrelated' | 'none';

/**
 * What a custom `shouldRetry` predicate is told.
 * @example retry({ shouldRetry: (err, { classified, attempt }) => classified.retryable && attempt < 2 })
 */
export type RetryDecisionInfo = {
  /** `classify(err)` from @mem0-stack/errors. */
  classified: ClassifiedError;
  /** The attempt that just failed (1 = first). */
  attempt: number;
};

/**
 * What `onRetry` is told, before the backoff delay starts.
 * @example retry({ onRetry: ({ attempt, delayMs }) => console.log(`retry ${attempt} in ${delayMs} ms`) })
 */
export type RetryEvent = {
  /** The attempt about to run (2 = first retry). */
  attempt: number;
  delayMs: number;
  error: unknown;
};

/**
 * Options for {@link retry}.
 * @example retry({ maxAttempts: 4, initialDelayMs: 50, maxDelayMs: 2_000, jitter: 'full', deadlineMs: 5_000 })
 */
export type RetryOptions = {
  /** Name used in metrics and span events. Default `retry`. */
  name?: string;
  /** Total attempts including the first. Default 3. */
  maxAttempts?: number;
  /** Base delay of the exponential backoff. Default 100 ms. */
  initialDelayMs?: number;
  /** Cap on any single delay (backoff or custom). Default 10 000 ms. */
  maxDelayMs?: number;
  /** Jitter strategy (cockatiel's generators). Default `decorrelated`. */
  jitter?: Jitter;
  /** Growth factor. Default 2. */
  exponent?: number;
  /** Any cockatiel backoff (ConstantBackoff, IterableBackoff…); replaces the exponential one. */
  backoff?: IBackoffFactory<unknown>;
  /**
   * Replaces the default decision (`classify(err).retryable`, never our own circuit/bulkhead
   * rejections). The idempotency guard still applies.
   */
  shouldRetry?: (err: unknown, info: RetryDecisionInfo) => boolean;
  /**
   * Whether the work may run twice. Default false: errors that may have reached the dependency
   * (`maybeSent`: ECONNRESET, a timeout…) are then not retried. Per call: `execute(fn, { idempotent })`.
   */
  idempotent?: boolean;
  /** Overall time for all attempts and delays; no retry starts that would end past it. */
  deadlineMs?: number;
  /** Shared retry budget; `false` disables. Default: a budget of this policy's own (10 % + 10/10 s). */
  budget?: RetryBudget | false;
  /** Wait at least the server's Retry-After (`classify().retryAfterMs`). Default true. */
  respectRetryAfter?: boolean;
  /** Give up instead of waiting when Retry-After asks for longer. Default 30 000 ms. */
  maxRetryAfterMs?: number;
  /** Called before each backoff delay. */
  onRetry?: (event: RetryEvent) => void;
};

// The generators keep different state shapes; ExponentialBackoff threads it through opaquely.
const GENERATORS: Record<Jitter, GeneratorFn<unknown>> = {
  full: fullJitterGenerator as GeneratorFn<unknown>,
  decorrelated: decorrelatedJitterGenerator as GeneratorFn<unknown>,
  none: noJitterGenerator as GeneratorFn<unknown>,
};

/** The overall-deadline scope of one call. */
class DeadlineScope extends ChildScope implements DeadlineEntry {
  deadline = 0;
  dPrev: DeadlineEntry | undefined = undefined;
  dNext: DeadlineEntry | undefined = undefined;
  dList: DeadlineList | undefined = undefined;
  lastError: unknown = undefined;

  constructor(
    parent: Scope,
    private readonly policy: RetryPolicy,
  ) {
    super(parent);
  }

  expire(): void {
    recordRejected(this.policy.name, 'deadline');
    this.abort(
      new PolicyTimeoutError(this.policy.deadlineMs, {
        deadline: true,
        cause: this.lastError,
        name: this.policy.name,
      }),
    );
  }

  protected override onAborted(): void {
    untrack(this);
  }
}

function sleep(ms: number, scope: Scope): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let onAbort: ((r: unknown) => void) | undefined;
    const t = setTimeout(() => {
      if (onAbort !== undefined) scope.removeListener(onAbort);
      resolve();
    }, ms);
    if (scope.cancellable) {
      onAbort = (r) => {
        clearTimeout(t);
        reject(r);
      };
      scope.addListener(onAbort);
    }
  });
}

/**
 * Why an aborted call stopped: the deadline scope also aborts when its parent (the caller)
 * does, so only an abort that did not come from above is the deadline's.
 */
function stopReason(parent: Scope, dl: DeadlineScope | undefined): 'deadline' | 'aborted' {
  return dl?.aborted && !parent.aborted ? 'deadline' : 'aborted';
}

function codeOf(err: unknown, c: ClassifiedError): string {
  return c.code || String((err as { code?: unknown } | null)?.code ?? 'UNKNOWN');
}

/**
 * The policy returned by {@link retry}.
 * @example const r: RetryPolicy = retry(); console.log(r.maxAttempts); // 3
 */
export class RetryPolicy extends BasePolicy implements Policy {
  readonly name: string;
  readonly maxAttempts: number;
  readonly deadlineMs: number;
  readonly budget: RetryBudget | undefined;
  private readonly maxDelayMs: number;
  private readonly backoff: IBackoffFactory<unknown>;
  private readonly shouldRetry: RetryOptions['shouldRetry'];
  private readonly idempotent: boolean;
  private readonly respectRetryAfter: boolean;
  private readonly maxRetryAfterMs: number;
  private readonly onRetry: RetryOptions['onRetry'];
  private readonly deadlineList: DeadlineList | undefined;

  constructor(options: RetryOptions = {}) {
    super();
    this.name = options.name ?? 'retry';
    this.maxAttempts = options.maxAttempts ?? 3;
    if (!(Number.isInteger(this.maxAttempts) && this.maxAttempts >= 1)) {
      throw new RangeError(`retry: maxAttempts must be an integer >= 1, got ${options.maxAttempts}`);
    }
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.backoff =
      options.backoff ??
      new ExponentialBackoff({
        generator: GENERATORS[options.jitter ?? 'decorrelated'],
        initialDelay: options.initialDelayMs ?? 100,
        maxDelay: this.maxDelayMs,
        exponent: options.exponent ?? 2,
      });
    this.shouldRetry = options.shouldRetry;
    this.idempotent = options.idempotent ?? false;
    this.respectRetryAfter = options.respectRetryAfter ?? true;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.onRetry = options.onRetry;
    this.budget = options.budget === false ? undefined : (options.budget ?? createRetryBudget());
    this.deadlineMs = options.deadlineMs ?? 0;
    if (
      options.deadlineMs !== undefined &&
      !(Number.isFinite(options.deadlineMs) && options.deadlineMs > 0)
    ) {
      throw new RangeError(`retry: deadlineMs must be a positive number, got ${options.deadlineMs}`);
    }
    this.deadlineList = this.deadlineMs > 0 ? listFor(this.deadlineMs) : undefined;
  }

  async [RUN]<T>(next: Step<T>, scope: Scope): Promise<T> {
    this.budget?.deposit();
    let s: Scope = scope;
    let dl: DeadlineScope | undefined;
    if (this.deadlineList !== undefined) {
      dl = new DeadlineScope(scope, this);
      if (!dl.aborted) track(this.deadlineList, dl, now());
      s = dl;
    }
    let backoff: IBackoff<unknown> | undefined;
    let recoverable = false;
    let attempt = 1;
    try {
      for (;;) {
        s.attempt = attempt;
        try {
          const v = await (dl === undefined ? next(s) : raceAbort(invoke(next, s), s));
          if (attempt > 1) recordRecovered(this.name, attempt);
          return v;
        } catch (err) {
          if (s.aborted) {
            // The deadline passed or the caller gave up: no further attempt, whatever the error.
            if (recoverable)
              recordExhausted(
                this.name,
                attempt,
                stopReason(scope, dl),
                codeOf(err, verdict(err).classified),
              );
            throw err;
          }
          const v = verdict(err);
          // A policy rejection (open circuit, full bulkhead) is never retried, whatever a custom
          // predicate says: 'retry what the classifier calls retryable' would spend every
          // attempt on an open circuit (CIRCUIT_OPEN is a retryable 503).
          const retryable =
            !v.rejection &&
            (this.shouldRetry ? this.shouldRetry(err, { classified: v.classified, attempt }) : v.retryable);
          if (!retryable) {
            if (recoverable) recordExhausted(this.name, attempt, 'non_retryable', codeOf(err, v.classified));
            throw err;
          }
          const code = codeOf(err, v.classified);
          recoverable = true;
          const giveUp = (reason: string): never => {
            recordExhausted(this.name, attempt, reason, code);
            throw err;
          };
          if (v.maybeSent && !(s.idempotent ?? this.idempotent)) giveUp('not_idempotent');
          if (attempt >= this.maxAttempts) giveUp('attempts');
          const ctx = {
            attempt,
            result: { error: err },
            get signal() {
              return s.signal;
            },
          };
          backoff = backoff === undefined ? this.backoff.next(ctx) : backoff.next(ctx);
          let delay = Math.max(0, Math.min(backoff.duration, this.maxDelayMs));
          const hint = v.classified.retryAfterMs;
          if (this.respectRetryAfter && hint !== undefined && hint > 0) {
            if (hint > this.maxRetryAfterMs) giveUp('retry_after');
            delay = Math.max(delay, hint);
          }
          if (dl !== undefined && now() + delay >= dl.deadline) giveUp('deadline');
          if (this.budget !== undefined && !this.budget.tryWithdraw()) {
            recordRejected(this.name, 'retry_budget');
            giveUp('budget');
          }
          attempt++;
          recordRetry(this.name, attempt, delay, code);
          if (this.onRetry !== undefined) {
            try {
              this.onRetry({ attempt, delayMs: delay, error: err });
            } catch {
              // A throwing hook must not change the outcome of the call.
            }
          }
          if (dl !== undefined) dl.lastError = err;
          if (delay > 0 || s.cancellable) {
            try {
              await sleep(delay, s);
            } catch (abortReason) {
              recordExhausted(this.name, attempt - 1, stopReason(scope, dl), code);
              throw abortReason;
            }
          }
        }
      }
    } finally {
      if (dl !== undefined) {
        untrack(dl);
        dl.detach();
      }
    }
  }
}

/**
 * Retries transient failures with capped exponential backoff and jitter (cockatiel's
 * generators). Only errors `classify()` calls retryable are retried; `maybeSent` errors only for
 * idempotent work; Retry-After is honoured; a shared budget and an optional overall deadline stop
 * retry storms. Emits `resilience.retry.attempts`, `resilience.recovered`, `resilience.exhausted`.
 * @example
 * const r = retry({ maxAttempts: 3, deadlineMs: 2_000 });
 * const user = await r.execute(() => db.query('SELECT * FROM users WHERE id = $1', [id]), { idempotent: true });
 */
export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}
