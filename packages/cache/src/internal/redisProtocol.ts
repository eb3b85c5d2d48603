import { randomBytes } from 'node:crypto';
import { encodeEntry } from './envelope';
import type { Guard } from './guard';
import type { KeySpace } from './keys';
import {
  CAS_WRITE,
  DEL_IF_ID,
  ENTRY_CAS,
  INVALIDATE_TAGS,
  SET_TAGGED,
  SNAPSHOT,
  TAG_REGISTER,
  THROUGH_COMMIT,
  THROUGH_SNAPSHOT,
  UNLOCK,
} from './scripts';
import type { Store } from './store';

/** A cross-process lock a load tries to take: its key, our token, its TTL in ms. */
export type LockRequest = { key: string; token: string; px: number };

/** What a load reads before its loader runs; the versions start with the namespace epoch. */
export type Snapshot = { locked: boolean; raw: string | null; versions: string[]; since: string };

/** A bus message to publish on `channel` (already JSON). */
export type Publication = { channel: string; message: string };

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** What a write-through saw before its write: see THROUGH_SNAPSHOT. */
export type ThroughSnapshot = {
  since: string;
  epoch: string;
  /** Per entry: the whole raw entry (`whole`) or its write id; null when absent. */
  entries: Array<string | null>;
  versions: Map<string, string>;
};

/** One entry at the end of a write-through: a new value to store if the guard holds, or none. */
export type ThroughEntry = {
  lk: string;
  expectedId: string;
  value: { raw: string; px: number } | undefined;
  /** The tags it is stored with and their versions in the snapshot. */
  tags: ReadonlyArray<{ tag: string; version: string }>;
  /** Tags derived from the new value, checked against the snapshot's clock. */
  derived: readonly string[];
  /** A failed guard asks for a retry (the whole commit then changes nothing) instead of a tombstone. */
  retry?: boolean;
};

/**
 * The Redis side of the cache's consistency protocol: versioned writes of loads, tagged
 * last-write-wins sets, tombstones, tag and namespace versions. Every call goes through the
 * guard; the invalidation methods resolve false (never throw) when Redis is unreachable.
 */
export class RedisProtocol {
  readonly #store: Store;
  readonly #keys: KeySpace;
  readonly #guard: Guard;
  readonly #tombTtl: number;
  readonly #versionTtl: number;
  readonly #onError: (err: unknown) => void;
  #seq = 0;

  constructor(
    store: Store,
    keys: KeySpace,
    guard: Guard,
    o: { tombstoneTtl: number; versionTtl: number; onError: (err: unknown) => void },
  ) {
    this.#store = store;
    this.#keys = keys;
    this.#guard = guard;
    this.#tombTtl = o.tombstoneTtl;
    this.#versionTtl = o.versionTtl;
    this.#onError = o.onError;
  }

  /** Last-write-wins set (explicit `set`/`mset`), registering tags. Not guarded: callers wrap it. */
  async plainWrite(lk: string, raw: string, px: number, tags: readonly string[] | undefined): Promise<void> {
    const ek = this.#keys.entry(lk);
    if (tags === undefined) return this.#store.set(ek, raw, px);
    if (!this.#store.cluster) {
      await this.#store.eval(SET_TAGGED, [ek, ...tags.map((t) => this.#keys.tagSet(t))], [raw, String(px)]);
      return;
    }
    await this.#store.set(ek, raw, px);
    await Promise.all(
      tags.map((t) =>
        this.#store.eval(TAG_REGISTER, [this.#keys.tagVersion(t), this.#keys.tagSet(t)], [ek, String(px)]),
      ),
    );
  }

  /**
   * The snapshot of a load, taken before its loader runs: the lock attempt (when `lock` is
   * given), a re-read of the entry (when `entry`), the versions of the namespace epoch and of
   * `tags`, and the server clock when `clock` (standalone only: derived tags). One SNAPSHOT
   * script on a standalone server. On a cluster the epoch and the tags live in other slots, and
   * an entry key whose user key starts with `}` does not even share its lock's slot: the same
   * reads go as separate commands in one tick, which node-redis pipelines per node. Not
   * guarded: callers wrap it.
   */
  async snapshot(
    lk: string,
    lock: LockRequest | undefined,
    tags: readonly string[] | undefined,
    o: { entry: boolean; clock: boolean },
  ): Promise<Snapshot> {
    const ek = this.#keys.entry(lk);
    const versionKeys = [this.#keys.epoch, ...(tags ?? []).map((t) => this.#keys.tagVersion(t))];
    if (!this.#store.cluster) {
      const r = (await this.#store.eval(
        SNAPSHOT,
        [ek, lock?.key ?? this.#keys.lock(lk), ...versionKeys],
        [
          lock?.token ?? '',
          String(Math.max(1, Math.round(lock?.px ?? 1))),
          o.clock ? '1' : '',
          o.entry ? '1' : '',
        ],
      )) as unknown[];
      return {
        locked: Number(r[0]) === 1,
        raw: str(r[1]),
        since: str(r[2]) ?? '',
        versions: versionKeys.map((_, i) => str(r[3 + i]) ?? ''),
      };
    }
    const [locked, raw, versions] = await Promise.all([
      lock === undefined ? false : this.#store.setNx(lock.key, lock.token, lock.px),
      o.entry ? this.#store.get(ek) : null,
      this.#store.mget(versionKeys),
    ]);
    return { locked, raw, versions: versions.map((v) => v ?? ''), since: '' };
  }

  /**
   * The write of a load: refused when the entry, the namespace epoch or a tag version changed
   * since the loader started. One atomic script on a standalone server; on a cluster, write then
   * register in each tag's slot and undo the write if a version moved (the invalidation then
   * either sees our key in the tag set or we see its new version). `derived`: tags from the
   * loaded value (`tagsOf`) and the server time read before the load (standalone only).
   * `lock`: the load's lock, released by the write script itself on a standalone server and by
   * a separate UNLOCK afterwards on a cluster; when this throws, the caller releases it.
   * Returns 1 written, 0 entry changed meanwhile, -1 invalidated meanwhile.
   */
  async versionedWrite(
    lk: string,
    raw: string,
    px: number,
    expectedId: string,
    versions: string[],
    tags: readonly string[] | undefined,
    derived?: { tags: readonly string[]; since: string },
    lock?: { key: string; token: string },
  ): Promise<number> {
    const ek = this.#keys.entry(lk);
    const t = tags ?? [];
    if (!this.#store.cluster) {
      const d = derived?.tags ?? [];
      const keys = [
        ek,
        this.#keys.epoch,
        ...t.map((x) => this.#keys.tagVersion(x)),
        ...t.map((x) => this.#keys.tagSet(x)),
        ...d.map((x) => this.#keys.tagVersion(x)),
        ...d.map((x) => this.#keys.tagSet(x)),
      ];
      if (lock !== undefined) keys.push(lock.key);
      const args = [
        expectedId,
        ...versions,
        raw,
        String(px),
        String(t.length),
        String(d.length),
        derived?.since || '0',
        lock?.token ?? '',
      ];
      return Number(await this.#store.eval(CAS_WRITE, keys, args));
    }
    const written = await this.#clusterWrite(ek, raw, px, expectedId, versions, t, derived);
    if (lock !== undefined) this.unlock(lock.key, lock.token);
    return written;
  }

  async #clusterWrite(
    ek: string,
    raw: string,
    px: number,
    expectedId: string,
    versions: string[],
    t: readonly string[],
    derived: { tags: readonly string[]; since: string } | undefined,
  ): Promise<number> {
    // Derived tags need the one clock of a standalone server; callers never send them here.
    if (derived !== undefined && derived.tags.length > 0) return -1;
    const set = Number(await this.#store.eval(ENTRY_CAS, [ek], [expectedId, raw, String(px)]));
    if (set !== 1) return set;
    const id = raw.slice(3, raw.indexOf('|', 3));
    let epoch: unknown;
    let now: unknown[];
    try {
      [epoch, ...now] = await Promise.all([
        this.#store.get(this.#keys.epoch),
        ...t.map((x) =>
          this.#store.eval(TAG_REGISTER, [this.#keys.tagVersion(x), this.#keys.tagSet(x)], [ek, String(px)]),
        ),
      ]);
    } catch (err) {
      // Written but maybe not registered in every tag set: an invalidation could miss it. Undo.
      await this.#store.eval(DEL_IF_ID, [ek], [id]).catch(() => undefined);
      throw err;
    }
    const moved = (epoch ?? '') !== versions[0] || now.some((v, i) => String(v ?? '') !== versions[i + 1]);
    if (!moved) return 1;
    await this.#store.eval(DEL_IF_ID, [ek], [id]);
    return -1;
  }

  /**
   * The snapshot of a write-through (standalone only), taken before its write runs: the
   * entries (`whole`: the value to recompute from; else only the write id), the epoch, the
   * versions of `tags` and, when `clock`, the server time. Not guarded: callers wrap it.
   */
  async throughSnapshot(
    entries: ReadonlyArray<{ lk: string; whole: boolean }>,
    tags: readonly string[],
    clock: boolean,
  ): Promise<ThroughSnapshot> {
    const r = (await this.#store.eval(
      THROUGH_SNAPSHOT,
      [
        this.#keys.epoch,
        ...entries.map((e) => this.#keys.entry(e.lk)),
        ...tags.map((t) => this.#keys.tagVersion(t)),
      ],
      [clock ? '1' : '', ...entries.map((e) => (e.whole ? '1' : ''))],
    )) as unknown[];
    const versions = new Map<string, string>();
    tags.forEach((t, i) => {
      versions.set(t, str(r[2 + entries.length + i]) ?? '');
    });
    return {
      since: str(r[0]) ?? '',
      epoch: str(r[1]) ?? '',
      entries: entries.map((_, i) => str(r[2 + i])),
      versions,
    };
  }

  /**
   * The end of a write-through (standalone only), one THROUGH_COMMIT script: each entry's new
   * value where its guard against `snap` holds, else a tombstone; this call's invalidation of
   * `tags`; the bus message. Without a snapshot every entry gets a tombstone (plain
   * invalidation). Returns, per entry, whether its new value was stored, or 'retry' (nothing
   * done) when the guard of an entry marked `retry` failed. Not guarded.
   */
  async throughCommit(
    snap: ThroughSnapshot | undefined,
    entries: readonly ThroughEntry[],
    tags: readonly string[],
    bus: Publication | undefined,
  ): Promise<boolean[] | 'retry'> {
    const keys = [this.#keys.epoch];
    const index = new Map<string, number>();
    // KEYS[i] as a 1-based index, each key once.
    const at = (k: string): string => {
      let i = index.get(k);
      if (i === undefined) {
        i = keys.push(k);
        index.set(k, i);
      }
      return String(i);
    };
    const now = Date.now();
    const args = [
      snap?.epoch ?? '',
      snap?.since || '0',
      this.#nonce(),
      String(this.#versionTtl),
      String(this.#tombTtl),
      bus?.channel ?? '',
      bus?.message ?? '',
      String(entries.length),
      String(tags.length),
    ];
    for (const e of entries) {
      const checked = snap !== undefined && e.value !== undefined;
      args.push(
        at(this.#keys.entry(e.lk)),
        e.expectedId,
        e.value?.raw ?? '',
        String(e.value?.px ?? 1),
        this.#tombstone(now),
        checked ? (e.retry ? '2' : '1') : '',
        String(checked ? e.tags.length : 0),
        String(checked ? e.derived.length : 0),
      );
      if (!checked) continue;
      for (const t of e.tags)
        args.push(at(this.#keys.tagVersion(t.tag)), t.version, at(this.#keys.tagSet(t.tag)));
      for (const t of e.derived) args.push(at(this.#keys.tagVersion(t)), at(this.#keys.tagSet(t)));
    }
    for (const t of tags) args.push(at(this.#keys.tagVersion(t)), at(this.#keys.tagSet(t)));
    const r = (await this.#store.eval(THROUGH_COMMIT, keys, args)) as unknown[];
    if (Number(r[0]) === -1) return 'retry';
    return entries.map((_, i) => Number(r[i]) === 1);
  }

  /** Releases a lock we own, in the background. */
  unlock(lockKey: string, token: string): void {
    this.#guard.run(() => this.#store.eval(UNLOCK, [lockKey], [token])).catch((err) => this.#onError(err));
  }

  /** Tombstones for `lks` (user keys): loads that started before cannot write back. */
  async deleteKeys(lks: string[]): Promise<boolean> {
    if (!this.#guard.available()) return false;
    const now = Date.now();
    const items = lks.map((lk) => ({
      key: this.#keys.entry(lk),
      value: this.#tombstone(now),
      px: this.#tombTtl,
    }));
    try {
      await this.#guard.run(() => this.#store.setMany(items));
      return true;
    } catch (err) {
      this.#onError(err);
      return false;
    }
  }

  /**
   * New random version per tag, then deletes the tag sets' members. On a standalone server one
   * script does it all and also publishes `bus` when given; on a cluster the members are unlinked
   * by separate commands and `bus` is ignored (the caller publishes).
   */
  async invalidateTags(tags: string[], bus?: Publication): Promise<boolean> {
    if (!this.#guard.available()) return false;
    const call = (ts: string[], here: boolean) =>
      this.#store.eval(
        INVALIDATE_TAGS,
        [...ts.map((t) => this.#keys.tagVersion(t)), ...ts.map((t) => this.#keys.tagSet(t))],
        [
          this.#nonce(),
          String(this.#versionTtl),
          here ? '1' : '',
          bus?.channel ?? '',
          here ? (bus?.message ?? '') : '',
        ],
      );
    try {
      if (!this.#store.cluster) {
        await this.#guard.run(() => call(tags, true));
        return true;
      }
      const members = await this.#guard.run(() => Promise.all(tags.map((t) => call([t], false))));
      const keys = [...new Set(members.flatMap((m) => (Array.isArray(m) ? m.map(String) : [])))];
      // One deadline per chunk: a big tag must not look like a slow Redis.
      const chunks: string[][] = [];
      for (let i = 0; i < keys.length; i += 500) chunks.push(keys.slice(i, i + 500));
      await Promise.all(chunks.map((c) => this.#guard.run(() => this.#store.del(c))));
      return true;
    } catch (err) {
      this.#onError(err);
      return false;
    }
  }

  /** New namespace epoch (refuses every load in flight), then SCAN + UNLINK of matching entries. */
  async clearPrefix(prefix: string): Promise<boolean> {
    if (!this.#guard.available()) return false;
    try {
      await this.#guard.run(() => this.#store.set(this.#keys.epoch, this.#nonce(), this.#versionTtl));
      await this.#store.scanDelete(this.#keys.entryPattern(prefix), (fn) => this.#guard.run(fn));
      return true;
    } catch (err) {
      this.#onError(err);
      return false;
    }
  }

  /** A tombstone: an entry with a new write id that reads as a miss. */
  #tombstone(now: number): string {
    const id = `d${(this.#seq++).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    return encodeEntry(id, now, now, now, 'T', '-', undefined, '');
  }

  #nonce(): string {
    return `${Date.now().toString(36)}.${randomBytes(6).toString('base64url')}`;
  }
}
