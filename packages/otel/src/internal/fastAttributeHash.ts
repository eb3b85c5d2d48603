import type { Attributes } from '@opentelemetry/api';

/**
 * Cheap attribute-set hashing for the metrics SDK.
 *
 * Every synchronous record (histogram, counter, up/down counter) looks its series up by
 * `hashAttributes(attributes)`: sort the keys and JSON-encode the pairs, a few µs per call on
 * this hardware and most of what a record costs. `createCachedHash` keeps the SDK's own
 * function as the source of truth and memoises its result in a trie walked in the object's
 * key order (one Map step per key and per value). Every object that reaches a leaf has the
 * same own keys in the same order with SameValueZero-equal primitive values, so the SDK's
 * function would give it the leaf's string: series are unchanged, two key orders still meet
 * in one series (their leaves hold the same string), and a mutated object walks to the leaf
 * of its current content. Non-primitive values (arrays) bypass the cache.
 */
export type HashFn = (attributes: Attributes) => string;

type TrieNode = { next: Map<string, Map<unknown, TrieNode>> | undefined; hash: string | undefined };

/** Trie nodes across all instruments; past it, new attribute sets use the SDK's function. */
export const MAX_HASH_NODES = 10_000;

const MARK = Symbol.for('@mem0-stack/otel.fastAttributeHash');

/**
 * Wraps a pure attribute hash with a bounded trie memo (see the module comment).
 * @example const hash = createCachedHash(utils.hashAttributes); hash({ b: 1, a: 'x' });
 */
export function createCachedHash(original: HashFn, maxNodes = MAX_HASH_NODES): HashFn {
  const root: TrieNode = { next: undefined, hash: undefined };
  let nodes = 0;
  const cached = (attributes: Attributes): string => {
    const keys = Object.keys(attributes);
    let node = root;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      const v = attributes[k];
      // Arrays could change in place without the object changing: never memoised.
      if ((typeof v === 'object' && v !== null) || typeof v === 'function') return original(attributes);
      let byKey = node.next;
      let byValue = byKey?.get(k);
      let child = byValue?.get(v);
      if (child === undefined) {
        if (nodes >= maxNodes) return original(attributes);
        nodes++;
        child = { next: undefined, hash: undefined };
        if (byValue === undefined) {
          byValue = new Map();
          if (byKey === undefined) {
            byKey = new Map();
            node.next = byKey;
          }
          byKey.set(k, byValue);
        }
        byValue.set(v, child);
      }
      node = child;
    }
    let h = node.hash;
    if (h === undefined) {
      h = original(attributes);
      node.hash = h;
    }
    return h;
  };
  Object.defineProperty(cached, MARK, { value: original });
  return cached;
}

type UtilsModule = { hashAttributes: unknown };
type HashMapModule = { AttributeHashMap: unknown };

/** What happened: installed now, found installed, or left alone (internals not as expected). */
export type InstallResult = 'installed' | 'already' | 'unsupported';

/**
 * Puts `createCachedHash(hashAttributes)` in place of the SDK's `hashAttributes`, which every
 * AttributeHashMap (the per-instrument series maps) reads when it is constructed: call before
 * the MeterProvider creates instruments. Works bundled and unbundled alike (the SDK's module
 * objects are the same either way). Checked first, left alone if anything differs from what
 * sdk-metrics 2.x does: the export must be a function hashing independently of key order, and
 * a fresh AttributeHashMap must call the replacement.
 * @example if (installFastAttributeHash() === 'unsupported') diag.debug('SDK attribute hashing kept');
 */
export function installFastAttributeHash(modules?: {
  utils: UtilsModule;
  hashMap: HashMapModule;
}): InstallResult {
  let utils: UtilsModule;
  let hashMap: HashMapModule;
  try {
    utils = modules?.utils ?? (require('@opentelemetry/sdk-metrics/build/src/utils') as UtilsModule);
    hashMap =
      modules?.hashMap ?? (require('@opentelemetry/sdk-metrics/build/src/state/HashMap') as HashMapModule);
  } catch {
    return 'unsupported';
  }
  const original = utils.hashAttributes;
  if (typeof original !== 'function') return 'unsupported';
  if ((original as unknown as Record<symbol, unknown>)[MARK] !== undefined) return 'already';
  const AttributeHashMap = hashMap.AttributeHashMap;
  if (typeof AttributeHashMap !== 'function') return 'unsupported';
  try {
    const h = original as HashFn;
    const a = h({ a: 1, b: 'x' });
    if (typeof a !== 'string' || a !== h({ b: 'x', a: 1 }) || a === h({ a: 1, b: 'y' })) return 'unsupported';
  } catch {
    return 'unsupported';
  }
  const cached = createCachedHash(original as HashFn);
  // A probe map must hash through the export as it is at construction time.
  let called = false;
  const probe = (attributes: Attributes) => {
    called = true;
    return cached(attributes);
  };
  try {
    utils.hashAttributes = probe;
    const map = new (AttributeHashMap as new () => { get(key: Attributes): unknown })();
    map.get({ probe: 1 });
    utils.hashAttributes = called ? cached : original;
  } catch {
    called = false;
    try {
      utils.hashAttributes = original;
    } catch {
      // Not writable: nothing was replaced.
    }
  }
  return called && utils.hashAttributes === cached ? 'installed' : 'unsupported';
}
