import {
  type Attributes,
  type BatchObservableResult,
  context,
  createNoopMeter,
  type Meter,
  type MetricOptions,
  type Observable,
} from '@opentelemetry/api';
import type { PgInstrumentationConfig } from '@opentelemetry/instrumentation-pg';

/** The pg-pool counters read at collection time (public getters of pg's Pool). */
export type PoolLike = {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options?: unknown;
};

/** How `db.client.connection.count` / `.pending_requests` are kept. */
export type PoolMetrics = 'observed' | 'per-event';

type Upstream = typeof import('@opentelemetry/instrumentation-pg');
type Instance = InstanceType<Upstream['PgInstrumentation']>;
type Semconv = {
  METRIC_DB_CLIENT_CONNECTION_COUNT: string;
  METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS: string;
  ATTR_DB_CLIENT_CONNECTION_STATE: string;
  ATTR_DB_CLIENT_CONNECTION_POOL_NAME: string;
  DB_CLIENT_CONNECTION_STATE_VALUE_USED: string;
  DB_CLIENT_CONNECTION_STATE_VALUE_IDLE: string;
};
/** The members of instrumentation-pg 0.7x this relies on (all checked before use). */
type Internals = {
  _meter: Meter;
  _updateMetricInstruments(): void;
  _setPoolConnectEventListeners(pool: PoolLike): void;
  _recordPoolMax(pool: PoolLike): void;
};

type Tracked = {
  ref: WeakRef<PoolLike>;
  name: string;
  used: Attributes;
  idle: Attributes;
  pending: Attributes;
};

/** Per instance: set up during the base constructor, before any field of a subclass exists. */
type State = { observed: boolean; pools: Set<Tracked>; seen: WeakSet<PoolLike> };

/**
 * The pg instrumentation, with the pool connection metrics read when metrics are collected.
 *
 * Upstream updates `db.client.connection.count{state=used|idle}` and
 * `db.client.connection.pending_requests` from listeners on every pool connect/acquire/release/
 * remove event: three up/down-counter adds, each hashing its attribute set, twice per query
 * (≈ 12 µs of CPU per request in the memory-service profile). `observed` removes those
 * listeners and registers one batch observable callback that walks the live pools (held by
 * WeakRef, so a dropped pool can be collected) and reports pg-pool's own counters under the
 * same names, attributes, units and descriptions; both are non-monotonic cumulative sums.
 * Pools sharing a name are summed, as upstream's adds were. It is also exact at any instant:
 * a request queued for a connection fires no pool event, so upstream's pending count lags
 * until the next event. `per-event` (and any upstream whose internals differ from the ones
 * checked here) is upstream unchanged.
 * @example const pg = createPgInstrumentation({ enhancedDatabaseReporting: false }, 'observed');
 */
export function createPgInstrumentation(config: PgInstrumentationConfig, poolMetrics: PoolMetrics): Instance {
  const upstream = require('@opentelemetry/instrumentation-pg') as Upstream;
  const Base = withBoundConnectCallback(upstream.PgInstrumentation, config);
  if (poolMetrics === 'per-event') return new Base(config);
  const parts = loadParts();
  const proto = Base.prototype as unknown as Partial<Internals>;
  if (
    parts === undefined ||
    typeof proto._updateMetricInstruments !== 'function' ||
    typeof proto._setPoolConnectEventListeners !== 'function' ||
    typeof proto._recordPoolMax !== 'function'
  ) {
    return new Base(config);
  }
  const { semconv, poolName } = parts;
  const states = new WeakMap<object, State>();
  const stateOf = (self: object): State => {
    let s = states.get(self);
    if (s === undefined) {
      s = { observed: false, pools: new Set(), seen: new WeakSet() };
      states.set(self, s);
    }
    return s;
  };
  const replaced = new Set([
    semconv.METRIC_DB_CLIENT_CONNECTION_COUNT,
    semconv.METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS,
  ]);

  const Observed = class extends (Base as unknown as new (c: PgInstrumentationConfig) => Internals) {
    override _updateMetricInstruments(): void {
      const state = stateOf(this);
      const meter = this._meter;
      // Upstream creates its instruments on this.meter: hand it one whose two per-event
      // counters are no-ops, and note their options to create the observables with.
      const options = new Map<string, MetricOptions | undefined>();
      const noop = createNoopMeter();
      this._meter = new Proxy(meter, {
        get(target, prop) {
          if (prop === 'createUpDownCounter') {
            return (name: string, opts?: MetricOptions) => {
              if (!replaced.has(name)) return target.createUpDownCounter(name, opts);
              options.set(name, opts);
              return noop.createUpDownCounter(name, opts);
            };
          }
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      try {
        super._updateMetricInstruments();
      } finally {
        this._meter = meter;
      }
      // Both must have been asked for, or upstream changed: it then keeps its own listeners
      // (a meter replaced before this became observed still gets no-ops: none in practice).
      state.observed = options.size === replaced.size;
      if (!state.observed) return;
      const count = meter.createObservableUpDownCounter(
        semconv.METRIC_DB_CLIENT_CONNECTION_COUNT,
        options.get(semconv.METRIC_DB_CLIENT_CONNECTION_COUNT),
      );
      const pending = meter.createObservableUpDownCounter(
        semconv.METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS,
        options.get(semconv.METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS),
      );
      meter.addBatchObservableCallback(
        (result) => observePools(result, count, pending, state.pools),
        [count, pending],
      );
    }

    override _setPoolConnectEventListeners(pool: PoolLike): void {
      const state = stateOf(this);
      if (!state.observed) {
        super._setPoolConnectEventListeners(pool);
        return;
      }
      this._recordPoolMax(pool);
      if (state.seen.has(pool)) return;
      state.seen.add(pool);
      const name = poolName(pool.options);
      const attrs = (state?: string): Attributes =>
        Object.freeze(
          state === undefined
            ? { [semconv.ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name }
            : {
                [semconv.ATTR_DB_CLIENT_CONNECTION_STATE]: state,
                [semconv.ATTR_DB_CLIENT_CONNECTION_POOL_NAME]: name,
              },
        );
      state.pools.add({
        ref: new WeakRef(pool),
        name,
        used: attrs(semconv.DB_CLIENT_CONNECTION_STATE_VALUE_USED),
        idle: attrs(semconv.DB_CLIENT_CONNECTION_STATE_VALUE_IDLE),
        pending: attrs(),
      });
    }
  };
  return new Observed(config) as unknown as Instance;
}

type ConnectPatch = (
  original: (this: unknown, cb?: unknown) => unknown,
) => (this: unknown, cb?: unknown) => unknown;

/**
 * With `ignoreConnectSpans`, upstream calls pg-pool's `connect` without binding its callback to
 * the caller's context. pg-pool runs a waiting caller's callback from the `release()` of the
 * client it gets, so on a busy pool `pool.query` (which connects with a callback) ran its query
 * in the releasing request's context: the span landed in the wrong trace. Binds it, as upstream
 * does when it makes the connect span.
 */
function withBoundConnectCallback(
  Base: Upstream['PgInstrumentation'],
  config: PgInstrumentationConfig,
): Upstream['PgInstrumentation'] {
  const proto = Base.prototype as unknown as { _getPoolConnectPatch?: () => ConnectPatch };
  if (config.ignoreConnectSpans !== true || typeof proto._getPoolConnectPatch !== 'function') return Base;
  const Bound = class extends (Base as unknown as new (c: PgInstrumentationConfig) => object) {
    _getPoolConnectPatch(): ConnectPatch {
      const patch = (proto._getPoolConnectPatch as () => ConnectPatch).call(this);
      return (original) => {
        const patched = patch(original);
        return function connect(this: unknown, callback?: unknown) {
          if (typeof callback === 'function')
            return patched.call(
              this,
              context.bind(context.active(), callback as (...a: unknown[]) => unknown),
            );
          // biome-ignore lint/complexity/noArguments: forwards the caller's exact arguments
          return patched.apply(this, arguments as unknown as [unknown]);
        };
      };
    }
  };
  return Bound as unknown as Upstream['PgInstrumentation'];
}

/**
 * Reports every live pool's counters (summed per pool name); forgets collected pools.
 * @example meter.addBatchObservableCallback((r) => observePools(r, count, pending, pools), [count, pending]);
 */
export function observePools(
  result: BatchObservableResult,
  count: Observable,
  pending: Observable,
  pools: Set<Tracked>,
): void {
  const byName = new Map<string, { t: Tracked; used: number; idle: number; pending: number }>();
  for (const t of pools) {
    const pool = t.ref.deref();
    if (pool === undefined) {
      pools.delete(t);
      continue;
    }
    // Getters of a foreign object: a throwing or odd one must not break the collection.
    let total: number;
    let idle: number;
    let waiting: number;
    try {
      total = Number(pool.totalCount) || 0;
      idle = Number(pool.idleCount) || 0;
      waiting = Number(pool.waitingCount) || 0;
    } catch {
      continue;
    }
    const sum = byName.get(t.name);
    if (sum === undefined) byName.set(t.name, { t, used: total - idle, idle, pending: waiting });
    else {
      sum.used += total - idle;
      sum.idle += idle;
      sum.pending += waiting;
    }
  }
  for (const s of byName.values()) {
    result.observe(count, s.used, s.t.used);
    result.observe(count, s.idle, s.t.idle);
    result.observe(pending, s.pending, s.t.pending);
  }
}

function loadParts(): { semconv: Semconv; poolName: (options: unknown) => string } | undefined {
  try {
    const semconv = require('@opentelemetry/instrumentation-pg/build/src/semconv') as Semconv;
    const utils = require('@opentelemetry/instrumentation-pg/build/src/utils') as {
      getPoolName?: (options: unknown) => string;
    };
    const names = [
      semconv.METRIC_DB_CLIENT_CONNECTION_COUNT,
      semconv.METRIC_DB_CLIENT_CONNECTION_PENDING_REQUESTS,
      semconv.ATTR_DB_CLIENT_CONNECTION_STATE,
      semconv.ATTR_DB_CLIENT_CONNECTION_POOL_NAME,
      semconv.DB_CLIENT_CONNECTION_STATE_VALUE_USED,
      semconv.DB_CLIENT_CONNECTION_STATE_VALUE_IDLE,
    ];
    const getPoolName = utils.getPoolName;
    if (names.some((n) => typeof n !== 'string') || typeof getPoolName !== 'function') return undefined;
    return { semconv, poolName: (options) => getPoolName(options ?? {}) };
  } catch {
    return undefined;
  }
}
