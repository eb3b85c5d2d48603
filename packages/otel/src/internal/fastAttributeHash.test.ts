import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { createCachedHash, type HashFn, installFastAttributeHash } from './fastAttributeHash';

const sdkUtils = require('@opentelemetry/sdk-metrics/build/src/utils') as { hashAttributes: HashFn };
const sdkHashMap = require('@opentelemetry/sdk-metrics/build/src/state/HashMap') as {
  AttributeHashMap: new () => unknown;
};
// The SDK's own function, kept before anything here replaces it.
const canonical = sdkUtils.hashAttributes;

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

type Point = { attributes: Attributes; value: unknown };
async function pointsOf(reader: Reader, name: string): Promise<Point[]> {
  const { resourceMetrics } = await reader.collect();
  const m = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((x) => x.descriptor.name === name);
  return ((m?.dataPoints ?? []) as DataPoint<unknown>[]).map((p) => ({
    attributes: p.attributes,
    value: p.value,
  }));
}

/** A deterministic pseudo-random sequence (xorshift), so a failure names its seed. */
function rng(seed: number) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const VALUES: unknown[] = ['a', 'b', '1', 1, 2, 0, -0, Number.NaN, true, false, 'true', null, undefined, ''];
const KEYS = ['http.route', 'db.operation.name', 'outcome', '2', 'a'];

function randomAttributes(next: () => number): Attributes {
  const keys = KEYS.filter(() => next() < 0.6);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [keys[i], keys[j]] = [keys[j] as string, keys[i] as string];
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = VALUES[Math.floor(next() * VALUES.length)];
  return out as Attributes;
}

describe('createCachedHash', () => {
  it('gives the SDK hash of every attribute set, first sight or not, in any key order', () => {
    const cached = createCachedHash(canonical);
    const next = rng(20240611);
    for (let i = 0; i < 5000; i++) {
      const a = randomAttributes(next);
      expect(cached(a)).toBe(canonical(a));
    }
  });

  it('two key orders give one hash; a mutated object gives the hash of its new content', () => {
    const cached = createCachedHash(canonical);
    const ab = cached({ a: 'x', b: 1 });
    expect(cached({ b: 1, a: 'x' })).toBe(ab);
    const o: Record<string, string | number> = { a: 'x', b: 1 };
    expect(cached(o)).toBe(ab);
    o.b = 2;
    expect(cached(o)).toBe(canonical({ a: 'x', b: 2 }));
    o.c = 'new';
    expect(cached(o)).toBe(canonical({ a: 'x', b: 2, c: 'new' }));
    delete o.c;
    expect(cached(o)).toBe(canonical({ a: 'x', b: 2 }));
  });

  it('never memoises array values (they can change in place) and stays right past its node bound', () => {
    const calls: Attributes[] = [];
    const counting: HashFn = (a) => {
      calls.push(a);
      return canonical(a);
    };
    const cached = createCachedHash(counting, 3);
    const arr = ['x'];
    expect(cached({ list: arr })).toBe(canonical({ list: ['x'] }));
    arr.push('y');
    expect(cached({ list: arr })).toBe(canonical({ list: ['x', 'y'] }));
    expect(calls).toHaveLength(2);
    // Bound of 3 nodes: { a, b } takes 2, { c } takes 1; { d } no longer fits.
    cached({ a: 1, b: 1 });
    cached({ c: 1 });
    const before = calls.length;
    expect(cached({ a: 1, b: 1 })).toBe(canonical({ a: 1, b: 1 }));
    expect(calls.length).toBe(before);
    expect(cached({ d: 1 })).toBe(canonical({ d: 1 }));
    expect(cached({ d: 1 })).toBe(canonical({ d: 1 }));
    expect(calls.length).toBe(before + 2);
  });
});

describe('installFastAttributeHash: version guard', () => {
  const fakeHashMap = (utils: { hashAttributes: unknown }) => ({
    AttributeHashMap: class {
      _hash = utils.hashAttributes as HashFn;
      get(key: Attributes) {
        return this._hash(key);
      }
    },
  });

  it('installs over a function that hashes independently of key order, once', () => {
    const utils: { hashAttributes: unknown } = { hashAttributes: canonical };
    expect(installFastAttributeHash({ utils, hashMap: fakeHashMap(utils) })).toBe('installed');
    expect(utils.hashAttributes).not.toBe(canonical);
    const installed = utils.hashAttributes;
    expect(installFastAttributeHash({ utils, hashMap: fakeHashMap(utils) })).toBe('already');
    expect(utils.hashAttributes).toBe(installed);
  });

  it('leaves the SDK alone when its hash is not what it expects', () => {
    const orderSensitive = (a: Attributes) => JSON.stringify(a);
    const utils: { hashAttributes: unknown } = { hashAttributes: orderSensitive };
    expect(installFastAttributeHash({ utils, hashMap: fakeHashMap(utils) })).toBe('unsupported');
    expect(utils.hashAttributes).toBe(orderSensitive);
    const missing: { hashAttributes: unknown } = { hashAttributes: undefined };
    expect(installFastAttributeHash({ utils: missing, hashMap: fakeHashMap(missing) })).toBe('unsupported');
  });

  it('restores the SDK function when its maps do not read the export (and survives a read-only one)', () => {
    const utils: { hashAttributes: unknown } = { hashAttributes: canonical };
    const captured = canonical;
    const hashMap = {
      AttributeHashMap: class {
        get(key: Attributes) {
          return captured(key);
        }
      },
    };
    expect(installFastAttributeHash({ utils, hashMap })).toBe('unsupported');
    expect(utils.hashAttributes).toBe(canonical);
    const frozen = Object.freeze({ hashAttributes: canonical });
    expect(installFastAttributeHash({ utils: frozen, hashMap: fakeHashMap(frozen) })).toBe('unsupported');
    expect(frozen.hashAttributes).toBe(canonical);
  });
});

describe('installFastAttributeHash on the real SDK', () => {
  // Built before the install: its series maps keep the SDK's own hashing (the reference).
  const refReader = new Reader();
  const ref = new MeterProvider({ readers: [refReader] }).getMeter('t');
  const refInstruments = {
    h: ref.createHistogram('h'),
    c: ref.createCounter('c'),
    u: ref.createUpDownCounter('u'),
  };
  let reader: Reader;
  let instruments: typeof refInstruments;

  beforeAll(() => {
    expect(installFastAttributeHash()).toBe('installed');
    reader = new Reader();
    const m = new MeterProvider({ readers: [reader] }).getMeter('t');
    instruments = { h: m.createHistogram('h'), c: m.createCounter('c'), u: m.createUpDownCounter('u') };
  });

  it('is what new series maps use', () => {
    expect(sdkUtils.hashAttributes).not.toBe(canonical);
    const map = new sdkHashMap.AttributeHashMap() as { _hash?: unknown };
    expect(map._hash).toBe(sdkUtils.hashAttributes);
    expect(installFastAttributeHash()).toBe('already');
  });

  it('histograms, counters and up/down counters: the same series and values as the SDK alone', async () => {
    const next = rng(7);
    for (let i = 0; i < 3000; i++) {
      const a = randomAttributes(next);
      // A fresh copy for the reference: the SDK keeps the first object of a series as its attributes.
      const copy = { ...a };
      const v = Math.floor(next() * 100);
      const which = (['h', 'c', 'u'] as const)[i % 3] as 'h' | 'c' | 'u';
      if (which === 'h') {
        instruments.h.record(v, a);
        refInstruments.h.record(v, copy);
      } else {
        instruments[which].add(v, a);
        refInstruments[which].add(v, copy);
      }
    }
    const key = (p: Point) => canonical(p.attributes);
    for (const name of ['h', 'c', 'u']) {
      const got = (await pointsOf(reader, name)).sort((x, y) => key(x).localeCompare(key(y)));
      const want = (await pointsOf(refReader, name)).sort((x, y) => key(x).localeCompare(key(y)));
      expect(got.length).toBeGreaterThan(10);
      expect(got).toEqual(want);
    }
  });

  it('key order and mutation: one series per content', async () => {
    const r = new Reader();
    const h = new MeterProvider({ readers: [r] }).getMeter('t').createHistogram('d');
    h.record(1, { route: '/a', method: 'GET' });
    h.record(2, { method: 'GET', route: '/a' });
    h.record(3, { route: '/b', method: 'GET' });
    const o: Record<string, string> = { method: 'GET', route: '/a' };
    h.record(4, o);
    o.route = '/b';
    h.record(5, o);
    const points = await pointsOf(r, 'd');
    const sum = (route: string) =>
      (points.find((p) => p.attributes.route === route)?.value as { sum: number; count: number }) ?? {};
    expect(points).toHaveLength(2);
    expect(sum('/a')).toMatchObject({ sum: 7, count: 3 });
    expect(sum('/b')).toMatchObject({ sum: 8, count: 2 });
  });
});
