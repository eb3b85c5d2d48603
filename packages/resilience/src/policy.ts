import { BasePolicy, isRunnable, RUN, type Step } from './internal/base';
import { invoke, type Scope } from './internal/scope';
import type { Policy } from './types';

type Layer = (next: Step<unknown>, scope: Scope) => Promise<unknown>;

/**
 * Any object with cockatiel's `execute(fn, signal?)` shape (a cockatiel policy, your own) can be
 * a layer of {@link policy}.
 * @example policy(cockatiel.retry(handleAll, { maxAttempts: 2 }), timeout(500))
 */
export type ForeignPolicy = {
  readonly name?: string;
  execute<T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T>;
};

function toLayer(p: Policy | ForeignPolicy): Layer {
  if (isRunnable(p)) return (next, scope) => p[RUN](next, scope);
  // A foreign policy only sees a signal; our scope travels around it.
  const foreign = p as ForeignPolicy;
  return (next, scope) =>
    foreign.execute(() => invoke(next, scope), scope.cancellable ? scope.signal : undefined);
}

/**
 * The policy returned by {@link policy}.
 * @example const p = policy(retry(), timeout(1_000)); console.log(p.name); // "retry+timeout"
 */
export class CompositePolicy extends BasePolicy implements Policy {
  readonly name: string;
  private readonly layers: Layer[];

  constructor(
    readonly policies: ReadonlyArray<Policy | ForeignPolicy>,
    name?: string,
  ) {
    super();
    this.layers = policies.map(toLayer);
    this.name = name ?? (policies.map((p) => p.name ?? 'policy').join('+') || 'noop');
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
export function policy(...policies: Array<Policy | ForeignPolicy>): CompositePolicy {
  return new CompositePolicy(policies);
}
