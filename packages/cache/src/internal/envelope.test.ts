import fc from 'fast-check';
import { decodeHeader, encodeEntry, headerTags } from './envelope';
import { Lru } from './lru';

test('encode/decode round-trips any payload and tags', () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 12 }).filter((s) => !s.includes('|')),
      fc.nat(),
      fc.nat(),
      fc.nat(),
      fc.constantFrom('v' as const, 'u' as const, 'T' as const),
      fc.constantFrom('j' as const, 'r' as const, 'c' as const, '-' as const),
      fc.array(fc.string(), { maxLength: 4 }),
      fc.string(),
      (id, a, b, c, kind, codec, tags, payload) => {
        const [f, s, g] = [a, a + b, a + b + c];
        const h = decodeHeader(encodeEntry(id, f, s, g, kind, codec, tags, payload));
        expect(h).toBeDefined();
        expect(h).toMatchObject({ id, fresh: f, stale: s, grace: g, kind, codec, payload });
        expect(headerTags(h as NonNullable<typeof h>) ?? []).toEqual(tags.length > 0 ? tags : []);
      },
    ),
  );
});

test('anything that is not an m1 envelope decodes to undefined instead of throwing', () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      const h = decodeHeader(s);
      if (h !== undefined) expect(s.startsWith('m1|')).toBe(true);
    }),
  );
  expect(decodeHeader('m1|x|5|4|6|vj|0|')).toBeUndefined(); // stale before fresh
  expect(decodeHeader('m1|x|1|2|3|vj|-1|')).toBeUndefined();
  expect(decodeHeader('m1|x|a|2|3|vj|0|')).toBeUndefined();
});

test('Lru evicts least recently used first, by count and by bytes', () => {
  const e = (size: number) => ({
    value: size,
    fresh: Number.MAX_SAFE_INTEGER,
    stale: Number.MAX_SAFE_INTEGER,
    grace: Number.MAX_SAFE_INTEGER,
    expires: Number.MAX_SAFE_INTEGER,
    size,
    negative: false,
    tags: undefined,
  });
  const l = new Lru(3, 100);
  l.set('a', e(10));
  l.set('b', e(10));
  l.set('c', e(10));
  l.get('a', 0);
  l.set('d', e(10));
  expect(l.get('b', 0)).toBeUndefined();
  expect(l.size).toBe(3);
  l.set('big', e(80)); // 30 + 80 > 100: evicts from the LRU end until it fits
  expect(l.bytes).toBeLessThanOrEqual(100);
  expect(l.get('big', 0)).toBeDefined();
  l.set('huge', e(101)); // larger than the budget: not stored
  expect(l.get('huge', 0)).toBeUndefined();
  expect(l.deleteWhere((k) => k === 'big')).toBe(1);
});

test('Lru finds copies by tag through its index, which follows overwrites, evictions and deletes', () => {
  const e = (tags?: string[]) => ({
    value: 1,
    fresh: 10,
    stale: 10,
    grace: 10,
    expires: 10,
    size: 1,
    negative: false,
    tags,
  });
  const l = new Lru(3, 100);
  l.set('a', e(['t1', 't2']));
  l.set('b', e(['t2']));
  l.set('c', e());
  l.set('a', e(['t3'])); // overwritten: no longer under t1/t2
  expect(l.deleteTagged(['t1'])).toBe(0);
  expect(l.deleteTagged(['t2', 'unknown'])).toBe(1);
  expect(l.get('b', 0)).toBeUndefined();
  expect(l.get('a', 0)).toBeDefined();
  l.set('d', e(['t4']));
  l.set('f', e(['t4'])); // evicts the least recently used ('c')
  l.set('g', e(['t4'])); // evicts 'a'
  expect(l.deleteTagged(['t3'])).toBe(0);
  l.delete('d');
  expect(l.deleteTagged(['t4'])).toBe(2);
  expect(l.size).toBe(0);
  // A property check against the full scan it replaces.
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5'), fc.subarray(['x', 'y', 'z']))),
      fc.subarray(['x', 'y', 'z']),
      (writes, drop) => {
        const a = new Lru(4, 1000);
        const b = new Lru(4, 1000);
        for (const [k, tags] of writes) {
          a.set(k, e(tags));
          b.set(k, e(tags));
        }
        const n = a.deleteTagged(drop);
        expect(n).toBe(b.deleteWhere((_k, x) => x.tags?.some((t) => drop.includes(t)) === true));
        expect(a.size).toBe(b.size);
      },
    ),
  );
});
