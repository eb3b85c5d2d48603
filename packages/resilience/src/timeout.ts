import { PolicyTimeoutError } from './errors';
import { BasePolicy, RUN, type Step } from './internal/base';
import { type DeadlineEntry, type DeadlineList, listFor, now, track, untrack } from './internal/deadlines';
import { ChildScope, type Scope } from './internal/scope';
import { recordRejected } from './internal/telemetry';
import type { Policy } from './types';

/**
 * Options for {@link timeout}.
 * @example timeout(250, { name: 'redis' })
 */
export type TimeoutOptions = {
  /** Name used in metrics and the error message. */
  name?: string;
};

/**
 * A per-attempt scope: tracked by the shared deadline checker, and the settle functions of the
 * promise handed back to the caller, so an expiry rejects it at once.
 */
class AttemptScope extends ChildScope implements DeadlineEntry {
  deadline = 0;
  dPrev: DeadlineEntry | undefined = undefined;
  dNext: DeadlineEntry | undefined = undefined;
  dList: DeadlineList | undefined = undefined;
  reject: ((reason: unknown) => void) | undefined = undefined;

  constructor(
    parent: Scope,
    private readonly policy: TimeoutPolicy,
  ) {
    super(parent);
  }

  expire(): void {
    this.policy.expired();
    this.abort(new PolicyTimeoutError(this.policy.ms, { name: this.policy.name }));
  }

  protected override onAborted(reason: unknown): void {
    untrack(this);
    const r = this.reject;
    if (r !== undefined) {
      this.reject = undefined;
      r(reason);
    }
  }

  finish(): void {
    untrack(this);
    this.reject = undefined;
    this.detach();
  }
}

/**
 * The policy returned by {@link timeout}.
 * @example const t: TimeoutPolicy = timeout(250); console.log(t.ms);
 */
export class TimeoutPolicy extends BasePolicy implements Policy {
  readonly name: string;
  private readonly list: DeadlineList;

  constructor(
    readonly ms: number,
    options: TimeoutOptions = {},
  ) {
    super();
    if (!(Number.isFinite(ms) && ms > 0))
      throw new RangeError(`timeout: ms must be a positive number, got ${ms}`);
    this.name = options.name ?? 'timeout';
    this.list = listFor(ms);
  }

  /** @internal */
  expired(): void {
    recordRejected(this.name, 'timeout');
  }

  [RUN]<T>(next: Step<T>, parent: Scope): Promise<T> {
    const s = new AttemptScope(parent, this);
    if (s.aborted) {
      s.finish();
      return Promise.reject(s.reason);
    }
    track(this.list, s, now());
    return new Promise<T>((resolve, reject) => {
      s.reject = reject;
      let p: PromiseLike<T> | T;
      try {
        p = next(s);
      } catch (err) {
        s.finish();
        reject(err);
        return;
      }
      if (p !== null && typeof p === 'object' && typeof (p as PromiseLike<T>).then === 'function') {
        (p as PromiseLike<T>).then(
          (v) => {
            s.finish();
            resolve(v);
          },
          (e) => {
            s.finish();
            reject(e);
          },
        );
      } else {
        s.finish();
        resolve(p as T);
      }
    });
  }
}

/**
 * Rejects with a {@link PolicyTimeoutError} when a call (one attempt, when composed inside a retry)
 * takes longer than `ms`, and aborts `ctx.signal` so the callee can stop its work (pass it to
 * `fetch`, node-redis `withAbortSignal`, or use `ctx.onAbort` to cancel a pg query).
 *
 * Cheap: one shared coarse timer watches every deadline, and the AbortController is created only
 * if the callee reads `ctx.signal`.
 * @example
 * const t = timeout(250);
 * const value = await t.execute(({ signal }) => fetch(url, { signal }).then((r) => r.json()));
 */
export function timeout(ms: number, options?: TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
