/**
 * What every policy passes to the function it runs.
 * @example
 * await policy.execute(async ({ signal, attempt }) => fetch(url, { signal }));
 */
export type ExecuteContext = {
  /**
   * Aborts when a timeout, deadline or the caller's signal fires. Created lazily: a callee that
   * never reads it costs no AbortController.
   */
  readonly signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry, … */
  readonly attempt: number;
  /**
   * Cheaper than `signal` when you only need a callback (no AbortController is created).
   * Returns an unsubscribe function. Called at most once, with the abort reason.
   */
  onAbort(listener: (reason: unknown) => void): () => void;
};

/**
 * Per-call options for `execute`.
 * @example await p.execute(fn, { signal: req.signal, idempotent: true });
 */
export type ExecuteOptions = {
  /** The caller's signal: aborting it rejects the call with `signal.reason` and stops retries. */
  signal?: AbortSignal;
  /**
   * Whether running `fn` twice is harmless. Overrides the retry policy's default. Errors that may
   * have reached the dependency (`maybeSent`, e.g. ECONNRESET, a timeout) are retried only when true.
   */
  idempotent?: boolean;
};

/**
 * A function run by a policy.
 * @example const fn: PolicyFn<string> = async ({ signal }) => (await fetch(url, { signal })).text();
 */
export type PolicyFn<T> = (ctx: ExecuteContext) => PromiseLike<T> | T;

/**
 * A resilience policy: something that runs a function for you.
 * @example
 * const p: Policy = policy(retry(), circuitBreaker({ name: 'billing' }), timeout(2_000));
 * const invoice = await p.execute(({ signal }) => billing.get(id, { signal }));
 */
export interface Policy {
  /** Low-cardinality name used in metrics, logs and span events (optional for foreign policies). */
  readonly name?: string;
  /** Runs `fn` under the policy. Accepts an AbortSignal directly, like cockatiel. */
  execute<T>(fn: PolicyFn<T>, options?: ExecuteOptions | AbortSignal): Promise<T>;
}
