import { createHash } from 'node:crypto';

/** Characters of a long key kept readable in front of its hash, so prefix invalidation still matches. */
const HEAD = 64;

/** The shape of a shortened key: 64 characters, `#`, a base64url sha256 (43 characters). */
const SHORTENED = /^[\s\S]{64}#[A-Za-z0-9_-]{43}$/;

/**
 * Keeps a user key at or under `max` bytes: longer keys become `<first 64 chars>#<sha256>`.
 * The readable head keeps `clear(prefix)` working for prefixes up to 64 characters. A short key
 * that already has that shape is hashed too: otherwise whoever knows (or guesses) a long key
 * could read and overwrite its entry through the shortened form.
 */
export function limitKey(key: string, max: number): string {
  // Cheap length test first: most keys are short ASCII and never reach byteLength.
  if ((key.length * 3 <= max || Buffer.byteLength(key) <= max) && !isShortenedForm(key)) return key;
  return `${key.slice(0, HEAD)}#${createHash('sha256').update(key).digest('base64url')}`;
}

function isShortenedForm(key: string): boolean {
  return key.length === HEAD + 44 && key.charCodeAt(HEAD) === 35 /* # */ && SHORTENED.test(key);
}

/** Escapes Redis glob metacharacters so a user prefix matches literally in SCAN MATCH. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Redis key layout of one cache. Every entry key wraps the user key in a hash tag so the
 * entry and its lock share a cluster slot; a tag's version and member set share the tag's slot,
 * so each multi-key script touches one slot only.
 */
export class KeySpace {
  readonly ns: string;
  readonly epoch: string;
  readonly channel: string;

  constructor(prefix: string, name: string) {
    this.ns = `${prefix}${name}:`;
    this.epoch = `${this.ns}epoch`;
    this.channel = `${this.ns}bus`;
  }

  entry(k: string): string {
    return `${this.ns}e:{${k}}`;
  }

  lock(k: string): string {
    return `${this.ns}l:{${k}}`;
  }

  tagVersion(tag: string): string {
    return `${this.#tag(tag)}:v`;
  }

  tagSet(tag: string): string {
    return `${this.#tag(tag)}:s`;
  }

  /**
   * `t:{<tag>}`, the tag as hash tag. A tag starting with `}` would give an empty hash tag
   * (`t:{}x}`), which Redis Cluster ignores: it hashes the whole key, so the version and the set
   * land in different slots and every tag script fails with CROSSSLOT. Such tags get a key kind
   * of their own (`T:`, so no other tag maps there) and a hash tag that is never empty.
   */
  #tag(tag: string): string {
    return tag.charCodeAt(0) === 125 /* } */ ? `${this.ns}T:{~${tag}}` : `${this.ns}t:{${tag}}`;
  }

  /** SCAN pattern for every entry whose user key starts with `prefix`. */
  entryPattern(prefix: string): string {
    return `${escapeGlob(this.ns)}e:{${escapeGlob(prefix)}*`;
  }

  /** User key of an entry key (the inverse of `entry`), used to drop L1 copies after SCAN. */
  userKey(entryKey: string): string | undefined {
    const head = `${this.ns}e:{`;
    if (!entryKey.startsWith(head) || !entryKey.endsWith('}')) return undefined;
    return entryKey.slice(head.length, -1);
  }
}
