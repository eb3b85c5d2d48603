import type { ExecuteOptions, Policy, PolicyFn } from '../types';
import { invoke, raceAbort, Scope } from './scope';

/** One step of a composed call: runs the rest of the chain under `scope`. */
export type Step<T> = (scope: Scope) => PromiseLike<T> | T;

/** Internal entry point of our policies; composition passes the Scope instead of a signal. */
export const RUN = Symbol('@mem0-stack/resilience.run');

export interface Runnable {
  [RUN]<T>(next: Step<T>, scope: Scope): Promise<T>;
}

export function isRunnable(p: unknown): p is Runnable & Policy {
  return (
    p !== null && typeof p === 'object' && typeof (p as Partial<Record<symbol, unknown>>)[RUN] === 'function'
  );
}

function rootScope(options: ExecuteOptions | AbortSignal | undefined): Scope {
  if (options === undefined) return new Scope();
  if (options instanceof AbortSignal) return new Scope(options);
  return new Scope(options.signal, options.idempotent);
}

/** Shared `execute` for every policy of this package. */
export abstract class BasePolicy implements Policy, Runnable {
  abstract readonly name: string;
  abstract [RUN]<T>(next: Step<T>, scope: Scope): Promise<T>;

  execute<T>(fn: PolicyFn<T>, options?: ExecuteOptions | AbortSignal): Promise<T> {
    const scope = rootScope(options);
    if (scope.aborted) return Promise.reject(scope.reason);
    if (!scope.cancellable) return this[RUN](fn as Step<T>, scope);
    // Only a caller-supplied signal makes the root cancellable: make the abort prompt even if
    // `fn` ignores the signal, and detach from the caller's signal afterwards.
    const p = raceAbort(
      invoke((s) => this[RUN](fn as Step<T>, s), scope),
      scope,
    );
    p.then(
      () => scope.dispose(),
      () => scope.dispose(),
    );
    return p;
  }
}
