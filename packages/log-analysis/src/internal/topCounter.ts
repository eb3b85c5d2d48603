/**
 * Counts keys with a hard cap on how many it remembers (a lossy counter in the spirit of
 * Space-Saving): when the map reaches twice the capacity it keeps the `capacity` largest and
 * forgets the rest. A key seen again after being forgotten restarts from 1 and carries
 * `error` = the largest count ever forgotten, so `count` ≤ true count ≤ `count + error`.
 * Memory stays O(capacity) whatever the number of distinct keys (1M unique messages included).
 */
export type TopEntry<T> = {
  key: string;
  count: number;
  /** Upper bound of the undercount (0 = exact). */
  error: number;
  firstSeen: number;
  lastSeen: number;
  /** Data attached by the first sighting (e.g. an example message). */
  data: T;
};

export class TopCounter<T = undefined> {
  private map = new Map<string, TopEntry<T>>();
  private maxForgotten = 0;
  /** How many keys were ever forgotten (0 means every count is exact). */
  evicted = 0;

  constructor(readonly capacity = 1000) {}

  /** Adds one sighting; `make` builds the attached data only for a new key. */
  add(key: string, ts: number, make: () => T): TopEntry<T> {
    let e = this.map.get(key);
    if (e === undefined) {
      e = { key, count: 0, error: this.maxForgotten, firstSeen: ts, lastSeen: ts, data: make() };
      this.map.set(key, e);
      if (this.map.size >= this.capacity * 2) this.shrink();
    }
    e.count++;
    if (ts < e.firstSeen || Number.isNaN(e.firstSeen)) e.firstSeen = ts;
    if (ts > e.lastSeen || Number.isNaN(e.lastSeen)) e.lastSeen = ts;
    return e;
  }

  private shrink(): void {
    const sorted = [...this.map.values()].sort((a, b) => b.count - a.count);
    for (let i = this.capacity; i < sorted.length; i++) {
      const e = sorted[i]!;
      if (e.count + e.error > this.maxForgotten) this.maxForgotten = e.count + e.error;
      this.map.delete(e.key);
      this.evicted++;
    }
  }

  get size(): number {
    return this.map.size;
  }

  /** The n largest, by count. */
  top(n: number): TopEntry<T>[] {
    return [...this.map.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key)).slice(0, n);
  }
}
