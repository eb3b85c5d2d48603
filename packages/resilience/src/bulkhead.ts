import { type BulkheadPolicy as CockatielBulkheadPolicy, bulkhead as cockatielBulkhead } from 'cockatiel';
import { BulkheadRejectedError } from './errors';
import { BasePolicy, RUN, type Step } from './internal/base';
import type { AbortListener, Scope } from './internal/scope';
import { recordRejected } from './internal/telemetry';
import { withoutStack } from './internal/withoutStack';
import type { Policy } from './types';

/**
 * Options for {@link bulkhead}.
 * @example bulkhead(10, 50, { name: 'pdf-render' })
 */
export type BulkheadOptions = { name?: string };

/** A call waiting for an execution slot in our own queue. */
type Waiter = { start: () => void; scope: Scope; onAbort: AbortListener | undefined };

/**
 * The policy returned by {@link bulkhead}: cockatiel's bulkhead with our error and telemetry.
 * @example const b = bulkhead(4, 8); console.log(b.executionSlots, b.queueSlots);
 */
export class BulkheadPolicy extends BasePolicy implements Policy {
  readonly name: string;
  /**
   * The underlying cockatiel bulkhead: it holds the execution slots only. The queue is ours
   * (cockatiel keeps an aborted caller's entry in its queue until a slot frees).
   */
  readonly inner: CockatielBulkheadPolicy;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly limit: number,
    readonly queue: number,
    options: BulkheadOptions = {},
  ) {
    super();
    if (!(Number.isInteger(limit) && limit >= 1))
      throw new RangeError(`bulkhead: limit must be an integer >= 1, got ${limit}`);
    if (!(Number.isInteger(queue) && queue >= 0))
      throw new RangeError(`bulkhead: queue must be an integer >= 0, got ${queue}`);
    this.name = options.name ?? 'bulkhead';
    this.inner = cockatielBulkhead(limit, 0);
  }

  /** Free execution slots now. */
  get executionSlots(): number {
    return this.inner.executionSlots;
  }

  /** Free queue places now. */
  get queueSlots(): number {
    return this.queue - this.waiting.length;
  }

  [RUN]<T>(next: Step<T>, scope: Scope): Promise<T> {
    if (this.inner.executionSlots > 0 && this.waiting.length === 0) return this.run(next, scope);
    if (this.waiting.length >= this.queue) {
      recordRejected(this.name, 'bulkhead_full');
      return Promise.reject(withoutStack(() => new BulkheadRejectedError(this.name, this.limit, this.queue)));
    }
    if (scope.aborted) return Promise.reject(scope.reason);
    return new Promise<T>((resolve, reject) => {
      const w: Waiter = {
        // A queued call whose caller gave up meanwhile (timeout, deadline, abort) must never
        // reach the dependency.
        start: () => (scope.aborted ? reject(scope.reason) : this.run(next, scope).then(resolve, reject)),
        scope,
        onAbort: undefined,
      };
      if (scope.cancellable) {
        // An aborted caller leaves the queue at once: its place is free for the next caller.
        w.onAbort = (reason) => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(reason);
        };
        scope.addListener(w.onAbort);
      }
      this.waiting.push(w);
    });
  }

  private run<T>(next: Step<T>, scope: Scope): Promise<T> {
    const p = this.inner.execute(() => next(scope));
    // Only a bulkhead with a queue ever has waiters to start when a slot frees.
    if (this.queue > 0) p.then(this.pump, this.pump);
    return p;
  }

  /** Starts waiters while cockatiel has free execution slots. */
  private readonly pump = (): void => {
    while (this.inner.executionSlots > 0 && this.waiting.length > 0) {
      const w = this.waiting.shift() as Waiter;
      if (w.onAbort !== undefined) w.scope.removeListener(w.onAbort);
      w.start();
    }
  };
}

/**
 * Limits concurrent calls to `limit`, queues up to `queue` more, and rejects the rest at once
 * with a {@link BulkheadRejectedError} (`resilience.rejected{reason="bulkhead_full"}`). Keeps one
 * slow dependency from taking every socket, worker or connection.
 * @example
 * const renderSlots = bulkhead(4, 20);
 * const pdf = await renderSlots.execute(() => renderPdf(doc));
 */
export function bulkhead(limit: number, queue = 0, options?: BulkheadOptions): BulkheadPolicy {
  return new BulkheadPolicy(limit, queue, options);
}
