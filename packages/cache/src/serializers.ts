/**
 * Turns values into the payload string stored in Redis and back. `deserialize` may throw on
 * bad input: the cache then treats the entry as corrupt (a miss, deleted and counted).
 */
export type Serializer = {
  serialize(value: unknown): string;
  deserialize(text: string): unknown;
};

/**
 * Plain JSON. Fast, but `Date` comes back as a string and `bigint` cannot be stored.
 * @example createCache({ redis, name: 'users', defaultTtl: 60_000, serializer: jsonSerializer });
 */
export const jsonSerializer: Serializer = {
  serialize: (value) => JSON.stringify(value),
  deserialize: (text) => JSON.parse(text),
};

// A NUL key cannot appear in SQL rows or ordinary JSON documents, so it marks our wrappers.
const MARK = '\u0000';

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Date) return { [MARK]: 'd', v: String(raw.getTime()) };
  if (raw instanceof Uint8Array) return { [MARK]: 'b', v: Buffer.from(raw).toString('base64') };
  if (typeof value === 'bigint') return { [MARK]: 'n', v: value.toString() };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const tag = (value as Record<string, unknown>)[MARK];
    const v = (value as Record<string, unknown>).v;
    if (typeof tag === 'string' && typeof v === 'string') {
      if (tag === 'd') return new Date(Number(v));
      if (tag === 'b') return Buffer.from(v, 'base64');
      if (tag === 'n') return BigInt(v);
    }
  }
  return value;
}

/**
 * JSON that keeps `Date`, `Buffer`/`Uint8Array` (as Buffer) and `bigint` intact, so a cached
 * pg row looks exactly like a fresh one (timestamps stay Dates, bytea stays a Buffer).
 * About 2–3× slower than plain JSON; `wrapQuery` uses it by default.
 * @example createCache({ redis, name: 'rows', defaultTtl: 30_000, serializer: richJsonSerializer });
 */
export const richJsonSerializer: Serializer = {
  serialize: (value) => JSON.stringify(value, replacer),
  deserialize: (text) => JSON.parse(text, reviver),
};
