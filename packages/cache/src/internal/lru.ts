/** One L1 copy: the decoded value shared by reference, plus the entry's timestamps. */
export type L1Entry = {
  value: unknown;
  /** Entry times from L2 (absolute ms). */
  fresh: number;
  stale: number;
  grace: number;
  /** When this copy leaves L1 (min of the L1 TTL and graceUntil). */
  expires: number;
  /** Approximate bytes (length of the serialized payload). */
  size: number;
  negative: boolean;
  tags: readonly string[] | undefined;
};

/**
 * In-process LRU bounded by entry count and approximate bytes. A Map keeps insertion order,
 * so re-inserting on read makes the first key the least recently used one.
 */
export class Lru {
  readonly #map = new Map<string, L1Entry>();
  #bytes = 0;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  evictions = 0;

  constructor(maxEntries: number, maxBytes: number) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#map.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The live copy (expired copies are dropped), bumped to most recently used. */
  get(key: string, now: number): L1Entry | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    if (now >= e.expires) {
      this.#remove(key, e);
      return undefined;
    }
    this.#map.delete(key);
    this.#map.set(key, e);
    return e;
  }

  set(key: string, e: L1Entry): void {
    const old = this.#map.get(key);
    if (old !== undefined) this.#remove(key, old);
    // A single value larger than the whole budget would evict everything and still not fit.
    if (e.size > this.#maxBytes) return;
    this.#map.set(key, e);
    this.#bytes += e.size;
    while (this.#map.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const first = this.#map.keys().next();
      if (first.done) break;
      const victim = this.#map.get(first.value);
      if (victim !== undefined) this.#remove(first.value, victim);
      this.evictions++;
    }
  }

  delete(key: string): void {
    const e = this.#map.get(key);
    if (e !== undefined) this.#remove(key, e);
  }

  /** Drops every copy for which `pred` is true; returns how many were dropped. */
  deleteWhere(pred: (key: string, e: L1Entry) => boolean): number {
    let n = 0;
    for (const [k, e] of this.#map) {
      if (pred(k, e)) {
        this.#remove(k, e);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }

  #remove(key: string, e: L1Entry): void {
    this.#map.delete(key);
    this.#bytes -= e.size;
  }
}
