/**
 * Keeps the n items with the largest `score` seen so far in a min-heap: O(log n) per
 * candidate and O(n) memory, for "slowest requests" over any number of lines.
 */
export class SlowestHeap<T> {
  private heap: Array<{ score: number; item: T }> = [];

  constructor(readonly limit = 10) {}

  /** True when `score` would enter the heap (lets callers skip building the item). */
  accepts(score: number): boolean {
    return this.heap.length < this.limit || score > this.heap[0]!.score;
  }

  offer(score: number, item: T): void {
    if (this.limit <= 0 || !this.accepts(score)) return;
    const h = this.heap;
    if (h.length < this.limit) {
      h.push({ score, item });
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (h[p]!.score <= h[i]!.score) break;
        [h[p], h[i]] = [h[i]!, h[p]!];
        i = p;
      }
      return;
    }
    h[0] = { score, item };
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.score < h[m]!.score) m = l;
      if (r < h.length && h[r]!.score < h[m]!.score) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }

  /** Items, largest score first. */
  sorted(): T[] {
    return [...this.heap].sort((a, b) => b.score - a.score).map((e) => e.item);
  }
}
