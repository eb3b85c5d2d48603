import { type LoggerLike, logWarn } from './internal/telemetry';
import { presets } from './presets';
import type { ExecuteOptions, Policy } from './types';

/**
 * The parts of a node-redis client the wrapper uses (a node-redis v5/v6 client fits).
 * @example const c: RedisClientLike = createClient();
 */
export type RedisClientLike = {
  readonly isReady: boolean;
  /** False once the app closed the client (`close`, `destroy`, `quit`); true while reconnecting. */
  readonly isOpen?: boolean;
  withAbortSignal(signal: AbortSignal): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  listenerCount(event: string): number;
};

/**
 * Options for {@link resilientRedis}.
 * @example resilientRedis(client, { policy: presets.redis({ timeoutMs: 100 }) })
 */
export type ResilientRedisOptions = {
  /** Policy for every command. Default `presets.redis({ name: 'redis' })`. */
  policy?: Policy;
  /** Which commands may run twice. Default: reads and state-setting writes (GET, SET without NX/GET, DEL, HSET…). */
  idempotent?: (command: string, args: readonly unknown[]) => boolean;
  /**
   * Queue commands while the client reconnects (node-redis's default) instead of failing them
   * at once. Default false: a cache should fail fast and route around Redis. When true, a
   * queued command whose call times out is removed from the queue (node-redis `abortSignal`),
   * so it never runs late.
   */
  offlineQueue?: boolean;
  /** Logger for client errors when the app registered no `error` listener. */
  logger?: LoggerLike;
};

// Commands whose repetition leaves the same state (uppercase, without separators).
const IDEMPOTENT_COMMANDS = new Set(
  (
    'GET MGET GETRANGE STRLEN EXISTS TTL PTTL EXPIRETIME PEXPIRETIME TYPE KEYS SCAN SSCAN HSCAN ZSCAN ' +
    'HGET HMGET HGETALL HKEYS HVALS HLEN HEXISTS HSTRLEN HRANDFIELD LRANGE LLEN LINDEX LPOS ' +
    'SMEMBERS SISMEMBER SMISMEMBER SCARD SRANDMEMBER SINTER SUNION SDIFF SINTERCARD ' +
    'ZRANGE ZRANGEBYSCORE ZREVRANGE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZRANK ZREVRANK ZSCORE ' +
    'ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZINTER ZUNION ZDIFF ZRANDMEMBER XRANGE XREVRANGE XLEN ' +
    'PING ECHO DBSIZE INFO TIME BITCOUNT GETBIT BITPOS PFCOUNT GEOPOS GEODIST GEOSEARCH GEOHASH ' +
    'DUMP RANDOMKEY TOUCH OBJECTENCODING OBJECTFREQ OBJECTIDLETIME MEMORYUSAGE ' +
    'SET SETEX PSETEX MSET DEL UNLINK EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST ' +
    'HSET HMSET HDEL SADD SREM ZADD ZREM PFADD SETBIT JSONGET JSONMGET JSONSET JSONDEL'
  ).split(' '),
);

// Options that make a write's result depend on the state it finds (second attempt differs).
const CONDITIONAL = /^(?:NX|XX|GET|GT|LT|INCR|CH)$/i;

function hasConditionalOption(args: readonly unknown[]): boolean {
  for (const a of args) {
    if (typeof a === 'string' && CONDITIONAL.test(a)) return true;
    if (a !== null && typeof a === 'object' && !Array.isArray(a) && !Buffer.isBuffer(a)) {
      for (const k of Object.keys(a)) {
        const v = (a as Record<string, unknown>)[k];
        if (k === 'condition' && v) return true;
        if (CONDITIONAL.test(k) && v) return true;
      }
    }
  }
  return false;
}

/**
 * Default idempotency rule for a command name (any case, `hGet` or `HGET`) and its arguments.
 * @example isIdempotentRedisCommand('set', ['k', 'v', { NX: true }]) // false: a repeat would answer differently
 */
export function isIdempotentRedisCommand(command: string, args: readonly unknown[] = []): boolean {
  const name = command.replace(/[._\s]/g, '').toUpperCase();
  if (!IDEMPOTENT_COMMANDS.has(name)) return false;
  return !hasConditionalOption(args);
}

// Client members that are not plain request/response commands and must not be wrapped.
const PASS_THROUGH = new Set([
  'multi',
  'MULTI',
  'quit',
  'QUIT',
  'select',
  'SELECT',
  'watch',
  'WATCH',
  'unwatch',
  'UNWATCH',
  'monitor',
  'MONITOR',
  'reAuthenticate',
  'subscribe',
  'unsubscribe',
  'pSubscribe',
  'pUnsubscribe',
  'sSubscribe',
  'sUnsubscribe',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'PSUBSCRIBE',
  'PUNSUBSCRIBE',
  'SSUBSCRIBE',
  'SUNSUBSCRIBE',
  'scanIterator',
  'hScanIterator',
  'sScanIterator',
  'zScanIterator',
  'executeIsolated',
]);

// `Multi`, `Pipeline`…: classes the client instantiates through `this`, not commands.
const CLASS_NAME = /^[A-Z][a-z]/;

/** Names defined on the base client class and above (lifecycle, events): not commands. */
function baseMemberNames(client: object): Set<string> {
  const names = new Set<string>();
  let proto: object | null = Object.getPrototypeOf(client);
  // The base class is the first prototype defining `connect`; commands live below it.
  while (proto !== null && !Object.hasOwn(proto, 'connect')) proto = Object.getPrototypeOf(proto);
  while (proto !== null) {
    for (const n of Object.getOwnPropertyNames(proto)) names.add(n);
    proto = Object.getPrototypeOf(proto);
  }
  names.delete('sendCommand');
  return names;
}

class ClientOfflineError extends Error {
  constructor() {
    // Same name and message node-redis uses with `disableOfflineQueue`, so classifiers treat
    // it as what it is: Redis unreachable, command not sent.
    super('The client is offline');
    this.name = 'ClientOfflineError';
  }
}

const IDEMPOTENT: ExecuteOptions = { idempotent: true };
const NOT_IDEMPOTENT: ExecuteOptions = { idempotent: false };

/**
 * Wraps a node-redis (v5/v6) client so every command method (`get`, `SET`, `hGet`,
 * `sendCommand`…) runs under a policy (by default `presets.redis()`: short timeout, one quick
 * retry for idempotent commands, a breaker that fails fast while Redis is down) without changing
 * the client's API. While the client is reconnecting, commands fail at once instead of queueing
 * (see `offlineQueue`). Transactions (`multi`), pub/sub, `select`, `watch` and iterators pass
 * through unwrapped. Adds an `error` listener if the app has none, so a lost connection is
 * logged, not fatal.
 * @example
 * const redis = resilientRedis(await createClient({ url }).connect());
 * const v = await redis.get('user:1'); // BrokenCircuitError within microseconds while Redis is down
 */
export function resilientRedis<C extends RedisClientLike>(client: C, options: ResilientRedisOptions = {}): C {
  const policy = options.policy ?? presets.redis({ name: 'redis' });
  const idem = options.idempotent ?? isIdempotentRedisCommand;
  const offlineQueue = options.offlineQueue ?? false;
  const base = baseMemberNames(client);
  const wrappers = new Map<PropertyKey, unknown>();

  if (client.listenerCount('error') === 0) {
    let last = 0;
    client.on('error', (err) => {
      // Reconnect attempts repeat the same error: one line per 10 s is enough.
      const t = Date.now();
      if (t - last < 10_000) return;
      last = t;
      logWarn(options.logger, 'Redis client error (reconnecting)', {
        'resilience.name': policy.name,
        'error.message': err.message,
      });
    });
  }

  function wrap(name: string, fn: (...a: unknown[]) => unknown): (...a: unknown[]) => Promise<unknown> {
    const isSend = name === 'sendCommand';
    return (...args: unknown[]) => {
      const command = isSend ? String((args[0] as unknown[] | undefined)?.[0] ?? '') : name;
      const cmdArgs = isSend ? ((args[0] as unknown[] | undefined) ?? []).slice(1) : args;
      return policy.execute(
        (ctx) => {
          // A client the app closed is not an outage: let node-redis answer (ClientClosedError,
          // not retried) instead of reporting it offline (retried, and counted by the breaker).
          if (client.isReady || client.isOpen === false) return fn.apply(client, args);
          if (!offlineQueue) throw new ClientOfflineError();
          // Queued until reconnect: let an expired call take its command back out of the queue.
          return fn.apply(client.withAbortSignal(ctx.signal), args);
        },
        idem(command, cmdArgs) ? IDEMPOTENT : NOT_IDEMPOTENT,
      );
    };
  }

  return new Proxy(client, {
    get(target, prop, receiver) {
      const cached = wrappers.get(prop);
      if (cached !== undefined) return cached;
      const value = Reflect.get(target, prop, receiver);
      if (
        typeof prop !== 'string' ||
        typeof value !== 'function' ||
        PASS_THROUGH.has(prop) ||
        base.has(prop) ||
        CLASS_NAME.test(prop)
      ) {
        return value;
      }
      const w = wrap(prop, value as (...a: unknown[]) => unknown);
      wrappers.set(prop, w);
      return w;
    },
  });
}
