/**
 * Invalidations that could not reach Redis (down or breaker open). They are kept, bounded, and
 * replayed once Redis answers again; until then reads treat matching L2 entries as misses, so
 * an outage never turns into stale data served after recovery.
 */
export class PendingInvalidations {
  readonly keys = new Set<string>();
  readonly tags = new Set<string>();
  readonly prefixes = new Set<string>();
  /** Too much to remember: after recovery, every entry of the namespace is cleared. */
  all = false;
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get empty(): boolean {
    return !this.all && this.keys.size === 0 && this.tags.size === 0 && this.prefixes.size === 0;
  }

  get size(): number {
    return this.all ? Number.POSITIVE_INFINITY : this.keys.size + this.tags.size + this.prefixes.size;
  }

  #add(set: Set<string>, items: readonly string[]): void {
    for (const i of items) set.add(i);
    if (this.keys.size + this.tags.size + this.prefixes.size > this.#limit) {
      this.all = true;
      this.keys.clear();
      this.tags.clear();
      this.prefixes.clear();
    }
  }

  addKeys(keys: readonly string[]): void {
    if (!this.all) this.#add(this.keys, keys);
  }

  addTags(tags: readonly string[]): void {
    if (!this.all) this.#add(this.tags, tags);
  }

  addPrefix(prefix: string): void {
    if (!this.all) this.#add(this.prefixes, [prefix]);
  }

  /** Whether an L2 entry for `key` with `tags` must be ignored until the replay is done. */
  blocks(key: string, tags: readonly string[] | undefined): boolean {
    if (this.all || this.keys.has(key)) return true;
    for (const p of this.prefixes) if (key.startsWith(p)) return true;
    if (tags !== undefined) for (const t of tags) if (this.tags.has(t)) return true;
    return false;
  }
}
