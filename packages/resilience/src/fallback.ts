import type { ClassifiedError } from '@mem0-stack/errors';
import { isPolicyTimeoutError } from './errors';
import { BasePolicy, RUN, type Step } from './internal/base';
import { verdict } from './internal/classification';
import type { Scope } from './internal/scope';
import { recordFallback } from './internal/telemetry';
import type { Policy } from './types';

/**
 * Options for {@link fallback}.
 * @example fallback(() => staleValue, { when: (err) => isBrokenCircuitError(err) })
 */
export type FallbackOptions = {
  name?: string;
  /**
   * Which failures get the fallback. Default: dependency failures (per `classify()`) and our own
   * rejections (open circuit, full bulkhead, timeout). Programming errors still throw.
   */
  when?: (err: unknown, classified: ClassifiedError) => boolean;
};

/**
 * The policy returned by {@link fallback}.
 * @example const p: FallbackPolicy<string[]> = fallback(() => []);
 */
export class FallbackPolicy<R> extends BasePolicy implements Policy {
  readonly name: string;
  private readonly when: (err: unknown) => boolean;

  constructor(
    private readonly valueOrFn: R | ((err: unknown) => R | PromiseLike<R>),
    options: FallbackOptions = {},
  ) {
    super();
    this.name = options.name ?? 'fallback';
    const when = options.when;
    this.when = when
      ? (err) => when(err, verdict(err).classified)
      : (err) => {
          const v = verdict(err);
          // A passed retry deadline is one of our own timeouts too (not retryable, and not a
          // dependency failure for the breaker, but exactly when a degraded answer is wanted).
          return v.dependencyFailure || v.rejection || v.retryable || isPolicyTimeoutError(err);
        };
  }

  // The fallback value stands in for the call's result, so it is typed as such.
  async [RUN]<T>(next: Step<T>, scope: Scope): Promise<T> {
    try {
      return await next(scope);
    } catch (err) {
      if (!this.when(err)) throw err;
      recordFallback(this.name, verdict(err).classified.code);
      const f = this.valueOrFn;
      const v = typeof f === 'function' ? await (f as (err: unknown) => R | PromiseLike<R>)(err) : f;
      return v as unknown as T;
    }
  }
}

/**
 * Graceful degradation: when the call fails with a dependency failure (or a policy rejection),
 * return a fallback instead — a stale cached value, a default, a reduced feature. A function is
 * called with the error (so pass `() => fn` to return a function as the value).
 * @example
 * const recs = policy(fallback(() => []), presets.http());
 * const items = await recs.execute(({ signal }) => fetchRecommendations(user, signal));
 */
export function fallback<R>(
  valueOrFn: R | ((err: unknown) => R | PromiseLike<R>),
  options?: FallbackOptions,
): FallbackPolicy<R> {
  return new FallbackPolicy(valueOrFn, options);
}
