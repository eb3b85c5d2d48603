import type { Store, Subscriber } from './store';

/** One invalidation broadcast to every process sharing the cache. */
export type BusMessage = { o: string; k?: string[]; t?: string[]; p?: string };

export type BusHandlers = {
  message(m: BusMessage): void;
  /** The subscription came back after a disconnect: messages may have been missed. */
  resubscribed(): void;
  error(err: unknown): void;
};

function parse(raw: string): BusMessage | undefined {
  try {
    const m = JSON.parse(raw) as Partial<BusMessage>;
    if (m === null || typeof m !== 'object' || typeof m.o !== 'string') return undefined;
    const strings = (x: unknown) =>
      x === undefined || (Array.isArray(x) && x.every((s) => typeof s === 'string'));
    if (!strings(m.k) || !strings(m.t) || (m.p !== undefined && typeof m.p !== 'string')) return undefined;
    return m as BusMessage;
  } catch {
    return undefined;
  }
}

/**
 * Redis pub/sub on a duplicate connection we own: every process drops its L1 copy when
 * another one invalidates. node-redis resubscribes by itself after a reconnect; we then drop
 * all of L1, because messages sent while we were away are lost.
 */
export class Bus {
  readonly #sub: Subscriber;
  readonly #channel: string;
  readonly ready: Promise<void>;
  #connectedOnce = false;
  #closed = false;
  dropped = 0;

  constructor(store: Store, channel: string, origin: string, h: BusHandlers) {
    this.#channel = channel;
    const sub = store.duplicate();
    this.#sub = sub;
    // An 'error' event without a listener would crash the process.
    sub.on('error', (err) => h.error(err));
    sub.on('ready', () => {
      if (this.#connectedOnce) h.resubscribed();
    });
    const listener = (raw: string) => {
      const m = parse(raw);
      if (m === undefined) {
        this.dropped++;
        return;
      }
      if (m.o !== origin) h.message(m);
    };
    this.ready = (async () => {
      await sub.connect();
      // close() while connecting cannot stop the connection: drop it once it is up.
      if (this.#closed) return this.#shut();
      await sub.subscribe(channel, listener);
      if (this.#closed) return this.#shut();
      this.#connectedOnce = true;
    })();
    // Redis may be down at start: the cache works without the bus, and node-redis keeps retrying.
    this.ready.catch((err) => h.error(err));
  }

  get channel(): string {
    return this.#channel;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#shut();
  }

  async #shut(): Promise<void> {
    try {
      if (typeof this.#sub.destroy === 'function') this.#sub.destroy();
      else if (typeof this.#sub.close === 'function') await this.#sub.close();
      else await this.#sub.quit?.();
    } catch {
      // Closing a connection that never opened is fine.
    }
  }
}
