import { randomBytes } from 'node:crypto';
import { getLogger } from '@mem0-stack/logging';
import type { Policy } from '@mem0-stack/resilience';
import { CacheError } from './CacheError';
import { Bus, type BusMessage } from './internal/bus';
import { type Codec, decodeHeader, encodeEntry, type Header, headerTags } from './internal/envelope';
import { Guard } from './internal/guard';
import { KeySpace, limitKey } from './internal/keys';
import { type L1Entry, Lru } from './internal/lru';
import { PendingInvalidations } from './internal/pending';
import {
  RedisProtocol,
  type Snapshot,
  type ThroughEntry,
  type ThroughSnapshot,
} from './internal/redisProtocol';
import { type RedisClientLike, type RedisClusterLike, Store } from './internal/store';
import {
  markSpan,
  type Observed,
  RESULTS,
  type Result,
  recordInvalidation,
  recordLoad,
  register,
  slot,
  type Tier,
  unregister,
} from './internal/telemetry';
import { jsonSerializer, richJsonSerializer, type Serializer } from './serializers';
import type {
  CacheLogger,
  CacheStats,
  GetOrSetOptions,
  L1Options,
  Loader,
  ReadOptions,
  WriteOptions,
  WriteThroughOptions,
  WriteThroughRefresh,
  WriteThroughSet,
} from './types';
import { type Queryable, type QueryCache, type QueryCacheOptions, wrapQuery } from './wrapQuery';

/** Options of {@link createCache}. Durations are milliseconds. */
export type CacheOptions = {
  /** A connected node-redis client (`createClient`) or cluster client (`createCluster`). The cache never closes it. */
  redis: RedisClientLike | RedisClusterLike;
  /** Cache name: namespace in Redis and the `cache.name` metric attribute (`[A-Za-z0-9._-]{1,64}`). */
  name: string;
  /** TTL used when a call gives none. */
  defaultTtl: number;
  /** Prefix of every Redis key (default `cache:`); keys look like `<prefix><name>:e:{<key>}`. */
  prefix?: string;
  /** In-process LRU in front of Redis: `true` for defaults, or sizes. Off by default. */
  l1?: boolean | L1Options;
  /** Payload serializer (default JSON). */
  serializer?: Serializer;
  /** Default fraction of a TTL removed at random, 0–1 (default 0.1). */
  jitter?: number;
  /** Default stale-while-revalidate window (default 0). */
  staleWhileRevalidate?: number;
  /** Default grace window: an expired value kept as fallback when the loader fails (default 0). */
  grace?: number;
  /** After a loader failure served from grace, further calls get the old value without calling the loader for this long (default 5 000). */
  graceBackoff?: number;
  /** TTL of "not found" entries (loader returned undefined; default 10 000). */
  negativeTtl?: number;
  /** Cross-process lock on a miss: `false` to disable; `ttl` bounds a crashed holder, `wait` bounds waiting before loading anyway (defaults 10 000 / 2 000). */
  lock?: false | { ttl?: number; wait?: number };
  /**
   * Redis command timeout of the default policy (default 500, twice presets.redis'): a slower
   * command counts as a failure for the breaker. Timers fire late on a saturated event loop,
   * and a breaker tripped by that lag would send every read to the database at the worst time.
   */
  commandTimeout?: number;
  /**
   * Resilience policy around every Redis command (from @mem0-stack/resilience). Default
   * `presets.redis({ name: 'cache.<name>', retry: false, timeoutMs: commandTimeout })`. When it
   * is a preset, its breaker's state is checked synchronously so an open breaker costs nothing.
   * `false` runs commands bare (benchmarks only).
   */
  policy?: Policy | false;
  /**
   * Invalidations are published on Redis pub/sub (default true) and, when L1 is on, this cache
   * subscribes so every process drops its L1 copy. Keep it on in every process sharing a cache
   * name, also those without L1, or their invalidations will not reach the others' L1.
   */
  pubsub?: boolean;
  /** Values whose serialized form is larger are returned but not cached (default 1 MiB). */
  maxValueBytes?: number;
  /** Keys longer than this many bytes are shortened to a readable head plus a SHA-256 (default 200). */
  maxKeyLength?: number;
  /** How long a delete() leaves a tombstone that refuses late writes of loads started before it (default 60 000). */
  tombstoneTtl?: number;
  /** How long tag versions and the namespace epoch are kept (default 24 h); must exceed any load. */
  versionTtl?: number;
  logger?: CacheLogger;
};

/** What one lookup produced; every caller of a shared flight counts it. */
type Outcome = { value: unknown; result: Result; tier: Tier };
/** `fail`: how a caller of a flight whose loader threw is counted (default a miss). */
type Flight = { promise: Promise<Outcome>; gen: number; fail?: Result };
type Resolved = {
  ttl: number;
  swr: number;
  grace: number;
  jitter: number;
  tags: string[] | undefined;
  serializer: Serializer;
  codec: Codec;
};

/** A value ready for Redis: the envelope, its TTL and its decoded header. */
type Encoded = { raw: string; px: number; h: Header };

/** One `refresh` or `set` entry of a writeThrough call, checked and with its tags resolved. */
type ThroughSpec = {
  key: string;
  lk: string;
  refresh: WriteThroughRefresh<unknown> | undefined;
  set: WriteThroughSet<unknown> | undefined;
  /** Options of the new value; `tags` cleaned once (they are also snapshotted). */
  o: Resolved;
};

/** What writeThrough sends for one entry, and the L1 copy to keep if Redis stores it. */
type ThroughCandidate = { entry: ThroughEntry; l1?: { h: Header; value: unknown; tags: string[] } };

/** A writeThrough entry with no new value: the commit tombstones it. */
function dropEntry(lk: string): ThroughEntry {
  return { lk, expectedId: '', value: undefined, tags: [], derived: [] };
}

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
// Stands for "GET answered WRONGTYPE": no real entry can equal it (ours start with `m1|`).
const WRONG_TYPE = '\u0000wrongtype';

function isWrongType(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('WRONGTYPE');
}

function positive(name: string, v: unknown, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new CacheError(
      'CACHE_CONFIG_INVALID',
      `createCache: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(v)}`,
    );
  }
  return v;
}

/**
 * A duration that Redis receives as `PX`, which takes whole milliseconds only ("ERR value is not
 * an integer"): rounded up, so a positive duration never becomes 0.
 */
const wholeMs = (ms: number) => Math.ceil(ms);

/**
 * Longest duration the cache stores (≈ 35,700 years). Entry times are `now + ttl + window` and go
 * to Redis as integer `PX`: beyond Redis' 64-bit limit (or once a Lua number prints as `1e+19`)
 * every write fails (ERR not an integer / invalid expire time), so a huge TTL was never cached.
 */
const MAX_MS = 2 ** 50;
const capMs = (ms: number) => Math.min(ms, MAX_MS);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

let originCounter = 0;

/**
 * A Redis cache (cache-aside) with an optional in-process L1. Build it with {@link createCache}.
 */
export class Cache {
  readonly name: string;
  readonly #keys: KeySpace;
  readonly #store: Store;
  readonly #guard: Guard;
  readonly #proto: RedisProtocol;
  readonly #l1: Lru | undefined;
  readonly #l1Ttl: number;
  readonly #bus: Bus | undefined;
  readonly #pending: PendingInvalidations;
  readonly #serializer: Serializer;
  readonly #codec: Codec;
  readonly #defaultTtl: number;
  readonly #jitter: number;
  readonly #swr: number;
  readonly #grace: number;
  readonly #graceBackoff: number;
  readonly #negativeTtl: number;
  readonly #lockTtl: number;
  readonly #lockWait: number;
  readonly #lockOn: boolean;
  readonly #maxValue: number;
  readonly #maxKey: number;
  readonly #tombTtl: number;
  readonly #versionTtl: number;
  readonly #origin: string;
  readonly #publishOn: boolean;
  readonly #logger: CacheLogger | undefined;
  readonly #flights = new Map<string, Flight>();
  readonly #refreshing = new Set<string>();
  readonly #backoff = new Map<string, number>();
  readonly #deleting = new Set<Promise<void>>();
  readonly #observed: Observed;
  // Bumped by every invalidation: loads that started earlier do not fill L1.
  #gen = 0;
  #lockSeq = 0;
  #closed = false;
  #replaying: Promise<void> | undefined;
  #warnedNotReady = false;
  #warnedClusterDerived = false;
  #warnedClusterThrough = false;
  readonly #n = {
    loads: 0,
    loadErrors: 0,
    corrupt: 0,
    oversize: 0,
    writesRefused: 0,
    writeThroughStored: 0,
    writeThroughRefused: 0,
    writeThroughRetries: 0,
    invalidations: 0,
  };

  /** @internal use {@link createCache} */
  constructor(o: CacheOptions) {
    if (o === null || typeof o !== 'object')
      throw new CacheError('CACHE_CONFIG_INVALID', 'createCache: options required');
    if (typeof o.name !== 'string' || !NAME_RE.test(o.name)) {
      throw new CacheError(
        'CACHE_CONFIG_INVALID',
        `createCache: name must match ${NAME_RE}, got ${String(o.name)}`,
      );
    }
    const prefix = o.prefix ?? 'cache:';
    if (typeof prefix !== 'string' || /[{}]/.test(prefix) || prefix.length > 128) {
      throw new CacheError(
        'CACHE_CONFIG_INVALID',
        'createCache: prefix must be a string without { or } (≤ 128 chars)',
      );
    }
    const r = o.redis as Partial<RedisClientLike> | undefined;
    if (
      r === null ||
      typeof r !== 'object' ||
      typeof r.get !== 'function' ||
      typeof r.evalSha !== 'function'
    ) {
      throw new CacheError(
        'CACHE_CONFIG_INVALID',
        'createCache: redis must be a node-redis client or cluster (v5+)',
      );
    }
    this.name = o.name;
    this.#defaultTtl = capMs(positive('defaultTtl', o.defaultTtl));
    this.#jitter = o.jitter === undefined ? 0.1 : positive('jitter', o.jitter, true);
    if (this.#jitter > 1)
      throw new CacheError('CACHE_CONFIG_INVALID', 'createCache: jitter must be within 0–1');
    this.#swr = capMs(positive('staleWhileRevalidate', o.staleWhileRevalidate ?? 0, true));
    this.#grace = capMs(positive('grace', o.grace ?? 0, true));
    this.#graceBackoff = positive('graceBackoff', o.graceBackoff ?? 5_000, true);
    this.#negativeTtl = capMs(positive('negativeTtl', o.negativeTtl ?? 10_000));
    this.#lockOn = o.lock !== false;
    const lock = o.lock === false ? {} : (o.lock ?? {});
    this.#lockTtl = wholeMs(capMs(positive('lock.ttl', lock.ttl ?? 10_000)));
    this.#lockWait = positive('lock.wait', lock.wait ?? 2_000, true);
    this.#maxValue = positive('maxValueBytes', o.maxValueBytes ?? 1024 * 1024);
    this.#maxKey = positive('maxKeyLength', o.maxKeyLength ?? 200);
    if (this.#maxKey < 100)
      throw new CacheError('CACHE_CONFIG_INVALID', 'createCache: maxKeyLength must be ≥ 100');
    this.#tombTtl = wholeMs(capMs(positive('tombstoneTtl', o.tombstoneTtl ?? 60_000)));
    this.#versionTtl = wholeMs(capMs(positive('versionTtl', o.versionTtl ?? 24 * 3600_000)));
    const timeoutMs = positive('commandTimeout', o.commandTimeout ?? 500);
    this.#serializer = o.serializer ?? jsonSerializer;
    this.#codec = this.#codecOf(this.#serializer);
    this.#logger = o.logger;
    this.#keys = new KeySpace(prefix, o.name);
    // Our default policy bounds every command, so node-redis' own per-command timer is redundant.
    this.#store = new Store(o.redis, { ownTimeout: o.policy === undefined });
    this.#guard = new Guard(
      this.#store,
      o.policy === false ? undefined : (o.policy ?? Guard.defaultPolicy(o.name, timeoutMs)),
    );
    this.#proto = new RedisProtocol(this.#store, this.#keys, this.#guard, {
      tombstoneTtl: this.#tombTtl,
      versionTtl: this.#versionTtl,
      onError: (err) => this.#redisFailed(err),
    });
    if (o.l1) {
      const l1 = o.l1 === true ? {} : o.l1;
      this.#l1 = new Lru(
        positive('l1.maxEntries', l1.maxEntries ?? 10_000),
        positive('l1.maxBytes', l1.maxBytes ?? 32 * 1024 * 1024),
      );
      this.#l1Ttl = positive('l1.ttl', l1.ttl ?? 5_000);
    } else {
      this.#l1Ttl = 0;
    }
    this.#pending = new PendingInvalidations(10_000);
    this.#origin = `${process.pid.toString(36)}.${(originCounter++).toString(36)}.${randomBytes(4).toString('hex')}`;
    this.#publishOn = o.pubsub !== false;
    if (this.#publishOn && this.#l1 !== undefined) {
      this.#bus = new Bus(this.#store, this.#keys.channel, this.#origin, {
        message: (m) => this.#onBus(m),
        resubscribed: () => {
          this.#l1?.clear();
          this.#gen++;
        },
        error: (err) => this.#log('debug', 'cache invalidation bus error', err),
      });
    }
    this.#observed = { name: o.name, requests: new Float64Array(RESULTS.length * 2) };
    register(this.#observed);
  }

  // ---------------------------------------------------------------- reads

  /**
   * Returns the cached value, or calls `loader` once per process (and, with the lock, about once
   * across processes) and caches its result. Never fails because of Redis; fails only when the
   * loader fails and no stale value is available.
   * @example
   * const user = await cache.getOrSet(`user:${id}`, () => db.findUser(id), { ttl: 60_000, tags: [`user:${id}`] });
   */
  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T> {
    if (this.#closed) return Promise.reject(new CacheError('CACHE_CLOSED', `cache ${this.name} is closed`));
    if (typeof key !== 'string') return Promise.reject(this.#badKey(key));
    // limitKey, not an inline length test: a short key in the shortened form must be hashed too.
    const lk = limitKey(key, this.#maxKey);
    const l1 = this.#l1;
    if (l1 !== undefined) {
      const now = Date.now();
      const e = l1.get(lk, now);
      if (e !== undefined && now < e.fresh) {
        const r = this.#observed.requests;
        r[0] = (r[0] as number) + 1; // hit × l1
        markSpan(true);
        return Promise.resolve(e.value as T);
      }
    }
    return this.#joinFlight<T>(key, lk, loader, options);
  }

  async #joinFlight<T>(
    key: string,
    lk: string,
    loader: Loader<T>,
    options: GetOrSetOptions | undefined,
  ): Promise<T> {
    let f = this.#flights.get(lk);
    if (f === undefined) {
      // In the map before #fetch starts, so #fetch's own cleanup always finds it.
      f = { gen: this.#gen, promise: undefined as unknown as Promise<Outcome> };
      this.#flights.set(lk, f);
      f.promise = this.#fetch(key, lk, loader as Loader<unknown>, options as GetOrSetOptions, f);
    }
    let out: Outcome;
    try {
      out = await f.promise;
    } catch (err) {
      // The loader threw and nothing stale could answer: this call still ran or joined a load.
      this.#count(f.fail ?? 'miss', 'l2');
      markSpan(false);
      throw err;
    }
    this.#count(out.result, out.tier);
    markSpan(out.result === 'hit' || out.result === 'stale');
    return out.value as T;
  }

  /**
   * Cached value, or undefined when there is none (a miss, a "not found" entry, or Redis
   * unreachable). Use {@link Cache.getEntry} to tell "not found" from a miss.
   * @example const v = await cache.get<User>('user:42');
   */
  async get<T>(key: string, options?: ReadOptions): Promise<T | undefined> {
    const e = await this.getEntry<T>(key, options);
    return e?.value;
  }

  /**
   * The cached entry with its state, or undefined on a miss. `negative: true` means the
   * loader said "not found" and that answer is cached.
   * @example const e = await cache.getEntry('user:42'); if (e?.negative) return notFound();
   */
  async getEntry<T>(
    key: string,
    options?: ReadOptions,
  ): Promise<{ value: T | undefined; negative: boolean; stale: boolean } | undefined> {
    this.#assertOpen();
    if (typeof key !== 'string') throw this.#badKey(key);
    const lk = limitKey(key, this.#maxKey);
    const now = Date.now();
    const l1e = this.#l1?.get(lk, now);
    if (l1e !== undefined && now < l1e.fresh) {
      this.#count('hit', 'l1');
      markSpan(true);
      return { value: l1e.value as T, negative: l1e.negative, stale: false };
    }
    if (!this.#guard.available()) {
      this.#count('error', 'l2');
      if (options?.allowStale && l1e !== undefined)
        return { value: l1e.value as T, negative: l1e.negative, stale: true };
      return undefined;
    }
    // An invalidation handled while the read is in flight (a bus message can overtake the
    // reply) may be newer than what the read returns: then the value must not go to L1.
    const gen = this.#gen;
    let raw: string | null;
    try {
      raw = await this.#guard.run(() => this.#store.get(this.#keys.entry(lk)));
    } catch (err) {
      if (!isWrongType(err)) {
        this.#redisFailed(err);
        this.#count('error', 'l2');
        return undefined;
      }
      raw = WRONG_TYPE;
    }
    const d = this.#decode(lk, raw, options?.serializer, options?.validate);
    if (d === 'corrupt') await Promise.all(this.#deleting);
    const t = Date.now();
    if (d === undefined || d === 'corrupt' || (t >= d.h.fresh && !(options?.allowStale && t < d.h.grace))) {
      this.#count(d === 'corrupt' ? 'error' : 'miss', 'l2');
      markSpan(false);
      return undefined;
    }
    const stale = t >= d.h.fresh;
    this.#count(stale ? 'stale' : 'hit', 'l2');
    markSpan(true);
    if (!stale) this.#fillL1(lk, d.h, d.value, undefined, gen);
    return { value: d.value as T, negative: d.h.kind === 'u', stale };
  }

  /**
   * Whether a fresh entry (value or "not found") is cached.
   * @example if (!(await cache.has('report:today'))) scheduleReport();
   */
  async has(key: string): Promise<boolean> {
    this.#assertOpen();
    if (typeof key !== 'string') throw this.#badKey(key);
    const lk = limitKey(key, this.#maxKey);
    const now = Date.now();
    const l1e = this.#l1?.get(lk, now);
    if (l1e !== undefined && now < l1e.fresh) return true;
    if (!this.#guard.available()) return false;
    let raw: string | null;
    try {
      raw = await this.#guard.run(() => this.#store.get(this.#keys.entry(lk)));
    } catch (err) {
      if (!isWrongType(err)) {
        this.#redisFailed(err);
        return false;
      }
      raw = WRONG_TYPE;
    }
    if (raw === null) return false;
    // As get(): a key of another Redis type or a foreign entry is corrupt (deleted and counted).
    const h = raw === WRONG_TYPE ? undefined : decodeHeader(raw);
    if (h === undefined) {
      this.#corrupt(
        lk,
        raw === WRONG_TYPE ? 'key holds a non-string Redis type' : 'foreign or unknown envelope',
      );
      await Promise.all(this.#deleting);
      return false;
    }
    return h.kind !== 'T' && Date.now() < h.fresh && !this.#blockedByPending(lk, h);
  }

  /**
   * Several values in one round trip (MGET on a standalone server; one GET per key, pipelined,
   * on a cluster). Missing or unreadable entries are undefined.
   * @example const [a, b] = await cache.mget<User>(['user:1', 'user:2']);
   */
  async mget<T>(keys: readonly string[], options?: ReadOptions): Promise<Array<T | undefined>> {
    this.#assertOpen();
    const out: Array<T | undefined> = new Array(keys.length).fill(undefined);
    const now = Date.now();
    const need: number[] = [];
    const lks = keys.map((k) => {
      if (typeof k !== 'string') throw this.#badKey(k);
      return limitKey(k, this.#maxKey);
    });
    for (let i = 0; i < lks.length; i++) {
      const e = this.#l1?.get(lks[i] as string, now);
      if (e !== undefined && now < e.fresh) {
        out[i] = e.value as T;
        this.#count('hit', 'l1');
      } else need.push(i);
    }
    if (need.length === 0) return out;
    if (!this.#guard.available()) {
      for (let i = 0; i < need.length; i++) this.#count('error', 'l2');
      return out;
    }
    // Before the read, as in getEntry: a newer invalidation handled meanwhile keeps L1 empty.
    const gen = this.#gen;
    let raws: Array<string | null>;
    try {
      raws = await this.#guard.run(() =>
        this.#store.mget(need.map((i) => this.#keys.entry(lks[i] as string))),
      );
    } catch (err) {
      this.#redisFailed(err);
      for (let i = 0; i < need.length; i++) this.#count('error', 'l2');
      return out;
    }
    need.forEach((i, j) => {
      const lk = lks[i] as string;
      const d = this.#decode(lk, raws[j] ?? null, options?.serializer, options?.validate);
      const t = Date.now();
      if (d === undefined || d === 'corrupt') {
        this.#count(d === 'corrupt' ? 'error' : 'miss', 'l2');
        return;
      }
      if (t < d.h.fresh) {
        out[i] = d.value as T;
        this.#count('hit', 'l2');
        this.#fillL1(lk, d.h, d.value, undefined, gen);
      } else if (options?.allowStale && t < d.h.grace) {
        out[i] = d.value as T;
        this.#count('stale', 'l2');
      } else this.#count('miss', 'l2');
    });
    if (this.#deleting.size > 0) await Promise.all(this.#deleting);
    return out;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Stores a value (last write wins). `undefined` stores a "not found" entry for `negativeTtl`.
   * Resolves false when the value was not stored in Redis (down, too large), never throws for that.
   * @example await cache.set('user:42', user, { ttl: 60_000, tags: ['user:42'] });
   */
  async set<T>(
    key: string,
    value: T,
    options?: WriteOptions & { serializer?: Serializer },
  ): Promise<boolean> {
    this.#assertOpen();
    if (typeof key !== 'string') throw this.#badKey(key);
    const lk = limitKey(key, this.#maxKey);
    const o = this.#resolve(options, options?.serializer);
    const enc = this.#encode(value, o, Date.now(), undefined);
    this.#localInvalidate({ keys: [lk] });
    if (enc === undefined) {
      // Not storable (too large, not serializable): at least do not keep serving the old value.
      await this.delete(key);
      return false;
    }
    const gen = this.#gen;
    let ok = false;
    if (this.#guard.available()) {
      try {
        await this.#guard.run(() => this.#proto.plainWrite(lk, enc.raw, enc.px, o.tags));
        ok = true;
      } catch (err) {
        this.#redisFailed(err);
      }
    }
    if (!ok) this.#pending.addKeys([lk]);
    // Loads that began during the write may have read the old value: they must not fill L1.
    this.#fillL1(lk, enc.h, value, o.tags, this.#invalidateAfterWrite(gen, { keys: [lk] }));
    this.#publish({ o: this.#origin, k: [lk] });
    return ok;
  }

  /**
   * Stores several values in one pipeline. Resolves false when Redis could not be written.
   * @example await cache.mset([{ key: 'a', value: 1 }, { key: 'b', value: 2, ttl: 5_000 }]);
   */
  async mset(
    entries: ReadonlyArray<{ key: string; value: unknown } & WriteOptions>,
    options?: WriteOptions,
  ): Promise<boolean> {
    this.#assertOpen();
    const now = Date.now();
    const plain: Array<{ key: string; value: string; px: number }> = [];
    const tagged: Array<{ lk: string; raw: string; px: number; tags: string[] }> = [];
    const lks: string[] = [];
    const fills: Array<(gen: number) => void> = [];
    const unstorable: string[] = [];
    // A key given twice: only its last entry is written (last write wins in Redis and L1 alike;
    // the plain pipeline and the tagged scripts would otherwise land in another order).
    const last = new Map<string, number>();
    entries.forEach((e, i) => {
      if (typeof e?.key !== 'string') throw this.#badKey(e?.key);
      last.set(limitKey(e.key, this.#maxKey), i);
    });
    for (const [lk, i] of last) {
      const e = entries[i] as { key: string; value: unknown } & WriteOptions;
      lks.push(lk);
      const o = this.#resolve({ ...options, ...e }, undefined);
      const enc = this.#encode(e.value, o, now, undefined);
      this.#l1?.delete(lk);
      if (enc === undefined) {
        unstorable.push(e.key);
        continue;
      }
      if (o.tags) tagged.push({ lk, raw: enc.raw, px: enc.px, tags: o.tags });
      else plain.push({ key: this.#keys.entry(lk), value: enc.raw, px: enc.px });
      fills.push((gen) => this.#fillL1(lk, enc.h, e.value, o.tags, gen));
    }
    // Before the write: a delete's invalidation during it would read as another process's.
    if (unstorable.length > 0) await this.delete(unstorable);
    this.#dropFlights();
    const gen = this.#gen;
    let ok = false;
    if (this.#guard.available()) {
      try {
        await this.#guard.run(() =>
          Promise.all([
            this.#store.setMany(plain),
            ...tagged.map((t) => this.#proto.plainWrite(t.lk, t.raw, t.px, t.tags)),
          ]),
        );
        ok = true;
      } catch (err) {
        this.#redisFailed(err);
      }
    }
    if (!ok) this.#pending.addKeys(lks);
    const fillGen = this.#invalidateAfterWrite(gen, {});
    for (const f of fills) f(fillGen);
    if (lks.length > 0) this.#publish({ o: this.#origin, k: lks });
    return ok && plain.length + tagged.length === last.size;
  }

  // ---------------------------------------------------------------- invalidation

  /**
   * Removes keys. A short tombstone makes loads that started before the delete unable to write
   * their (now old) result back. Resolves false if Redis was unreachable: the delete is then
   * replayed when Redis returns, and reads ignore those keys until it is.
   * @example await cache.delete(['user:42', 'user:42:posts']);
   */
  async delete(keys: string | readonly string[]): Promise<boolean> {
    this.#assertOpen();
    const list = (typeof keys === 'string' ? [keys] : keys).map((k) => {
      if (typeof k !== 'string') throw this.#badKey(k);
      return limitKey(k, this.#maxKey);
    });
    if (list.length === 0) return true;
    this.#localInvalidate({ keys: list });
    this.#n.invalidations += list.length;
    recordInvalidation(this.name, 'key', 'local', list.length);
    const ok = await this.#proto.deleteKeys(list);
    // Again after Redis: calls made meanwhile may have copied the old value into L1 or joined a load.
    this.#localInvalidate({ keys: list });
    if (!ok) this.#pending.addKeys(list);
    this.#publish({ o: this.#origin, k: list });
    return ok;
  }

  /**
   * Invalidates every entry written with any of `tags`, in every process. Versioned: a load
   * that started before this call cannot write its result afterwards.
   * @example await cache.invalidateTags([`user:${id}`]);
   */
  async invalidateTags(tags: readonly string[]): Promise<boolean> {
    this.#assertOpen();
    const list = this.#cleanTags(tags) ?? [];
    if (list.length === 0) return true;
    this.#localInvalidate({ tags: list });
    this.#n.invalidations += list.length;
    recordInvalidation(this.name, 'tag', 'local', list.length);
    const m: BusMessage = { o: this.#origin, t: list };
    // On a standalone server the invalidation script publishes the message itself.
    const inScript = this.#publishOn && !this.#store.cluster;
    const ok = await this.#proto.invalidateTags(
      list,
      inScript ? { channel: this.#keys.channel, message: JSON.stringify(m) } : undefined,
    );
    this.#localInvalidate({ tags: list });
    if (!ok) this.#pending.addTags(list);
    if (!ok || !inScript) this.#publish(m);
    return ok;
  }

  /**
   * Removes every entry whose key starts with `prefix` (all entries of this cache when omitted),
   * with SCAN + UNLINK, never KEYS. Loads in flight anywhere cannot write afterwards.
   * @example await cache.clear('user:42:');
   */
  async clear(prefix = ''): Promise<boolean> {
    this.#assertOpen();
    if (typeof prefix !== 'string') throw this.#badKey(prefix);
    this.#localInvalidate({ prefix });
    this.#n.invalidations++;
    recordInvalidation(this.name, 'prefix', 'local');
    const ok = await this.#proto.clearPrefix(prefix);
    this.#localInvalidate({ prefix });
    if (!ok) this.#pending.addPrefix(prefix);
    this.#publish({ o: this.#origin, p: prefix });
    return ok;
  }

  // ---------------------------------------------------------------- write-through

  /**
   * Runs a write to the source of truth, then updates the cache in one step: invalidates
   * `invalidate`, and instead of dropping them recomputes each `refresh` entry from its cached
   * value and the write's result, and stores each `set` entry from the result. A new value is
   * stored only if nothing else invalidated its tags or replaced the entry between a snapshot
   * taken before the write and the store (this call's own invalidation aside); otherwise the
   * entry is dropped — a miss later, never stale. If the write throws, the cache still drops the
   * `refresh`/`set` entries and invalidates `invalidate` (when it is a list) and their tags, then
   * the error is rethrown. Redis down: a plain invalidation, replayed when Redis returns. On a
   * Redis Cluster: always a plain invalidation (one warning). Resolves to the write's result.
   * @example
   * const row = await cache.writeThrough(() => db.insertTodo(user, text), {
   *   invalidate: [`todos:${user}`],
   *   refresh: [{ key: `todos:${user}:first`, tags: [`todos:${user}`], update: (rows: Todo[], r: Todo) => [r, ...rows].slice(0, 20) }],
   *   set: [{ key: `todo:${text}`, tags: [`todos:${user}`], value: (r: Todo) => r }],
   * });
   */
  async writeThrough<R>(write: () => Promise<R> | R, options: WriteThroughOptions<R> = {}): Promise<R> {
    this.#assertOpen();
    if (typeof write !== 'function')
      throw new CacheError('CACHE_CONFIG_INVALID', 'writeThrough: write must be a function');
    const specs = this.#throughSpecs(options as WriteThroughOptions<unknown>);
    const inv = options.invalidate;
    const fixed = typeof inv === 'function' ? [] : (this.#cleanTags(inv ?? []) ?? []);
    if (!this.#pending.empty && this.#guard.available()) this.#replay();
    let snap: ThroughSnapshot | undefined;
    const started = performance.now();
    if (specs.length > 0 && this.#store.cluster) this.#warnClusterThrough();
    else if (specs.length > 0 && this.#guard.available()) {
      try {
        snap = await this.#guard.run(() =>
          this.#proto.throughSnapshot(
            specs.map((x) => ({ lk: x.lk, whole: x.refresh !== undefined })),
            [...new Set(specs.flatMap((x) => x.o.tags ?? []))],
            specs.some((x) => (x.refresh ?? x.set)?.tagsOf !== undefined),
          ),
        );
      } catch (err) {
        this.#redisFailed(err);
      }
    }
    // Their own tags too: a write that threw may still have committed.
    const dropAll = () => [...new Set([...fixed, ...specs.flatMap((x) => x.o.tags ?? [])])];
    let result: R;
    try {
      result = await write();
    } catch (err) {
      await this.#throughCommit(specs, dropAll(), undefined, []);
      throw err;
    }
    let tags = fixed;
    if (typeof inv === 'function') {
      let list: unknown;
      try {
        list = inv(result);
      } catch (err) {
        list = err;
      }
      if (Array.isArray(list)) tags = this.#cleanTags(list) ?? [];
      else {
        // Which tags the write changed is unknown: drop what this call knows about.
        this.#log(
          'warn',
          'cache: writeThrough invalidate() threw or returned no array; its entries and their tags are dropped',
          list instanceof Error ? list : undefined,
        );
        tags = dropAll();
        snap = undefined;
      }
    }
    // As for loads: past the tombstone TTL a delete() made meanwhile may no longer be visible.
    if (performance.now() - started >= this.#tombTtl) snap = undefined;
    const now = Date.now();
    const candidates =
      snap === undefined ? [] : specs.map((x, i) => this.#throughCandidate(x, snap, i, result, now));
    const retry = specs.some((x) => x.refresh?.retry === true);
    if ((await this.#throughCommit(specs, tags, snap, candidates, retry)) === 'retry' && snap !== undefined) {
      // A concurrent write changed an entry marked `retry` since the snapshot (nothing was
      // changed yet): recompute those entries from what is cached now, once. Every other entry
      // keeps the first snapshot's guard, whose epoch and clock also stay: stricter, never looser.
      this.#n.writeThroughRetries++;
      let again = candidates;
      try {
        const retried = specs.filter((x) => x.refresh?.retry === true);
        const fresh = await this.#guard.run(() =>
          this.#proto.throughSnapshot(
            retried.map((x) => ({ lk: x.lk, whole: true })),
            [...new Set(retried.flatMap((x) => x.o.tags ?? []))],
            false,
          ),
        );
        if (fresh.epoch === snap.epoch) {
          const second: ThroughSnapshot = { ...fresh, since: snap.since, epoch: snap.epoch };
          again = specs.map((x, i) => {
            const j = retried.indexOf(x);
            return j === -1
              ? (candidates[i] as ThroughCandidate)
              : this.#throughCandidate(x, second, j, result, Date.now());
          });
        } else again = [];
      } catch (err) {
        this.#redisFailed(err);
        again = [];
      }
      await this.#throughCommit(specs, tags, again.length === 0 ? undefined : snap, again);
    }
    return result;
  }

  /** The `refresh` and `set` entries of a writeThrough call, checked (misuse throws). */
  #throughSpecs(options: WriteThroughOptions<unknown>): ThroughSpec[] {
    if (options === null || typeof options !== 'object')
      throw new CacheError('CACHE_CONFIG_INVALID', 'writeThrough: options must be an object');
    const out: ThroughSpec[] = [];
    const seen = new Set<string>();
    const add = (x: Omit<ThroughSpec, 'lk'>) => {
      if (typeof x.key !== 'string') throw this.#badKey(x.key);
      const lk = limitKey(x.key, this.#maxKey);
      if (seen.has(lk))
        throw new CacheError('CACHE_CONFIG_INVALID', `writeThrough: key "${x.key}" is given twice`);
      seen.add(lk);
      out.push({ ...x, lk });
    };
    const list = <T>(v: ReadonlyArray<T> | undefined, name: string): ReadonlyArray<T> => {
      if (v === undefined) return [];
      if (!Array.isArray(v))
        throw new CacheError('CACHE_CONFIG_INVALID', `writeThrough: ${name} must be an array`);
      return v;
    };
    list(options.refresh, 'refresh').forEach((r, i) => {
      if (typeof r?.update !== 'function')
        throw new CacheError('CACHE_CONFIG_INVALID', `writeThrough: refresh[${i}].update must be a function`);
      add({ key: r.key, refresh: r, set: undefined, o: this.#resolve({ tags: r.tags }, r.serializer) });
    });
    list(options.set, 'set').forEach((x, i) => {
      if (typeof x?.value !== 'function')
        throw new CacheError('CACHE_CONFIG_INVALID', `writeThrough: set[${i}].value must be a function`);
      add({ key: x.key, refresh: undefined, set: x, o: this.#resolve(x, x.serializer) });
    });
    return out;
  }

  /**
   * The new value of one entry and what guards it: the snapshot's write id and tag versions,
   * and the tags derived from the value. No value (only a tombstone) when there is nothing fresh
   * to recompute from, a callback says so or throws, or the value cannot be cached.
   */
  #throughCandidate(
    x: ThroughSpec,
    snap: ThroughSnapshot,
    i: number,
    result: unknown,
    now: number,
  ): ThroughCandidate {
    const none: ThroughCandidate = { entry: dropEntry(x.lk) };
    const seen = snap.entries[i] ?? null;
    let value: unknown;
    let o = x.o;
    let base: Header | undefined;
    try {
      if (x.refresh !== undefined) {
        if (seen === null) return none;
        const d = this.#decode(x.lk, seen, x.refresh.serializer, x.refresh.validate);
        if (d === undefined || d === 'corrupt' || d.h.kind !== 'v' || now >= d.h.fresh) return none;
        const serializer = this.#serializerOf(d.h.codec, x.refresh.serializer);
        if (serializer === undefined) return none;
        o = { ...o, serializer, codec: d.h.codec };
        base = d.h;
        value = x.refresh.update(d.value as never, result);
      } else if (x.set !== undefined) {
        value = x.set.value(result);
      }
    } catch (err) {
      this.#log('warn', 'cache: a writeThrough callback threw; the entry is dropped', err, x.key);
      return none;
    }
    if (value === undefined) return none;
    const derived = this.#derivedTags(x.refresh ?? x.set, value, x.key);
    if (derived === null) return none;
    const fixed = o.tags ?? [];
    const own = derived.filter((t) => !fixed.includes(t));
    const tags = [...fixed, ...own];
    let enc: Encoded | undefined;
    if (base === undefined) enc = this.#encode(value, { ...o, tags }, now, undefined);
    else {
      // A refresh keeps the expiry of the value it was computed from.
      const payload = this.#payload(value, o.serializer);
      if (payload === undefined) return none;
      const id = this.#newId();
      const raw = encodeEntry(id, base.fresh, base.stale, base.grace, 'v', o.codec, tags, payload);
      const h: Header = { ...base, id, kind: 'v', codec: o.codec, tagsJson: '', payload };
      enc = { raw, px: Math.max(1, base.grace - now), h };
    }
    if (enc === undefined) return none;
    return {
      entry: {
        lk: x.lk,
        expectedId: base?.id ?? seen ?? '',
        value: { raw: enc.raw, px: enc.px },
        tags: fixed.map((tag) => ({ tag, version: snap.versions.get(tag) ?? '' })),
        derived: own,
      },
      l1: { h: enc.h, value, tags },
    };
  }

  /**
   * The end of writeThrough: on a standalone server one script stores the candidates whose guard
   * holds, tombstones the other entries, invalidates `tags` and publishes. Without a snapshot,
   * or on a cluster, it is a plain invalidation; Redis unreachable: kept and replayed.
   */
  async #throughCommit(
    specs: readonly ThroughSpec[],
    tags: string[],
    snap: ThroughSnapshot | undefined,
    candidates: readonly ThroughCandidate[],
    mayRetry = false,
  ): Promise<'retry' | undefined> {
    const lks = specs.map((x) => x.lk);
    if (lks.length === 0 && tags.length === 0) return undefined;
    this.#localInvalidate({ keys: lks, tags });
    const gen = this.#gen;
    const m: BusMessage = { o: this.#origin };
    if (lks.length > 0) m.k = lks;
    if (tags.length > 0) m.t = tags;
    let stored: boolean[] | undefined;
    if (this.#store.cluster) {
      const tagsOk = tags.length === 0 || (await this.#proto.invalidateTags(tags));
      const keysOk = lks.length === 0 || (await this.#proto.deleteKeys(lks));
      if (!tagsOk) this.#pending.addTags(tags);
      if (!keysOk) this.#pending.addKeys(lks);
      stored = lks.map(() => false);
      this.#publish(m);
    } else if (this.#guard.available()) {
      const entries = specs.map((x, i) => {
        const entry = candidates[i]?.entry ?? dropEntry(x.lk);
        return mayRetry && x.refresh?.retry === true ? { ...entry, retry: true } : entry;
      });
      const bus = this.#publishOn ? { channel: this.#keys.channel, message: JSON.stringify(m) } : undefined;
      try {
        const out = await this.#guard.run(() => this.#proto.throughCommit(snap, entries, tags, bus));
        if (out === 'retry') return 'retry';
        stored = out;
      } catch (err) {
        this.#redisFailed(err);
      }
    }
    if (tags.length > 0) {
      this.#n.invalidations += tags.length;
      recordInvalidation(this.name, 'tag', 'local', tags.length);
    }
    // Again after Redis: calls made meanwhile may have copied an old value into L1 or joined a load.
    const fillGen = this.#invalidateAfterWrite(gen, { keys: lks, tags });
    if (stored === undefined) {
      this.#pending.addTags(tags);
      this.#pending.addKeys(lks);
      this.#publish(m);
    }
    let dropped = 0;
    lks.forEach((lk, i) => {
      const c = candidates[i];
      const ok = stored?.[i] === true;
      if (c?.entry.value !== undefined) {
        if (ok) this.#n.writeThroughStored++;
        else this.#n.writeThroughRefused++;
      }
      if (ok && c?.l1 !== undefined) this.#fillL1(lk, c.l1.h, c.l1.value, c.l1.tags, fillGen);
      else dropped++;
    });
    if (dropped > 0) {
      this.#n.invalidations += dropped;
      recordInvalidation(this.name, 'key', 'local', dropped);
    }
    return undefined;
  }

  #warnClusterThrough(): void {
    if (this.#warnedClusterThrough) return;
    this.#warnedClusterThrough = true;
    this.#log(
      'warn',
      'cache: writeThrough needs a standalone Redis; on a cluster its entries are invalidated instead',
    );
  }

  // ---------------------------------------------------------------- misc

  /**
   * Caches results of a pg pool (or client) keyed by normalised SQL + parameters.
   * @example
   * const q = cache.wrapQuery(pool, { ttl: 30_000, tags: ['users'] });
   * const { rows } = await q.cachedQuery('SELECT * FROM users WHERE id = $1', [42]);
   */
  wrapQuery(pool: Queryable, options?: QueryCacheOptions): QueryCache {
    return wrapQuery(this, pool, options);
  }

  /**
   * Counters since creation, including the hit ratio.
   * @example console.log(cache.stats().hitRatio);
   */
  stats(): CacheStats {
    const r = this.#observed.requests;
    const at = (res: Result, tier: Tier) => r[slot(res, tier)] ?? 0;
    const l1Hits = at('hit', 'l1');
    const l2Hits = at('hit', 'l2');
    const hits = l1Hits + l2Hits;
    const misses = at('miss', 'l1') + at('miss', 'l2');
    const stale = at('stale', 'l1') + at('stale', 'l2');
    const errors = at('error', 'l1') + at('error', 'l2');
    const requests = hits + misses + stale + errors;
    return {
      name: this.name,
      hits,
      l1Hits,
      l2Hits,
      misses,
      stale,
      errors,
      requests,
      hitRatio: requests === 0 ? 0 : (hits + stale) / requests,
      ...this.#n,
      pendingInvalidations: this.#pending.size,
      l1: this.#l1 && { entries: this.#l1.size, bytes: this.#l1.bytes, evictions: this.#l1.evictions },
      redis: { ready: this.#store.ready(), breaker: this.#guard.state },
    };
  }

  /**
   * Resolves when the invalidation bus is subscribed (immediately without L1), or when
   * subscribing failed (Redis down at start: the cache works without the bus meanwhile and
   * node-redis keeps reconnecting). Never rejects.
   * @example await cache.ready();
   */
  async ready(): Promise<void> {
    await this.#bus?.ready.catch(() => undefined);
  }

  /**
   * Stops timers and the bus connection; the Redis client you passed stays open.
   * @example await cache.close();
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    unregister(this.#observed);
    // Loads and reads still in flight must not refill L1 (#fillL1 also checks #closed).
    this.#dropFlights();
    this.#l1?.clear();
    await this.#bus?.close();
  }

  // ---------------------------------------------------------------- internals: lookup

  async #fetch(
    key: string,
    lk: string,
    loader: Loader<unknown>,
    options: GetOrSetOptions | undefined,
    flight: Flight,
  ): Promise<Outcome> {
    try {
      const ek = this.#keys.entry(lk);
      if (!this.#guard.available()) return await this.#degraded(key, lk, loader, options, flight, undefined);
      let raw: string | null;
      try {
        raw = await this.#guard.run(() => this.#store.get(ek));
      } catch (err) {
        if (!isWrongType(err)) {
          this.#redisFailed(err);
          return await this.#degraded(key, lk, loader, options, flight, err);
        }
        raw = WRONG_TYPE;
      }
      if (!this.#pending.empty) this.#replay();
      const d = this.#decode(lk, raw, options?.serializer, options?.validate);
      let graced: Header | undefined;
      let gracedValue: unknown;
      let corrupt = false;
      if (d === 'corrupt') corrupt = true;
      else if (d !== undefined) {
        const now = Date.now();
        if (now < d.h.fresh) {
          this.#fillL1(lk, d.h, d.value, undefined, flight.gen);
          return { value: d.value, result: 'hit', tier: 'l2' };
        }
        if (now < d.h.stale) {
          this.#refresh(key, lk, loader, options, d.h, d.value);
          return { value: d.value, result: 'stale', tier: 'l2' };
        }
        if (now < d.h.grace) {
          graced = d.h;
          gracedValue = d.value;
          const until = this.#backoff.get(lk);
          if (until !== undefined && now < until) return { value: d.value, result: 'stale', tier: 'l2' };
        }
      }
      if (corrupt) flight.fail = 'error';
      const out = await this.#loadAndStore(key, lk, loader, options, flight, graced, gracedValue);
      return corrupt && out.result === 'miss' ? { ...out, result: 'error' } : out;
    } finally {
      // Later callers start a new lookup; the ones already waiting share this result.
      if (this.#flights.get(lk) === flight) this.#flights.delete(lk);
    }
  }

  /** The miss path: lock, capture versions, load, versioned write. */
  async #loadAndStore(
    key: string,
    lk: string,
    loader: Loader<unknown>,
    options: GetOrSetOptions | undefined,
    flight: Flight,
    graced: Header | undefined,
    gracedValue: unknown,
  ): Promise<Outcome> {
    const o = this.#resolve(options, options?.serializer);
    const ek = this.#keys.entry(lk);
    const useLock = this.#lockOn && options?.lock !== false;
    const token = useLock ? `${this.#origin}.${(this.#lockSeq++).toString(36)}` : '';
    const lockKey = this.#keys.lock(lk);
    // Lock attempt, a re-read of the entry (someone may have just written it) and the versions
    // the write will be checked against: one script on a standalone server.
    let snap: Snapshot;
    try {
      snap = await this.#guard.run(() =>
        this.#proto.snapshot(lk, useLock ? { key: lockKey, token, px: this.#lockTtl } : undefined, o.tags, {
          entry: true,
          clock: this.#needsClock(options),
        }),
      );
    } catch (err) {
      this.#redisFailed(err);
      return this.#degraded(key, lk, loader, options, flight, err, graced, gracedValue);
    }
    let expectedId = '';
    if (snap.raw !== null) {
      const h = decodeHeader(snap.raw);
      if (h !== undefined) {
        expectedId = h.id;
        if (h.kind !== 'T' && Date.now() < h.fresh && !this.#blockedByPending(lk, h)) {
          const d = this.#decode(lk, snap.raw, options?.serializer, options?.validate);
          if (d !== undefined && d !== 'corrupt') {
            if (snap.locked) this.#proto.unlock(lockKey, token);
            this.#fillL1(lk, d.h, d.value, undefined, flight.gen);
            return { value: d.value, result: 'hit', tier: 'l2' };
          }
        }
      } else expectedId = '?';
    }
    if (useLock && !snap.locked) {
      const waited = await this.#waitForOther(lk, ek, lockKey, token, options);
      if (waited.out !== undefined) return waited.out;
      snap.locked = waited.locked;
      if (waited.expectedId !== undefined) expectedId = waited.expectedId;
    }
    const ctx = { key, stale: gracedValue };
    const started = performance.now();
    let value: unknown;
    this.#n.loads++;
    try {
      value = await loader(ctx);
    } catch (err) {
      recordLoad(this.name, (performance.now() - started) / 1000, false);
      this.#n.loadErrors++;
      if (snap.locked) this.#proto.unlock(lockKey, token);
      if (graced !== undefined) {
        this.#setBackoff(lk);
        this.#log('warn', 'cache loader failed; serving the previous value (grace)', err, key);
        return { value: gracedValue, result: 'stale', tier: 'l2' };
      }
      const l1e = this.#l1?.get(lk, Date.now());
      if (l1e !== undefined && Date.now() < l1e.grace) {
        this.#setBackoff(lk);
        return { value: l1e.value, result: 'stale', tier: 'l1' };
      }
      throw err;
    }
    const took = performance.now() - started;
    recordLoad(this.name, took / 1000, true);
    this.#backoff.delete(lk);
    const now = Date.now();
    const { enc, tags, derived } = this.#encodeLoaded(value, o, options, key, now);
    let written = 0;
    // The write script releases the lock too; whoever does not hand it over releases it here.
    let handedOver = false;
    if (enc !== undefined && took < this.#tombTtl) {
      try {
        written = await this.#guard.run(() => {
          handedOver = snap.locked;
          return this.#proto.versionedWrite(
            lk,
            enc.raw,
            enc.px,
            expectedId,
            snap.versions,
            o.tags,
            { tags: derived, since: snap.since },
            snap.locked ? { key: lockKey, token } : undefined,
          );
        });
      } catch (err) {
        this.#redisFailed(err);
        written = 0;
        handedOver = false;
      }
      if (written !== 1) this.#n.writesRefused++;
    }
    if (snap.locked && !handedOver) this.#proto.unlock(lockKey, token);
    // A refused write means the entry was invalidated or replaced while we loaded: do not keep our copy.
    if (enc !== undefined && written !== -1) this.#fillL1(lk, enc.h, value, tags, flight.gen);
    return { value, result: 'miss', tier: 'l2' };
  }

  /** Another process holds the lock: poll for its result, bounded by lock.wait, then load anyway. */
  async #waitForOther(
    lk: string,
    ek: string,
    lockKey: string,
    token: string,
    options: GetOrSetOptions | undefined,
  ): Promise<{ out?: Outcome; locked: boolean; expectedId?: string }> {
    const deadline = Date.now() + this.#lockWait;
    let delay = 5;
    while (Date.now() < deadline) {
      await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
      delay = Math.min(delay * 1.5, 100);
      let raw: string | null;
      let holder: string | null;
      const gen = this.#gen;
      try {
        [raw, holder] = await this.#guard.run(() =>
          Promise.all([this.#store.get(ek), this.#store.get(lockKey)]),
        );
      } catch (err) {
        this.#redisFailed(err);
        return { locked: false };
      }
      const h = raw === null ? undefined : decodeHeader(raw);
      if (h !== undefined && h.kind !== 'T' && Date.now() < h.fresh) {
        const d = this.#decode(lk, raw, options?.serializer, options?.validate);
        if (d !== undefined && d !== 'corrupt') {
          this.#fillL1(lk, d.h, d.value, undefined, gen);
          return { out: { value: d.value, result: 'hit', tier: 'l2' }, locked: false };
        }
      }
      if (holder === null) {
        // The holder finished without a usable entry (its load failed or its write was refused).
        try {
          const locked = await this.#guard.run(() => this.#store.setNx(lockKey, token, this.#lockTtl));
          if (locked) return { locked: true, expectedId: h === undefined ? (raw === null ? '' : '?') : h.id };
        } catch (err) {
          this.#redisFailed(err);
          return { locked: false };
        }
      }
    }
    return { locked: false };
  }

  /** Redis is unusable: the loader answers; an L1 copy still within grace covers a loader failure. */
  async #degraded(
    key: string,
    lk: string,
    loader: Loader<unknown>,
    options: GetOrSetOptions | undefined,
    flight: Flight,
    _err: unknown,
    graced?: Header,
    gracedValue?: unknown,
  ): Promise<Outcome> {
    if (!this.#store.ready() && !this.#warnedNotReady) {
      this.#warnedNotReady = true;
      this.#log('warn', 'cache: redis client not ready; calls go straight to the loader until it is');
    }
    const l1e = this.#l1?.get(lk, Date.now());
    const stale = graced !== undefined ? gracedValue : l1e?.value;
    const staleUntil = graced !== undefined ? graced.grace : (l1e?.grace ?? 0);
    const started = performance.now();
    this.#n.loads++;
    let value: unknown;
    try {
      value = await loader({ key, stale });
    } catch (err) {
      recordLoad(this.name, (performance.now() - started) / 1000, false);
      this.#n.loadErrors++;
      if (Date.now() < staleUntil) return { value: stale, result: 'stale', tier: graced ? 'l2' : 'l1' };
      flight.fail = 'error';
      throw err;
    }
    recordLoad(this.name, (performance.now() - started) / 1000, true);
    if (this.#l1 !== undefined) {
      const o = this.#resolve(options, options?.serializer);
      const { enc, tags } = this.#encodeLoaded(value, o, options, key, Date.now());
      if (enc !== undefined) this.#fillL1(lk, enc.h, value, tags, flight.gen);
    }
    return { value, result: 'error', tier: 'l2' };
  }

  /** Stale-while-revalidate: one background load per key, skipped when another process holds the lock. */
  #refresh(
    key: string,
    lk: string,
    loader: Loader<unknown>,
    options: GetOrSetOptions | undefined,
    h: Header,
    staleValue: unknown,
  ): void {
    if (this.#refreshing.has(lk)) return;
    this.#refreshing.add(lk);
    const gen = this.#gen;
    const o = this.#resolve(options, options?.serializer);
    const lockKey = this.#keys.lock(lk);
    const token = `${this.#origin}.${(this.#lockSeq++).toString(36)}`;
    const useLock = this.#lockOn && options?.lock !== false;
    const run = async () => {
      const snap = await this.#guard.run(() =>
        this.#proto.snapshot(lk, useLock ? { key: lockKey, token, px: this.#lockTtl } : undefined, o.tags, {
          entry: false,
          clock: this.#needsClock(options),
        }),
      );
      if (useLock && !snap.locked) return;
      await refresh(snap.versions, snap.since, snap.locked);
    };
    const refresh = async (versions: string[], since: string, locked: boolean) => {
      let handedOver = false;
      try {
        const started = performance.now();
        this.#n.loads++;
        let value: unknown;
        try {
          value = await loader({ key, stale: staleValue });
        } catch (err) {
          recordLoad(this.name, (performance.now() - started) / 1000, false);
          this.#n.loadErrors++;
          this.#log('warn', 'cache background refresh failed; the stale value stays', err, key);
          return;
        }
        const took = performance.now() - started;
        recordLoad(this.name, took / 1000, true);
        const { enc, tags, derived } = this.#encodeLoaded(value, o, options, key, Date.now());
        let written = 0;
        if (enc !== undefined && took < this.#tombTtl) {
          written = await this.#guard.run(() => {
            handedOver = locked;
            return this.#proto.versionedWrite(
              lk,
              enc.raw,
              enc.px,
              h.id,
              versions,
              o.tags,
              { tags: derived, since },
              locked ? { key: lockKey, token } : undefined,
            );
          });
          if (written !== 1) this.#n.writesRefused++;
        }
        if (enc !== undefined && written === 1) this.#fillL1(lk, enc.h, value, tags, gen);
      } catch (err) {
        handedOver = false;
        throw err;
      } finally {
        if (locked && !handedOver) this.#proto.unlock(lockKey, token);
      }
    };
    run()
      .catch((err) => this.#redisFailed(err))
      .finally(() => this.#refreshing.delete(lk));
  }

  // ---------------------------------------------------------------- internals: encoding

  #codecOf(s: Serializer): Codec {
    return s === jsonSerializer ? 'j' : s === richJsonSerializer ? 'r' : 'c';
  }

  #serializerOf(codec: Codec, override: Serializer | undefined): Serializer | undefined {
    if (codec === 'j') return jsonSerializer;
    if (codec === 'r') return richJsonSerializer;
    if (codec === 'c')
      return override !== undefined && this.#codecOf(override) === 'c'
        ? override
        : this.#codecOf(this.#serializer) === 'c'
          ? this.#serializer
          : undefined;
    return undefined;
  }

  /** Decodes a raw entry; corrupt or foreign entries are deleted, counted and reported as 'corrupt'. */
  #decode(
    lk: string,
    raw: string | null,
    override: Serializer | undefined,
    validate: ((v: unknown) => boolean) | undefined,
  ): { h: Header; value: unknown } | 'corrupt' | undefined {
    if (raw === null) return undefined;
    if (raw === WRONG_TYPE) return this.#corrupt(lk, 'key holds a non-string Redis type');
    const h = decodeHeader(raw);
    if (h === undefined) return this.#corrupt(lk, 'foreign or unknown envelope');
    if (h.kind === 'T') return undefined;
    if (!this.#pending.empty && this.#blockedByPending(lk, h)) return undefined;
    if (h.kind === 'u') return { h, value: undefined };
    const s = this.#serializerOf(h.codec, override);
    if (s === undefined) return this.#corrupt(lk, `no serializer for codec ${h.codec}`);
    let value: unknown;
    try {
      value = s.deserialize(h.payload);
    } catch {
      return this.#corrupt(lk, 'payload does not deserialize');
    }
    if (validate !== undefined) {
      let ok = false;
      try {
        ok = validate(value) === true;
      } catch {
        ok = false;
      }
      if (!ok) return this.#corrupt(lk, 'value failed validate()');
    }
    return { h, value };
  }

  /**
   * Counts and logs a bad entry and deletes it without waiting: a later command of this call
   * goes down the same connection after the delete. Readers that return right away await
   * `#deleting` so the entry is gone when they resolve.
   */
  #corrupt(lk: string, reason: string): 'corrupt' {
    this.#n.corrupt++;
    this.#l1?.delete(lk);
    this.#log('warn', `cache: dropping corrupt entry (${reason})`, undefined, lk);
    const p = this.#guard
      .run(() => this.#store.del([this.#keys.entry(lk)]))
      .catch((err) => this.#redisFailed(err))
      .finally(() => this.#deleting.delete(p));
    this.#deleting.add(p);
    return 'corrupt';
  }

  /**
   * Whether a load's snapshot must read the server clock: when it has derived tags (`tagsOf`).
   * Their versions are unknown until the value is, so the write checks that none of them was
   * invalidated after this instant instead (standalone only).
   */
  #needsClock(options: GetOrSetOptions | undefined): boolean {
    return options?.tagsOf !== undefined && !this.#store.cluster;
  }

  /**
   * The envelope of a loaded value, carrying its derived tags as well (so do L2 and the L1 copy);
   * `enc` is undefined when the value must not be cached.
   */
  #encodeLoaded(
    value: unknown,
    o: Resolved,
    options: GetOrSetOptions | undefined,
    key: string,
    now: number,
  ): { enc: Encoded | undefined; tags: string[] | undefined; derived: string[] } {
    const derived = this.#derivedTags(options, value, key);
    if (derived === null) return { enc: undefined, tags: o.tags, derived: [] };
    const od = derived.length > 0 ? { ...o, tags: [...(o.tags ?? []), ...derived] } : o;
    return { enc: this.#encode(value, od, now, options?.negativeTtl), tags: od.tags, derived };
  }

  /**
   * Tags `tagsOf` derives from a loaded value: empty when there are none, null when the value
   * must not be cached (tagsOf threw, or a cluster, where derived tags cannot be checked).
   */
  #derivedTags(options: GetOrSetOptions | undefined, value: unknown, key: string): string[] | null {
    const f = options?.tagsOf;
    if (f === undefined || value === undefined) return [];
    let tags: string[];
    try {
      tags = this.#cleanTags(f(value as never)) ?? [];
    } catch (err) {
      this.#log('warn', 'cache: tagsOf threw; the value is returned but not cached', err, key);
      return null;
    }
    if (tags.length > 0 && this.#store.cluster) {
      if (!this.#warnedClusterDerived) {
        this.#warnedClusterDerived = true;
        this.#log(
          'warn',
          'cache: tagsOf needs a standalone Redis; on a cluster such values are not cached',
          undefined,
          key,
        );
      }
      return null;
    }
    return tags;
  }

  #resolve(options: WriteOptions | undefined, serializer: Serializer | undefined): Resolved {
    const s = serializer ?? this.#serializer;
    const num = (v: unknown, d: number) =>
      typeof v === 'number' && Number.isFinite(v) && v >= 0 ? capMs(v) : d;
    const ttl = num(options?.ttl, this.#defaultTtl);
    return {
      ttl: ttl > 0 ? ttl : this.#defaultTtl,
      // Added to the (whole) fresh time to give the entry's times and its PX.
      swr: wholeMs(num(options?.staleWhileRevalidate, this.#swr)),
      grace: wholeMs(num(options?.grace, this.#grace)),
      jitter: Math.min(1, num(options?.jitter, this.#jitter)),
      tags: options?.tags ? this.#cleanTags(options.tags) : undefined,
      serializer: s,
      codec: s === this.#serializer ? this.#codec : this.#codecOf(s),
    };
  }

  /** Envelope for a value, or undefined (counted) when it cannot or must not be cached. */
  #encode(value: unknown, o: Resolved, now: number, negativeTtl: number | undefined): Encoded | undefined {
    let payload = '';
    let fresh: number;
    let stale: number;
    let grace: number;
    const id = this.#newId();
    if (value === undefined) {
      const ttl = typeof negativeTtl === 'number' && negativeTtl > 0 ? capMs(negativeTtl) : this.#negativeTtl;
      fresh = stale = grace = now + Math.max(1, Math.round(ttl));
    } else {
      const p = this.#payload(value, o.serializer);
      if (p === undefined) return undefined;
      payload = p;
      const ttl = o.jitter > 0 ? o.ttl * (1 - o.jitter * Math.random()) : o.ttl;
      fresh = now + Math.max(1, Math.round(ttl));
      stale = fresh + o.swr;
      grace = fresh + Math.max(o.swr, o.grace);
    }
    const kind = value === undefined ? 'u' : 'v';
    const codec: Codec = value === undefined ? '-' : o.codec;
    const raw = encodeEntry(id, fresh, stale, grace, kind, codec, o.tags, payload);
    return {
      raw,
      px: Math.max(1, grace - now),
      h: { id, fresh, stale, grace, kind, codec, tagsJson: '', payload },
    };
  }

  /** A new entry write id. */
  #newId(): string {
    return (this.#lockSeq++).toString(36) + Math.random().toString(36).slice(2, 8);
  }

  /** A value's serialized payload, or undefined (counted) when it cannot or must not be cached. */
  #payload(value: unknown, serializer: Serializer): string | undefined {
    let payload: unknown;
    try {
      payload = serializer.serialize(value);
    } catch (err) {
      this.#n.oversize++;
      this.#log('warn', 'cache: value cannot be serialized; not cached', err);
      return undefined;
    }
    if (
      typeof payload !== 'string' ||
      payload.length > this.#maxValue ||
      (payload.length * 3 > this.#maxValue && Buffer.byteLength(payload) > this.#maxValue)
    ) {
      this.#n.oversize++;
      return undefined;
    }
    return payload;
  }

  #cleanTags(tags: readonly string[]): string[] | undefined {
    if (!Array.isArray(tags)) return undefined;
    const out: string[] = [];
    for (const t of tags) {
      if (typeof t !== 'string' || t.length === 0) continue;
      const lt = limitKey(t, this.#maxKey);
      if (!out.includes(lt)) out.push(lt);
    }
    return out.length > 0 ? out : undefined;
  }

  #fillL1(lk: string, h: Header, value: unknown, tags: readonly string[] | undefined, gen: number): void {
    const l1 = this.#l1;
    if (l1 === undefined || gen !== this.#gen || this.#closed) return;
    const now = Date.now();
    const e: L1Entry = {
      value,
      fresh: Math.min(h.fresh, now + this.#l1Ttl),
      stale: h.stale,
      grace: h.grace,
      // Kept past its L1 freshness until the entry's grace ends: a fallback when the loader fails.
      expires: h.grace,
      size: h.payload.length + lk.length + 64,
      negative: h.kind === 'u',
      tags: tags ?? headerTags(h),
    };
    l1.set(lk, e);
  }

  /** Replays invalidations that failed while Redis was away. */
  #replay(): void {
    if (this.#replaying !== undefined || this.#pending.empty) return;
    const p = this.#pending;
    // Each replayed part is published again: the first message was lost with Redis (or never
    // sent), and other processes would keep serving their L1 copies until the L1 TTL.
    this.#replaying = (async () => {
      if (p.all) {
        if (await this.#proto.clearPrefix('')) {
          p.all = false;
          this.#publish({ o: this.#origin, p: '' });
        }
        return;
      }
      const keys = [...p.keys];
      if (keys.length > 0 && (await this.#proto.deleteKeys(keys))) {
        for (const k of keys) p.keys.delete(k);
        this.#publish({ o: this.#origin, k: keys });
      }
      const tags = [...p.tags];
      if (tags.length > 0 && (await this.#proto.invalidateTags(tags))) {
        for (const t of tags) p.tags.delete(t);
        this.#publish({ o: this.#origin, t: tags });
      }
      for (const pre of [...p.prefixes]) {
        if (await this.#proto.clearPrefix(pre)) {
          p.prefixes.delete(pre);
          this.#publish({ o: this.#origin, p: pre });
        }
      }
    })()
      .catch((err) => this.#redisFailed(err))
      .finally(() => {
        this.#replaying = undefined;
      });
  }

  #blockedByPending(lk: string, h: Header): boolean {
    return (
      !this.#pending.empty &&
      this.#pending.blocks(lk, this.#pending.tags.size > 0 ? headerTags(h) : undefined)
    );
  }

  // ---------------------------------------------------------------- internals: local state

  #localInvalidate(what: { keys?: readonly string[]; tags?: readonly string[]; prefix?: string }): void {
    const l1 = this.#l1;
    if (l1 !== undefined) {
      if (what.keys !== undefined) for (const k of what.keys) l1.delete(k);
      if (what.tags !== undefined) l1.deleteTagged(what.tags);
      const prefix = what.prefix;
      if (prefix !== undefined) {
        if (prefix === '') l1.clear();
        else l1.deleteWhere((k) => k.startsWith(prefix));
      }
    }
    this.#dropFlights();
  }

  /**
   * The local invalidation that follows a write of ours to Redis (taken at generation `gen`,
   * before sending), and the generation the write's own L1 fills may use. Another process's
   * newer write can land after ours and its bus message overtake our reply (two connections):
   * when any invalidation arrived since `gen`, the generation returned is already past, so
   * #fillL1 keeps the possibly older value out of L1 (a miss later, not a stale hit).
   */
  #invalidateAfterWrite(gen: number, what: { keys?: readonly string[]; tags?: readonly string[] }): number {
    const overtaken = gen !== this.#gen;
    this.#localInvalidate(what);
    return overtaken ? gen : this.#gen;
  }

  /** New callers must not join loads that started before an invalidation. */
  #dropFlights(): void {
    this.#gen++;
    this.#flights.clear();
  }

  #onBus(m: BusMessage): void {
    if (m.k !== undefined) {
      const ks = m.k;
      this.#localInvalidate({ keys: ks });
      recordInvalidation(this.name, 'key', 'remote', ks.length);
    }
    if (m.t !== undefined) {
      const ts = m.t;
      this.#localInvalidate({ tags: ts });
      recordInvalidation(this.name, 'tag', 'remote', ts.length);
    }
    if (m.p !== undefined) {
      const p = m.p;
      this.#localInvalidate({ prefix: p });
      recordInvalidation(this.name, 'prefix', 'remote');
    }
  }

  #publish(m: BusMessage): void {
    if (!this.#publishOn || !this.#guard.available()) return;
    const msg = JSON.stringify(m);
    this.#guard
      .run(() => this.#store.publish(this.#keys.channel, msg))
      .catch((err) => this.#redisFailed(err));
  }

  #setBackoff(lk: string): void {
    if (this.#graceBackoff <= 0) return;
    if (this.#backoff.size >= 10_000) this.#backoff.clear();
    this.#backoff.set(lk, Date.now() + this.#graceBackoff);
  }

  #count(result: Result, tier: Tier): void {
    const r = this.#observed.requests;
    const i = slot(result, tier);
    r[i] = (r[i] as number) + 1;
  }

  #redisFailed(err: unknown): void {
    this.#log('debug', 'cache: redis command failed; using the loader', err);
  }

  #assertOpen(): void {
    if (this.#closed) throw new CacheError('CACHE_CLOSED', `cache ${this.name} is closed`);
  }

  #badKey(key: unknown): CacheError {
    return new CacheError('CACHE_KEY_INVALID', `cache ${this.name}: key must be a string, got ${typeof key}`);
  }

  #log(level: 'warn' | 'debug', message: string, err?: unknown, key?: string): void {
    try {
      const logger = this.#logger ?? getLogger();
      const fields: Record<string, unknown> = { 'cache.name': this.name };
      if (key !== undefined) fields['cache.key'] = key.length > 100 ? `${key.slice(0, 100)}…` : key;
      if (err !== undefined) fields['error.message'] = err instanceof Error ? err.message : String(err);
      logger[level](message, fields);
    } catch {
      // Logging must never break a cache call.
    }
  }
}

/**
 * Creates a cache over a node-redis client or cluster.
 * @example
 * import { createClient } from 'redis';
 * const redis = await createClient({ url: process.env.REDIS_URL }).connect();
 * const cache = createCache({ redis, name: 'users', defaultTtl: 60_000, l1: true });
 * const user = await cache.getOrSet('user:42', () => db.findUser(42), { tags: ['user:42'] });
 */
export function createCache(options: CacheOptions): Cache {
  return new Cache(options);
}
