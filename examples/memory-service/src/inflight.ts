/** Counts route handlers still running, so shutdown can wait for them. */
export type Inflight = {
  /** Handlers running now. */
  readonly active: number;
  /** Wraps an async handler so it is counted until it settles. */
  track<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void>;
  /** Resolves when no handler runs (at once when none does). */
  idle(): Promise<void>;
};

/**
 * A handler keeps running after its client disconnects (it is awaiting the database), and
 * `server.close()` only waits for sockets: without this, shutdown would close the pool under it.
 * @example const inflight = createInflight(); app.get('/x', inflight.track(handler)); await inflight.idle();
 */
export function createInflight(): Inflight {
  let active = 0;
  let waiters: Array<() => void> = [];
  return {
    get active() {
      return active;
    },
    track(fn) {
      return async (...args) => {
        active++;
        try {
          await fn(...args);
        } finally {
          active--;
          if (active === 0) {
            const w = waiters;
            waiters = [];
            for (const resolve of w) resolve();
          }
        }
      };
    },
    idle() {
      return active === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r));
    },
  };
}
