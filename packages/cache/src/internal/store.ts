import type { Script } from './scripts';

type EvalOptions = { keys: string[]; arguments: string[] };
type SetOptions = { expiration?: { type: 'PX'; value: number }; condition?: 'NX' };

/** The node-redis commands the cache uses (a standalone client and a node client of a cluster). */
export type RedisCommandsLike = {
  get(key: string): Promise<unknown>;
  set(key: string, value: string, options?: SetOptions): Promise<unknown>;
  unlink(keys: string | string[]): Promise<unknown>;
  evalSha(sha: string, options: EvalOptions): Promise<unknown>;
  eval(script: string, options: EvalOptions): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  readonly isReady: boolean;
};

/** A connected node-redis v5/v6 client (`createClient()`). */
export type RedisClientLike = RedisCommandsLike & {
  mGet(keys: string[]): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  scan(cursor: string, options: { MATCH: string; COUNT: number }): Promise<unknown>;
  multi(): {
    set(key: string, value: string, options?: SetOptions): unknown;
    execAsPipeline(): Promise<unknown>;
  };
  duplicate(): unknown;
};

/** A connected node-redis v5/v6 cluster client (`createCluster()`). */
export type RedisClusterLike = RedisCommandsLike & {
  readonly masters: readonly unknown[];
  nodeClient(node: never): Promise<unknown>;
  duplicate(): unknown;
};

/** Subscriber side of the invalidation bus (a duplicate of the user's client we own). */
export type Subscriber = {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  destroy?(): void;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  readonly isReady: boolean;
};

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

const DEL_CHUNK = 500;

/**
 * The few Redis operations the cache needs, over a standalone client or a cluster client.
 * On a cluster every multi-key command stays inside one slot (see KeySpace); keys of
 * different slots are sent as separate commands in the same tick, which node-redis pipelines
 * per node.
 */
export class Store {
  readonly cluster: boolean;
  readonly client: RedisClientLike | RedisClusterLike;
  /** What commands are sent through: the client, or a view of it without node-redis' own command timer. */
  readonly cmd: RedisClientLike | RedisClusterLike;

  /**
   * `ownTimeout`: every command is already bounded by the cache's policy. node-redis (6.3.1 here)
   * arms an AbortSignal.timeout (5 s by default) for each command, ≈ 5.5 µs of CPU per GET in the
   * cache bench, more than the cache's own work on a hit; with our own (shorter) timeout in front
   * it can never fire first, so the cache's commands go through a `withCommandOptions({ timeout: 0 })`
   * view of the client. The client itself, and the user's other commands on it, are untouched.
   */
  constructor(client: RedisClientLike | RedisClusterLike, opts: { ownTimeout?: boolean } = {}) {
    this.client = client;
    this.cluster = Array.isArray((client as RedisClusterLike).masters);
    const view = (client as { withCommandOptions?: (o: { timeout: number }) => unknown }).withCommandOptions;
    this.cmd =
      opts.ownTimeout === true && typeof view === 'function'
        ? (view.call(client, { timeout: 0 }) as RedisClientLike | RedisClusterLike)
        : client;
  }

  ready(): boolean {
    return this.client.isReady === true;
  }

  get(key: string): Promise<string | null> {
    // GET replies a string or null with node-redis' default type mapping (RESP2 and RESP3).
    return this.cmd.get(key) as Promise<string | null>;
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    if (!this.cluster) {
      const r = (await (this.cmd as RedisClientLike).mGet(keys)) as Array<unknown>;
      return r.map((v) => (typeof v === 'string' ? v : null));
    }
    return Promise.all(keys.map((k) => this.get(k)));
  }

  async set(key: string, value: string, px: number): Promise<void> {
    await this.cmd.set(key, value, { expiration: { type: 'PX', value: px } });
  }

  async setNx(key: string, value: string, px: number): Promise<boolean> {
    const r = await this.cmd.set(key, value, { expiration: { type: 'PX', value: px }, condition: 'NX' });
    return r === 'OK';
  }

  /** Several untagged sets as one pipeline (standalone) or one command per key in the same tick (cluster). */
  async setMany(items: Array<{ key: string; value: string; px: number }>): Promise<void> {
    if (items.length === 0) return;
    if (!this.cluster) {
      const m = (this.cmd as RedisClientLike).multi();
      for (const it of items) m.set(it.key, it.value, { expiration: { type: 'PX', value: it.px } });
      await m.execAsPipeline();
      return;
    }
    await Promise.all(items.map((it) => this.set(it.key, it.value, it.px)));
  }

  async del(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    if (!this.cluster) {
      for (let i = 0; i < keys.length; i += DEL_CHUNK) await this.cmd.unlink(keys.slice(i, i + DEL_CHUNK));
      return;
    }
    await Promise.all(keys.map((k) => this.cmd.unlink(k)));
  }

  async eval(s: Script, keys: string[], args: string[]): Promise<unknown> {
    const options = { keys, arguments: args };
    try {
      return await this.cmd.evalSha(s.sha, options);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return this.cmd.eval(s.source, options);
    }
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.cmd.publish(channel, message);
  }

  /**
   * Deletes every key matching `pattern` with SCAN (never KEYS), on every master of a cluster.
   * `run` wraps each command (the cache's timeout + breaker), so a Redis that dies mid-scan
   * fails the sweep instead of leaving it queued.
   */
  async scanDelete(pattern: string, run: <T>(fn: () => Promise<T>) => Promise<T>): Promise<number> {
    let n = 0;
    const sweep = async (node: RedisClientLike) => {
      let cursor = '0';
      do {
        const reply = (await run(() => node.scan(cursor, { MATCH: pattern, COUNT: 1000 }))) as {
          cursor: unknown;
          keys: unknown[];
        };
        cursor = String(reply.cursor);
        const keys = reply.keys.map(String);
        if (keys.length > 0) {
          await run(() => this.del(keys));
          n += keys.length;
        }
      } while (cursor !== '0');
    };
    if (!this.cluster) {
      await sweep(this.client as RedisClientLike);
    } else {
      const c = this.client as RedisClusterLike;
      for (const master of c.masters) await sweep((await c.nodeClient(master as never)) as RedisClientLike);
    }
    return n;
  }

  duplicate(): Subscriber {
    return this.client.duplicate() as Subscriber;
  }
}
