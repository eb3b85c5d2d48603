import type { ClassifiedError } from '@mem0-stack/errors';
import {
  type CircuitBreakerPolicy as CockatielCircuitBreakerPolicy,
  CircuitState as CockatielState,
  ConsecutiveBreaker,
  CountBreaker,
  circuitBreaker as cockatielCircuitBreaker,
  handleWhen,
  type IBackoffFactory,
  type IBreaker,
  type IHalfOpenAfterBackoffContext,
  SamplingBreaker,
} from 'cockatiel';
import { BrokenCircuitError, isBrokenCircuitError } from './errors';
import { BasePolicy, RUN, type Step } from './internal/base';
import { isCancellation, verdict } from './internal/classification';
import type { Scope } from './internal/scope';
import { type LoggerLike, observeBreaker, recordRejected, recordTransition } from './internal/telemetry';
import { withoutStack } from './internal/withoutStack';
import type { Policy } from './types';

/**
 * Breaker state as reported by {@link CircuitBreakerPolicy.state}.
 * @example if (breaker.state === 'open') serveFromCache();
 */
export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

/**
 * When to open: after N consecutive dependency failures.
 * @example circuitBreaker({ trigger: { kind: 'consecutive', threshold: 5 } })
 */
export type ConsecutiveTrigger = { kind: 'consecutive'; threshold: number };
/**
 * When to open: failure rate over a rolling time window, once the window saw enough calls.
 * @example circuitBreaker({ trigger: { kind: 'sampling', threshold: 0.5, windowMs: 10_000, minThroughput: 20 } })
 */
export type SamplingTrigger = {
  kind: 'sampling';
  /** Failure ratio in (0, 1): the breaker opens when the rate is above it (cockatiel compares with `>`). */
  threshold: number;
  /** Rolling window length. */
  windowMs: number;
  /** Calls the window must hold before the rate counts. Default 10. */
  minThroughput?: number;
};
/**
 * When to open: failure rate over the last `size` calls.
 * @example circuitBreaker({ trigger: { kind: 'count', threshold: 0.5, size: 100, minThroughput: 20 } })
 */
export type CountTrigger = { kind: 'count'; threshold: number; size: number; minThroughput?: number };

/**
 * Options for {@link circuitBreaker}.
 * @example circuitBreaker({ name: 'redis', trigger: { kind: 'consecutive', threshold: 5 }, halfOpenAfter: 1_000 })
 */
export type CircuitBreakerOptions = {
  /** Name in metrics, logs and errors. Default `circuit`. */
  name?: string;
  /** When to open. Default `{ kind: 'consecutive', threshold: 5 }`. A cockatiel IBreaker also works. */
  trigger?: ConsecutiveTrigger | SamplingTrigger | CountTrigger | IBreaker;
  /** How long to stay open before letting a probe through: ms or a cockatiel backoff. Default 5 000. */
  halfOpenAfter?: number | IBackoffFactory<IHalfOpenAfterBackoffContext>;
  /**
   * Probes that must succeed, one at a time, before the breaker closes. Default 1. While
   * half-open every other call fails fast (never waits behind the probe).
   */
  successThreshold?: number;
  /**
   * Probes allowed in flight at once after the first one succeeded (while `successThreshold` is
   * not yet reached). Default 1. The very first probe is always alone.
   */
  probeConcurrency?: number;
  /**
   * Which failures count. Default: dependency failures per `classify()` (unavailable, timeout,
   * rate_limited, transient database/cache errors) — a 404, a validation error, a unique
   * violation or a syntax error never opens the breaker.
   */
  isFailure?: (err: unknown, classified: ClassifiedError) => boolean;
  /** Called on every state change, after telemetry. */
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
  /** Logger for the open (warn) / close (info) lines. Default `getLogger()` from @mem0-stack/logging. */
  logger?: LoggerLike;
};

const STATE_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 3 };

function makeTrigger(t: CircuitBreakerOptions['trigger']): IBreaker {
  if (t === undefined) return new ConsecutiveBreaker(5);
  if ('kind' in t) {
    switch (t.kind) {
      case 'consecutive':
        return new ConsecutiveBreaker(t.threshold);
      case 'sampling': {
        const minThroughput = t.minThroughput ?? 10;
        // cockatiel expresses the minimum as a rate; ours is a count over the window.
        // cockatiel substitutes its own default (5 / threshold per second) for a falsy
        // minimumRps: no minimum must be passed as a positive rate too small to matter.
        return new SamplingBreaker({
          threshold: t.threshold,
          duration: t.windowMs,
          minimumRps: minThroughput > 0 ? (minThroughput * 1000) / t.windowMs : Number.MIN_VALUE,
        });
      }
      case 'count':
        return new CountBreaker({
          threshold: t.threshold,
          size: t.size,
          minimumNumberOfCalls: t.minThroughput,
        });
    }
  }
  return t as IBreaker;
}

function mapState(s: CockatielState): CircuitState {
  switch (s) {
    case CockatielState.Closed:
      return 'closed';
    case CockatielState.Open:
      return 'open';
    case CockatielState.HalfOpen:
      return 'half-open';
    default:
      return 'isolated';
  }
}

/**
 * The policy returned by {@link circuitBreaker}: cockatiel's CircuitBreakerPolicy (its Closed /
 * Open / HalfOpen machine and its consecutive, sampling and count triggers), plus what it
 * lacks: classification-aware failure counting, fail-fast while a probe is in flight, a success
 * threshold, state telemetry.
 * @example
 * const b = circuitBreaker({ name: 'search' });
 * b.onStateChange((s) => console.log('search breaker', s));
 */
export class CircuitBreakerPolicy extends BasePolicy implements Policy {
  readonly name: string;
  /** The underlying cockatiel breaker (events, toJSON). */
  readonly inner: CockatielCircuitBreakerPolicy;
  private readonly successThreshold: number;
  private readonly probeConcurrency: number;
  private readonly isFailure: (err: unknown) => boolean;
  private readonly listeners: Array<(state: CircuitState, previous: CircuitState) => void> = [];
  private readonly logger: LoggerLike | undefined;
  private current: CircuitState = 'closed';
  /** Successful probes still needed after cockatiel closed (success threshold > 1). */
  private recovering = 0;
  private probesInFlight = 0;
  private openedAt = 0;
  private halfOpenAfterMs: number | undefined;

  constructor(options: CircuitBreakerOptions = {}) {
    super();
    this.name = options.name ?? 'circuit';
    this.successThreshold = Math.max(1, Math.floor(options.successThreshold ?? 1));
    this.probeConcurrency = Math.max(1, Math.floor(options.probeConcurrency ?? 1));
    this.logger = options.logger;
    const custom = options.isFailure;
    const counts: (err: unknown) => boolean = custom
      ? (err) => !isOwnRejection(err) && custom(err, verdict(err).classified)
      : (err) => verdict(err).dependencyFailure;
    // A probe cut short from our side (caller abort, retry deadline) proves nothing either way,
    // yet cockatiel closes on any error that is not a failure: while probing it counts as a
    // failure (one more break) instead.
    this.isFailure = (err) => counts(err) || (this.probing() && isCancellation(err));
    const trigger = makeTrigger(options.trigger);
    const halfOpenAfter = options.halfOpenAfter ?? 5_000;
    this.halfOpenAfterMs = typeof halfOpenAfter === 'number' ? halfOpenAfter : undefined;
    const wrapped: IBreaker = {
      get state() {
        return trigger.state;
      },
      set state(v: unknown) {
        trigger.state = v;
      },
      success: (s) => trigger.success(s),
      failure: (s) => {
        const open = trigger.failure(s);
        return this.recovering > 0 || open;
      },
    };
    this.inner = cockatielCircuitBreaker(
      handleWhen((err) => this.isFailure(err)),
      { halfOpenAfter, breaker: wrapped },
    );
    this.inner.onStateChange((s) => this.onInnerState(s));
    if (options.onStateChange) this.listeners.push(options.onStateChange);
    observeBreaker(this);
  }

  /** Current state. */
  get state(): CircuitState {
    return this.current;
  }

  /** @internal gauge value */
  stateValue(): number {
    return STATE_VALUE[this.current];
  }

  /**
   * Subscribes to state changes; returns an unsubscribe function.
   * @example const off = breaker.onStateChange((s, prev) => console.log(prev, '→', s));
   */
  onStateChange(listener: (state: CircuitState, previous: CircuitState) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Holds the breaker open (maintenance, a known outage) until the handle is disposed.
   * @example const h = breaker.isolate(); await migrate(); h.dispose();
   */
  isolate(): { dispose(): void } {
    return this.inner.isolate();
  }

  private setState(next: CircuitState): void {
    const prev = this.current;
    if (prev === next) return;
    this.current = next;
    if (next === 'open') this.openedAt = Date.now();
    const last = this.inner.lastFailure;
    const cause =
      next === 'open' && last && 'error' in last
        ? (last.error as { code?: string; message?: string })
        : undefined;
    recordTransition(this.name, prev, next, cause, this.logger);
    for (const l of this.listeners.slice()) {
      try {
        l(next, prev);
      } catch {
        // A listener must not break the breaker.
      }
    }
  }

  private onInnerState(s: CockatielState): void {
    const mapped = mapState(s);
    if (mapped === 'closed' && this.current === 'half-open' && this.successThreshold > 1) {
      // cockatiel closes after one good probe; we keep reporting half-open until enough did.
      if (this.recovering === 0) this.recovering = this.successThreshold - 1;
      return;
    }
    if (mapped !== 'closed') this.recovering = 0;
    this.setState(mapped);
  }

  private reject(state: 'open' | 'half-open' | 'isolated'): Promise<never> {
    recordRejected(
      this.name,
      state === 'open' ? 'circuit_open' : state === 'half-open' ? 'circuit_half_open' : 'circuit_isolated',
    );
    const last = this.inner.lastFailure;
    const retryAfterMs =
      state === 'open' && this.halfOpenAfterMs !== undefined
        ? Math.max(0, this.openedAt + this.halfOpenAfterMs - Date.now())
        : undefined;
    return Promise.reject(
      withoutStack(
        () =>
          new BrokenCircuitError(this.name, state, {
            cause: last && 'error' in last ? last.error : undefined,
            retryAfterMs,
          }),
      ),
    );
  }

  [RUN]<T>(next: Step<T>, scope: Scope): Promise<T> {
    const st = this.inner.state;
    if (st === CockatielState.Closed && this.recovering === 0) {
      return this.inner.execute(() => next(scope));
    }
    if (st === CockatielState.HalfOpen) return this.reject('half-open');
    if (st === CockatielState.Isolated) return this.reject('isolated');
    if (st === CockatielState.Closed) return this.probe(next, scope);
    // Open. While the break is surely not over, answer without entering cockatiel (whose own
    // rejection is an async call plus an Error with a captured stack: the allocation showed up as
    // GC pauses at thousands of calls per second). Our openedAt is taken just after cockatiel's.
    const ms = this.halfOpenAfterMs;
    if (ms !== undefined && Date.now() - this.openedAt < ms) return this.reject('open');
    // Otherwise cockatiel decides whether the break is over; if so this call becomes the probe.
    let invoked = false;
    return this.inner
      .execute(() => {
        invoked = true;
        return next(scope);
      })
      .catch((err: unknown) => {
        if (!invoked && isBrokenCircuitError(err)) return this.reject('open');
        throw err;
      });
  }

  /** A follow-up probe while recovering (success threshold > 1): `probeConcurrency` at a time. */
  private async probe<T>(next: Step<T>, scope: Scope): Promise<T> {
    if (this.probesInFlight >= this.probeConcurrency) return this.reject('half-open');
    this.probesInFlight++;
    try {
      const v = await this.inner.execute(() => next(scope));
      this.probeSucceeded();
      return v;
    } catch (err) {
      // A counted failure already re-opened the breaker (the trigger wrapper); anything else
      // means the dependency answered, which is what a probe wants to know.
      if (!this.isFailure(err)) this.probeSucceeded();
      throw err;
    } finally {
      this.probesInFlight--;
    }
  }

  /** A probe is in flight: cockatiel's own (half-open) or one of ours while recovering. */
  private probing(): boolean {
    return this.inner.state === CockatielState.HalfOpen || this.recovering > 0;
  }

  private probeSucceeded(): void {
    if (this.recovering > 0 && --this.recovering === 0 && this.inner.state === CockatielState.Closed) {
      this.setState('closed');
    }
  }
}

function isOwnRejection(err: unknown): boolean {
  return verdict(err).rejection;
}

/**
 * Opens after dependency failures (consecutive, or a failure rate over a rolling window with a
 * minimum throughput), fails fast while open, lets one probe through after `halfOpenAfter`, and
 * closes after `successThreshold` good probes. Built on cockatiel's breaker.
 * @example
 * const breaker = circuitBreaker({ name: 'payments', trigger: { kind: 'sampling', threshold: 0.5, windowMs: 10_000, minThroughput: 20 } });
 * breaker.onStateChange((s) => console.log('payments breaker', s));
 * await breaker.execute(() => payments.charge(order));
 */
export function circuitBreaker(options?: CircuitBreakerOptions): CircuitBreakerPolicy {
  return new CircuitBreakerPolicy(options);
}
