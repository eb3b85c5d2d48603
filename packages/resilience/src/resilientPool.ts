import { abortReason, isAborted, onAbort } from './internal/abortHooks';
import { type LoggerLike, logWarn } from './internal/telemetry';
import { presets } from './presets';
import type { ExecuteContext, ExecuteOptions, Policy } from './types';

/**
 * The parts of a pg PoolClient the wrapper uses.
 * @example const c: PoolClientLike = await pool.connect();
 */
export type PoolClientLike = {
  query(...args: unknown[]): Promise<unknown>;
  release(err?: Error | boolean): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
  processID?: number | null;
};

/**
 * The parts of a pg Pool the wrapper uses (a `pg.Pool` fits).
 * @example const p: PoolLike = new pg.Pool();
 */
export type PoolLike = {
  query(...args: never[]): unknown;
  connect(): Promise<PoolClientLike>;
  connect(callback: (err: Error | undefined, client: PoolClientLike | undefined) => void): void;
  options?: object;
  on(event: 'error', listener: (err: Error) => void): unknown;
  listenerCount(event: string): number;
};

/**
 * Options for {@link resilientPool}.
 * @example resilientPool(pool, { policy: presets.database({ timeoutMs: 2_000 }), idempotent: (sql) => sql.startsWith('UPSERT') })
 */
export type ResilientPoolOptions = {
  /** Policy for `pool.query` and `pool.connect`. Default `presets.database({ name: 'postgres' })`. */
  policy?: Policy;
  /**
   * Which statements may run twice (retried after a connection reset or a timeout). Default:
   * read-only statements (one SELECT without INTO, SHOW, VALUES, TABLE, and EXPLAIN or WITH
   * without a write).
   * Serialization failures, deadlocks and refused connections are retried whatever this says:
   * the statement did not take effect.
   */
  idempotent?: boolean | ((text: string) => boolean);
  /**
   * On a timeout (or the caller's abort), cancel the running statement on the server
   * (`pg_cancel_backend` from a short-lived connection). Default true.
   */
  cancelOnAbort?: boolean;
  /** Logger for idle-client errors. Default: the process logger. */
  logger?: LoggerLike;
};

const READ_ONLY = /^\s*(?:select|show|values|table)\b/i;
// WITH may hold a data-modifying CTE, and EXPLAIN ANALYZE runs the statement it explains.
const WRAPPER = /^\s*(?:with|explain)\b/i;
// EXPLAIN ANALYZE also runs CREATE TABLE AS and EXECUTE (a prepared statement may write).
const WRITES = /\b(?:insert|update|delete|merge|truncate|call|nextval|setval|create|execute)\b/i;
// SELECT … INTO creates a table.
const SELECT_WRITES = /\b(?:nextval|setval)\s*\(|\binto\b/i;
// A simple query may hold several statements; the later ones can be anything.
const MORE_STATEMENTS = /;\s*\S/;

/**
 * Default idempotency guess from the statement text: read-only statements only (a single
 * statement; when unsure, not read-only).
 * @example isReadOnlyStatement('SELECT 1') // true; isReadOnlyStatement('INSERT …') // false
 */
export function isReadOnlyStatement(text: string): boolean {
  if (MORE_STATEMENTS.test(text)) return false;
  if (READ_ONLY.test(text)) return !SELECT_WRITES.test(text);
  // WITH … SELECT … INTO and EXPLAIN ANALYZE SELECT … INTO create a table too.
  return WRAPPER.test(text) && !WRITES.test(text) && !SELECT_WRITES.test(text);
}

const IDEMPOTENT: ExecuteOptions = { idempotent: true };
const NOT_IDEMPOTENT: ExecuteOptions = { idempotent: false };
const noop = (): void => {};

function cancelBackend(pool: PoolLike, client: PoolClientLike): void {
  const pid = client.processID;
  const Ctor = (client as unknown as { constructor?: new (o: unknown) => CancelClient }).constructor;
  if (typeof pid !== 'number' || typeof Ctor !== 'function') return;
  try {
    const c = new Ctor({
      ...((pool.options as Record<string, unknown> | undefined) ?? {}),
      connectionTimeoutMillis: 2_000,
    });
    c.on('error', noop);
    c.connect()
      .then(() => c.query('SELECT pg_cancel_backend($1)', [pid]))
      .catch(noop)
      .finally(() => c.end().catch(noop));
  } catch {
    // Best effort: the timeout already answered the caller.
  }
}

type CancelClient = {
  on(e: 'error', l: () => void): void;
  connect(): Promise<unknown>;
  query(text: string, values: unknown[]): Promise<unknown>;
  end(): Promise<unknown>;
};

/**
 * Wraps a `pg.Pool` so that `pool.query(...)` and `pool.connect()` run under a policy (by
 * default `presets.database()`), without changing their API: same arguments, same results,
 * callbacks still work. A statement cut by the timeout is cancelled on the server. Clients taken
 * with `connect()` are not wrapped (a statement inside a transaction cannot be retried alone);
 * retry whole transactions with `policy.execute` instead. Adds an `error` listener so an idle
 * client killed by the server (`pg_terminate_backend`, failover) is logged, not fatal.
 * @example
 * const pool = resilientPool(new pg.Pool({ connectionString }));
 * const { rows } = await pool.query('SELECT * FROM memories WHERE user_id = $1', [userId]);
 */
export function resilientPool<P extends PoolLike>(pool: P, options: ResilientPoolOptions = {}): P {
  const policy = options.policy ?? presets.database({ name: 'postgres' });
  const cancel = options.cancelOnAbort ?? true;
  const idem = options.idempotent ?? isReadOnlyStatement;
  const idempotentFor = (text: string | undefined): ExecuteOptions =>
    (typeof idem === 'function' ? text !== undefined && idem(text) : idem) ? IDEMPOTENT : NOT_IDEMPOTENT;

  if (pool.listenerCount('error') === 0) {
    pool.on('error', (err) => {
      logWarn(options.logger, 'idle PostgreSQL client failed; the pool replaces it', {
        'resilience.name': policy.name,
        'error.message': err.message,
        'error.code': (err as { code?: string }).code,
      });
    });
  }

  type Checkout = { client: PoolClientLike; lost: Error | undefined; onError: (err: Error) => void };

  // The callback form of pool.connect() hands the client over synchronously, inside pg-pool's own
  // stack. With the promise form a server-side kill arriving in the same socket read as the
  // connection's ReadyForQuery would hit a checked-out client with no 'error' listener before our
  // continuation runs: an unhandled 'error' event (seen here with pg_terminate_backend).
  const checkout = (): Promise<Checkout> =>
    new Promise<Checkout>((resolve, reject) => {
      pool.connect((err, client) => {
        if (err || client === undefined) {
          reject(err ?? new Error('pool.connect returned no client'));
          return;
        }
        const co: Checkout = {
          client,
          lost: undefined,
          onError: (e: Error) => {
            co.lost = e;
          },
        };
        client.on('error', co.onError);
        resolve(co);
      });
    });

  const checkin = (co: Checkout, err?: unknown): void => {
    co.client.removeListener('error', co.onError);
    // pg's own pool.query discards the client after any error; do the same.
    const reason = err === undefined ? co.lost : err instanceof Error ? err : true;
    co.client.release(reason);
  };

  async function attempt(ctx: ExecuteContext, args: unknown[]): Promise<unknown> {
    const co = await checkout();
    if (isAborted(ctx)) {
      checkin(co);
      throw abortReason(ctx);
    }
    let cancelled = false;
    const off = cancel
      ? onAbort(ctx, () => {
          cancelled = true;
          cancelBackend(pool, co.client);
        })
      : noop;
    try {
      const result = await co.client.query(...args);
      off();
      // A cancel is on its way to this backend (it connects first): if the statement finished
      // meanwhile, the cancel would hit whatever the client runs next. Never reuse the client.
      checkin(co, cancelled ? new Error('statement cancelled after a timeout') : undefined);
      return result;
    } catch (err) {
      off();
      checkin(co, err);
      throw err;
    }
  }

  function query(...args: unknown[]): unknown {
    const first = args[0] as { submit?: unknown; text?: unknown } | string | undefined;
    // Submittables (pg-cursor, pg-query-stream) stream rows: nothing to retry, pass through.
    if (first !== null && typeof first === 'object' && typeof first.submit === 'function') {
      return (pool.query as (...a: unknown[]) => unknown)(...args);
    }
    const last = args[args.length - 1];
    const cb = typeof last === 'function' ? (last as (err: unknown, res?: unknown) => void) : undefined;
    const qargs = cb ? args.slice(0, -1) : args;
    const text = typeof first === 'string' ? first : typeof first?.text === 'string' ? first.text : undefined;
    const p = policy.execute((ctx) => attempt(ctx, qargs), idempotentFor(text));
    if (cb === undefined) return p;
    p.then(
      (r) => cb(undefined, r),
      (e) => cb(e),
    );
    return undefined;
  }

  function connect(
    cb?: (err: unknown, client?: PoolClientLike, done?: (err?: Error | boolean) => void) => void,
  ): unknown {
    const p = policy.execute(async (ctx) => {
      const co = await checkout();
      if (isAborted(ctx)) {
        // The call already timed out: hand the late client straight back.
        checkin(co);
        throw abortReason(ctx);
      }
      if (co.lost !== undefined) {
        // Killed before we could hand it over: a connection error, retried like any other.
        const lost = co.lost;
        checkin(co);
        throw lost;
      }
      // From here on the caller owns the client and its 'error' events, as with pg itself.
      co.client.removeListener('error', co.onError);
      return co.client;
    }, IDEMPOTENT);
    if (cb === undefined) return p;
    p.then(
      // pg's `done(err)` destroys the client instead of returning it to the pool.
      (c) => cb(undefined, c, (err?: Error | boolean) => c.release(err)),
      (e) => cb(e),
    );
    return undefined;
  }

  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query') return query;
      if (prop === 'connect') return connect;
      return Reflect.get(target, prop, receiver);
    },
  });
}
