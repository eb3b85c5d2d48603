import { type BulkheadPolicy as CockatielBulkheadPolicy, bulkhead as cockatielBulkhead } from 'cockatiel';
import { BulkheadRejectedError } from './errors';
import { BasePolicy, RUN, type Step } from './internal/base';
import { raceAbort, type Scope } from './internal/scope';
import { recordRejected } from './internal/telemetry';
import { withoutStack } from './internal/withoutStack';
import type { Policy } from './types';

/**
 * Options for {@link bulkhead}.
 * @example bulkhead(10, 50, { name: 'pdf-render' })
 */
export type BulkheadOptions = { name?: string };

/**
 * The policy returned by {@link bulkhead}: cockatiel's bulkhead with our error and telemetry.
 * @example const b = bulkhead(4, 8); console.log(b.inner.executionSlots);
 */
export class BulkheadPolicy extends BasePolicy implements Policy {
  readonly name: string;
  /** The underlying cockatiel bulkhead (`executionSlots`, `queueSlots`). */
  readonly inner: CockatielBulkheadPolicy;

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
    this.inner = cockatielBulkhead(limit, queue);
  }

  [RUN]<T>(next: Step<T>, scope: Scope): Promise<T> {
    const inner = this.inner;
    if (inner.executionSlots <= 0 && inner.queueSlots <= 0) {
      recordRejected(this.name, 'bulkhead_full');
      return Promise.reject(withoutStack(() => new BulkheadRejectedError(this.name, this.limit, this.queue)));
    }
    // cockatiel starts a queued function whenever a slot frees, even if its caller gave up
    // meanwhile (timeout, deadline, abort): such work must never reach the dependency.
    const p = inner.execute(() => (scope.aborted ? Promise.reject(scope.reason) : next(scope)));
    // A queued call whose scope aborts (timeout, deadline, caller) must not wait for a slot.
    return scope.cancellable && inner.executionSlots <= 0 ? raceAbort(p, scope) : p;
  }
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
