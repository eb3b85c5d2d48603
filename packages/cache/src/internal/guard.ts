import { type CircuitBreakerPolicy, type Policy, presets } from '@mem0-stack/resilience';
import type { Store } from './store';

/** Raised without touching Redis when the client is not connected or the breaker is open. */
export class RedisUnavailableError extends Error {
  readonly code = 'CACHE_REDIS_UNAVAILABLE';
  constructor(why: string) {
    super(`redis skipped: ${why}`);
    this.name = 'RedisUnavailableError';
  }
}

const NOT_READY = new RedisUnavailableError('client not ready');

/**
 * Every Redis command of a cache goes through here: a synchronous "is it connected" check, so
 * a down Redis costs nothing per call, then a
 * @mem0-stack/resilience policy — by default `presets.redis()` without retries (a failed cache
 * read goes to the loader, not back to Redis): a short per-command timeout inside a breaker
 * that opens after consecutive failures and closes again after a good half-open probe.
 */
export class Guard {
  readonly #store: Store;
  readonly #policy: Policy | undefined;
  readonly breaker: CircuitBreakerPolicy | undefined;

  constructor(store: Store, policy: Policy | undefined) {
    this.#store = store;
    this.#policy = policy;
    this.breaker = (policy as { breaker?: CircuitBreakerPolicy } | undefined)?.breaker;
  }

  static defaultPolicy(name: string, timeoutMs: number): Policy {
    return presets.redis({ name: `cache.${name}`, retry: false, timeoutMs });
  }

  /**
   * Cheap pre-check: a disconnected client is skipped without a call. An open breaker is not
   * skipped here: its own execute() fails fast and is what lets the half-open probe through.
   */
  available(): boolean {
    return this.#store.ready();
  }

  get state(): string {
    return this.#store.ready() ? (this.breaker?.state ?? 'closed') : 'disconnected';
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.#store.ready()) return Promise.reject(NOT_READY);
    const p = this.#policy;
    return p === undefined ? fn() : p.execute(fn);
  }
}
