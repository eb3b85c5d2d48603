/**
 * A merging t-digest (Dunning & Ertl, "Computing extremely accurate quantiles using
 * t-digests", k1 scale function): a few hundred centroids answer p50…p99.9 with well under
 * 1% rank error whatever the number of values, so per-route percentiles over a multi-GB log
 * cost kilobytes, not an array of every duration.
 */
export class TDigest {
  private means: number[] = [];
  private weights: number[] = [];
  private bufMeans: number[] = [];
  private bufWeights: number[] = [];
  private readonly bufferSize: number;
  private total = 0;
  private _min = Number.POSITIVE_INFINITY;
  private _max = Number.NEGATIVE_INFINITY;

  constructor(private readonly compression = 200) {
    this.bufferSize = Math.ceil(compression * 5);
  }

  /** Number of values added. */
  get count(): number {
    return this.total;
  }
  get min(): number {
    return this.total > 0 ? this._min : Number.NaN;
  }
  get max(): number {
    return this.total > 0 ? this._max : Number.NaN;
  }

  add(value: number, weight = 1): void {
    if (!Number.isFinite(value) || !(weight > 0)) return;
    this.bufMeans.push(value);
    this.bufWeights.push(weight);
    this.total += weight;
    if (value < this._min) this._min = value;
    if (value > this._max) this._max = value;
    if (this.bufMeans.length >= this.bufferSize) this.compress();
  }

  /** Adds every centroid of `other` (used to merge per-bucket digests into a window). */
  merge(other: TDigest): void {
    other.compress();
    for (let i = 0; i < other.means.length; i++) {
      this.bufMeans.push(other.means[i]!);
      this.bufWeights.push(other.weights[i]!);
    }
    this.total += other.total;
    if (other._min < this._min) this._min = other._min;
    if (other._max > this._max) this._max = other._max;
    this.compressInternal();
  }

  private compress(): void {
    if (this.bufMeans.length > 0) this.compressInternal();
  }

  private compressInternal(): void {
    const n = this.means.length + this.bufMeans.length;
    if (n === 0) return;
    const idx = new Array<number>(n);
    const m = new Float64Array(n);
    const w = new Float64Array(n);
    let k = 0;
    for (let i = 0; i < this.means.length; i++, k++) {
      m[k] = this.means[i]!;
      w[k] = this.weights[i]!;
      idx[k] = k;
    }
    for (let i = 0; i < this.bufMeans.length; i++, k++) {
      m[k] = this.bufMeans[i]!;
      w[k] = this.bufWeights[i]!;
      idx[k] = k;
    }
    idx.sort((a, b) => m[a]! - m[b]!);
    let totalW = 0;
    for (let i = 0; i < n; i++) totalW += w[i]!;
    const outM: number[] = [];
    const outW: number[] = [];
    const norm = this.compression / (2 * Math.PI);
    const qLimit = (q: number) => {
      const kq = norm * Math.asin(2 * Math.min(1, Math.max(0, q)) - 1) + 1;
      if (kq >= norm * (Math.PI / 2)) return 1;
      return (Math.sin(kq / norm) + 1) / 2;
    };
    let curM = m[idx[0]!]!;
    let curW = w[idx[0]!]!;
    let soFar = 0;
    let limit = totalW * qLimit(0);
    for (let i = 1; i < n; i++) {
      const j = idx[i]!;
      const xm = m[j]!;
      const xw = w[j]!;
      if (soFar + curW + xw <= limit) {
        curW += xw;
        curM += ((xm - curM) * xw) / curW;
      } else {
        soFar += curW;
        outM.push(curM);
        outW.push(curW);
        curM = xm;
        curW = xw;
        limit = totalW * qLimit(soFar / totalW);
      }
    }
    outM.push(curM);
    outW.push(curW);
    this.means = outM;
    this.weights = outW;
    this.bufMeans = [];
    this.bufWeights = [];
  }

  /** The value at quantile q in [0, 1]; NaN when empty. */
  quantile(q: number): number {
    this.compress();
    const n = this.means.length;
    if (n === 0) return Number.NaN;
    if (q <= 0) return this._min;
    if (q >= 1) return this._max;
    if (n === 1) return this.means[0]!;
    const target = q * this.total;
    const w0 = this.weights[0]!;
    if (target < w0 / 2) {
      if (w0 <= 1) return this.means[0]!;
      return this._min + ((this.means[0]! - this._min) * target) / (w0 / 2);
    }
    let cum = 0;
    for (let i = 0; i < n - 1; i++) {
      const wi = this.weights[i]!;
      const wn = this.weights[i + 1]!;
      const left = cum + wi / 2;
      const right = cum + wi + wn / 2;
      if (target <= right) {
        // Singleton centroids are exact values: do not interpolate past them. A target on the
        // boundary between two (q·n a whole number) is the left one: the quantile is the
        // smallest value with at least q·n values ≤ it, not the next one (p95 of 19 fast and
        // 1 slow request is fast).
        if (wi === 1 && target - cum <= 1) return this.means[i]!;
        if (wn === 1 && right - target < 0.5) return this.means[i + 1]!;
        const t = (target - left) / (right - left);
        return this.means[i]! + t * (this.means[i + 1]! - this.means[i]!);
      }
      cum += wi;
    }
    const wl = this.weights[n - 1]!;
    const lastCenter = this.total - wl / 2;
    if (wl <= 1 || target <= lastCenter) return this.means[n - 1]!;
    return this.means[n - 1]! + ((this._max - this.means[n - 1]!) * (target - lastCenter)) / (wl / 2);
  }

  /** Number of centroids held (memory is proportional to this). */
  get size(): number {
    this.compress();
    return this.means.length;
  }
}
