import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export type Client = ReturnType<typeof createClient>;

/** A connected client with an error listener (an unhandled 'error' event would kill jest). */
export async function connect(
  url = REDIS_URL,
  extra: Parameters<typeof createClient>[0] = {},
): Promise<Client> {
  const c = createClient({ url, ...extra });
  c.on('error', () => {});
  await c.connect();
  return c as Client;
}

/** Unique key prefix on the shared Redis for one test. */
export function uniquePrefix(): string {
  return `test:cache:${randomBytes(5).toString('hex')}:`;
}

/** Removes every key under `prefix` with SCAN + DEL (never FLUSH*). */
export async function cleanup(c: Client, prefix: string): Promise<void> {
  for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length > 0) await c.del(keys);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A promise you resolve from outside, to hold a loader open while something else happens. */
export function gate<T = void>(): { promise: Promise<T>; open: (v: T) => void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    open = r;
  });
  return { promise, open };
}

/**
 * A view of `client` whose replies can be held back after Redis has executed the command, as
 * when a reply is slow to arrive while pub/sub messages (on the bus's own connection, which
 * `duplicate()` gives unchanged) keep flowing. `hold()` holds every reply from then on; `held`
 * counts the replies waiting; `release()` delivers them and stops holding.
 */
export function holdReplies(client: Client): {
  client: Client;
  hold(): void;
  readonly held: number;
  release(): void;
} {
  let holding = false;
  const waiting: Array<() => void> = [];
  const later = (deliver: () => void) => waiting.push(deliver);
  const wrap = (target: object): object =>
    new Proxy(target, {
      get(t, prop) {
        const v = Reflect.get(t, prop, t) as unknown;
        if (typeof v !== 'function') return v;
        if (prop === 'duplicate') return v.bind(t);
        if (prop === 'withCommandOptions') return (...a: unknown[]) => wrap(v.apply(t, a) as object);
        return (...args: unknown[]) => {
          const r = v.apply(t, args) as unknown;
          if (!(r instanceof Promise)) return r;
          return r.then(
            (x) => (holding ? new Promise((res) => later(() => res(x))) : x),
            (e) => (holding ? new Promise((_, rej) => later(() => rej(e))) : Promise.reject(e)),
          );
        };
      },
    });
  return {
    client: wrap(client) as Client,
    hold() {
      holding = true;
    },
    get held() {
      return waiting.length;
    },
    release() {
      holding = false;
      for (const deliver of waiting.splice(0)) deliver();
    },
  };
}
