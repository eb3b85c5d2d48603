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

type Node = { key: string; e: L1Entry; prev: Node | undefined; next: Node | undefined };

/**
 * In-process LRU bounded by entry count and approximate bytes: a Map for lookup plus a doubly
 * linked list for recency. A hit moves its node to the head with a few pointer writes;
 * re-inserting into the Map instead (delete + set) costs ≈ 2 µs here, twice the whole hit budget.
 * A tag index finds the copies of a tag without a scan: scanning every copy on each invalidation
 * took ≈ 5 % of the memory-service's CPU in a profile of its benchmark (BENCH_PROFILE_DIR, L1 on).
 */
export class Lru {
  readonly #map = new Map<string, Node>();
  readonly #byTag = new Map<string, Set<Node>>();
  #head: Node | undefined;
  #tail: Node | undefined;
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

  /** The live copy (expired copies are dropped), moved to most recently used. */
  get(key: string, now: number): L1Entry | undefined {
    const n = this.#map.get(key);
    if (n === undefined) return undefined;
    if (now >= n.e.expires) {
      this.#remove(n);
      return undefined;
    }
    if (n !== this.#head) {
      this.#unlink(n);
      this.#pushHead(n);
    }
    return n.e;
  }

  set(key: string, e: L1Entry): void {
    const old = this.#map.get(key);
    if (old !== undefined) this.#remove(old);
    // A single value larger than the whole budget would evict everything and still not fit.
    if (e.size > this.#maxBytes) return;
    const n: Node = { key, e, prev: undefined, next: undefined };
    this.#map.set(key, n);
    if (e.tags !== undefined) {
      for (const t of e.tags) {
        const set = this.#byTag.get(t);
        if (set === undefined) this.#byTag.set(t, new Set([n]));
        else set.add(n);
      }
    }
    this.#pushHead(n);
    this.#bytes += e.size;
    while ((this.#map.size > this.#maxEntries || this.#bytes > this.#maxBytes) && this.#tail !== undefined) {
      this.#remove(this.#tail);
      this.evictions++;
    }
  }

  delete(key: string): void {
    const n = this.#map.get(key);
    if (n !== undefined) this.#remove(n);
  }

  /** Drops every copy written with any of `tags`; returns how many were dropped. */
  deleteTagged(tags: readonly string[]): number {
    let count = 0;
    for (const t of tags) {
      const set = this.#byTag.get(t);
      if (set === undefined) continue;
      for (const n of set) {
        this.#remove(n);
        count++;
      }
    }
    return count;
  }

  /** Drops every copy for which `pred` is true (a full scan); returns how many were dropped. */
  deleteWhere(pred: (key: string, e: L1Entry) => boolean): number {
    let count = 0;
    for (const n of this.#map.values()) {
      if (pred(n.key, n.e)) {
        this.#remove(n);
        count++;
      }
    }
    return count;
  }

  clear(): void {
    this.#map.clear();
    this.#byTag.clear();
    this.#head = this.#tail = undefined;
    this.#bytes = 0;
  }

  #pushHead(n: Node): void {
    n.prev = undefined;
    n.next = this.#head;
    if (this.#head !== undefined) this.#head.prev = n;
    this.#head = n;
    if (this.#tail === undefined) this.#tail = n;
  }

  #unlink(n: Node): void {
    if (n.prev !== undefined) n.prev.next = n.next;
    else this.#head = n.next;
    if (n.next !== undefined) n.next.prev = n.prev;
    else this.#tail = n.prev;
    n.prev = n.next = undefined;
  }

  #remove(n: Node): void {
    this.#map.delete(n.key);
    const tags = n.e.tags;
    if (tags !== undefined) {
      for (const t of tags) {
        const set = this.#byTag.get(t);
        if (set?.delete(n) && set.size === 0) this.#byTag.delete(t);
      }
    }
    this.#unlink(n);
    this.#bytes -= n.e.size;
  }
}
