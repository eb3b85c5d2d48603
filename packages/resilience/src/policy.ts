import { BasePolicy, isRunnable, RUN, type Step } from './internal/base';
import { invoke, type Scope } from './internal/scope';
import type { Policy } from './types';

type Layer = (next: Step<unknown>, scope: Scope) => Promise<unknown>;

function toLayer(p: Policy): Layer {
  if (isRunnable(p)) return (next, scope) => p[RUN](next, scope);
  // A foreign policy (cockatiel's, your own): it only sees a signal; the scope travels around it.
  return (next, scope) =>
    p.execute(() => invoke(next, scope), scope.cancellable ? { signal: scope.signal } : undefined);
}

/** The policy returned by {@link policy}. */
export class CompositePolicy extends BasePolicy implements Policy {
  readonly name: string;
  private readonly layers: Layer[];

  constructor(
    readonly policies: readonly Policy[],
    name?: string,
  ) {
    super();
    this.layers = policies.map(toLayer);
    this.name = name ?? (policies.map((p) => p.name).join('+') || 'noop');
  }

  [RUN]<T>(next: Step<T>, scope: Scope): Promise<T> {
    return this.at(0, next as Step<unknown>, scope) as Promise<T>;
  }

  private at(i: number, next: Step<unknown>, scope: Scope): Promise<unknown> {
    const layer = this.layers[i];
    if (layer === undefined) return invoke(next, scope);
    if (i === this.layers.length - 1) return layer(next, scope);
    return layer((s) => this.at(i + 1, next, s), scope);
  }
}

/**
 * Composes policies, outermost first: `policy(a, b, c).execute(fn)` runs `a(b(c(fn)))`. The
 * usual order is `fallback → bulkhead → retry → circuitBreaker → timeout`: the timeout bounds each
 * attempt, the breaker counts each attempt, the retry sees the breaker's fast failures (and does
 * not retry them), the fallback sees only the final outcome.
 * @example
 * const p = policy(retry({ maxAttempts: 3 }), circuitBreaker({ name: 'search' }), timeout(500));
 * const hits = await p.execute(({ signal }) => search(q, { signal }));
 */
export function policy(...policies: Policy[]): CompositePolicy {
  return new CompositePolicy(policies);
}
