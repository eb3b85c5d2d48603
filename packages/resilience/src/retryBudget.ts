import { now } from './internal/deadlines';

/**
 * Options for {@link createRetryBudget}.
 * @example createRetryBudget({ ratio: 0.1, minRetries: 10, windowMs: 10_000 })
 */
export type RetryBudgetOptions = {
  /** Retries allowed as a share of calls in the window. Default 0.1 (10 %). */
  ratio?: number;
  /** Retries always allowed per window, so a quiet service can still retry. Default 10. */
  minRetries?: number;
  /** Sliding window length. Default 10 000 ms (ten 1-second buckets). */
  windowMs?: number;
};

/**
 * A shared allowance of retries. Share one between every retry policy that talks to the same
 * dependency, so a down dependency sees at most `(1 + ratio)` × normal traffic instead of
 * `maxAttempts` ×.
 * @example const budget: RetryBudget = createRetryBudget(); budget.snapshot(); // { calls, retries, allowed }
 */
export interface RetryBudget {
  /** Records one call (first attempt). */
  deposit(): void;
  /** Takes one retry from the budget; false when it is spent. */
  tryWithdraw(): boolean;
  /** Current counts in the window. */
  snapshot(): { calls: number; retries: number; allowed: number };
}

const BUCKETS = 10;

class WindowedRetryBudget implements RetryBudget {
  private readonly ratio: number;
  private readonly minRetries: number;
  private readonly bucketMs: number;
  private readonly calls = new Array<number>(BUCKETS).fill(0);
  private readonly retries = new Array<number>(BUCKETS).fill(0);
  private totalCalls = 0;
  private totalRetries = 0;
  private index = 0;
  private bucketStart = Number.NEGATIVE_INFINITY;
  private sinceRotate = 0;

  constructor(options: RetryBudgetOptions) {
    this.ratio = options.ratio ?? 0.1;
    this.minRetries = options.minRetries ?? 10;
    const windowMs = options.windowMs ?? 10_000;
    if (!(this.ratio >= 0) || !(this.minRetries >= 0) || !(windowMs > 0)) {
      throw new RangeError('createRetryBudget: ratio, minRetries must be >= 0 and windowMs > 0');
    }
    this.bucketMs = windowMs / BUCKETS;
  }

  private rotate(): void {
    const t = now();
    const elapsed = t - this.bucketStart;
    if (elapsed < this.bucketMs) return;
    const steps = Math.min(BUCKETS, Math.floor(elapsed / this.bucketMs));
    for (let i = 0; i < steps; i++) {
      this.index = (this.index + 1) % BUCKETS;
      this.totalCalls -= this.calls[this.index]!;
      this.totalRetries -= this.retries[this.index]!;
      this.calls[this.index] = 0;
      this.retries[this.index] = 0;
    }
    this.bucketStart = steps === BUCKETS ? t : this.bucketStart + steps * this.bucketMs;
  }

  deposit(): void {
    // A clock read costs more than the rest of the call path on some VMs; a deposit landing a
    // few calls late in the previous 1-second bucket changes nothing, so look every 16 calls.
    if ((++this.sinceRotate & 15) === 1) this.rotate();
    this.calls[this.index]!++;
    this.totalCalls++;
  }

  tryWithdraw(): boolean {
    this.rotate();
    if (this.totalRetries + 1 > this.minRetries + this.ratio * this.totalCalls) return false;
    this.retries[this.index]!++;
    this.totalRetries++;
    return true;
  }

  snapshot(): { calls: number; retries: number; allowed: number } {
    this.rotate();
    return {
      calls: this.totalCalls,
      retries: this.totalRetries,
      allowed: Math.floor(this.minRetries + this.ratio * this.totalCalls),
    };
  }
}

/**
 * Creates a retry budget: retries ≤ `minRetries` + `ratio` × calls over a sliding window.
 * @example
 * const budget = createRetryBudget({ ratio: 0.1 });
 * const a = retry({ budget }), b = retry({ budget }); // both draw from the same allowance
 */
export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  return new WindowedRetryBudget(options);
}
