import { formatDuration } from './parseDuration';

const LADDER = [
  60_000, 300_000, 900_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000,
];

export type TrendBucket = {
  start: number;
  records: number;
  errors: number;
  serverErrors: number;
  requests: number;
};

/**
 * Counts per time interval with a bounded number of buckets. In auto mode it starts at one
 * minute and coarsens along a ladder (5m, 15m … 1w) whenever the span would need more than
 * `maxBuckets`; a fixed interval is honoured until 10 000 buckets, then doubled (noted).
 */
export class Trend {
  private buckets = new Map<number, TrendBucket>();
  interval: number;
  /** Set when a user-chosen interval had to be widened. */
  widened = false;

  constructor(
    fixedInterval: number | undefined,
    private readonly maxBuckets = fixedInterval ? 10_000 : 48,
  ) {
    this.interval = fixedInterval ?? LADDER[0]!;
    this.auto = fixedInterval === undefined;
  }

  private readonly auto: boolean;
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;

  bucket(ts: number): TrendBucket | undefined {
    if (!Number.isFinite(ts)) return undefined;
    const start = Math.floor(ts / this.interval) * this.interval;
    let b = this.buckets.get(start);
    if (b === undefined) {
      // Bound the span (not just the count): list() fills the gaps between first and last.
      const lo = Math.min(this.lo, start);
      const hi = Math.max(this.hi, start);
      if ((hi - lo) / this.interval + 1 > this.maxBuckets) {
        this.coarsen();
        return this.bucket(ts);
      }
      this.lo = lo;
      this.hi = hi;
      b = { start, records: 0, errors: 0, serverErrors: 0, requests: 0 };
      this.buckets.set(start, b);
    }
    return b;
  }

  private coarsen(): void {
    let next: number;
    if (this.auto) {
      next = LADDER.find((l) => l > this.interval) ?? this.interval * 2;
    } else {
      next = this.interval * 2;
      this.widened = true;
    }
    this.interval = next;
    const old = this.buckets;
    this.buckets = new Map();
    this.lo = Math.floor(this.lo / next) * next;
    this.hi = Math.floor(this.hi / next) * next;
    for (const b of old.values()) {
      const start = Math.floor(b.start / next) * next;
      const t = this.buckets.get(start);
      if (t) {
        t.records += b.records;
        t.errors += b.errors;
        t.serverErrors += b.serverErrors;
        t.requests += b.requests;
      } else this.buckets.set(start, { ...b, start });
    }
    if ((this.hi - this.lo) / this.interval + 1 > this.maxBuckets) this.coarsen();
  }

  /** Buckets in time order, gaps filled with zeros so a quiet hour shows as 0. */
  list(): TrendBucket[] {
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    if (keys.length === 0) return [];
    const out: TrendBucket[] = [];
    for (let t = keys[0]!; t <= keys[keys.length - 1]!; t += this.interval) {
      out.push(this.buckets.get(t) ?? { start: t, records: 0, errors: 0, serverErrors: 0, requests: 0 });
    }
    return out;
  }

  get label(): string {
    return formatDuration(this.interval);
  }
}
