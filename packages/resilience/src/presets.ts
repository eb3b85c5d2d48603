import { bulkhead } from './bulkhead';
import { type CircuitBreakerOptions, type CircuitBreakerPolicy, circuitBreaker } from './circuitBreaker';
import { CompositePolicy } from './policy';
import { type RetryOptions, type RetryPolicy, retry } from './retry';
import { createRetryBudget } from './retryBudget';
import { timeout } from './timeout';
import type { Policy } from './types';

/**
 * Overrides for a preset. Each part merges over the preset's defaults; `false` drops it.
 * @example presets.database({ name: 'orders-db', timeoutMs: 2_000, retry: { maxAttempts: 5 } })
 */
export type PresetOptions = {
  /** Name for the composite and its parts (metrics, logs, breaker gauge). */
  name?: string;
  retry?: RetryOptions | false;
  breaker?: CircuitBreakerOptions | false;
  /** Per-attempt timeout in ms. */
  timeoutMs?: number | false;
  /** Optional concurrency limit, outermost. */
  bulkhead?: { limit: number; queue?: number };
};

/**
 * A preset: the composed policy plus its parts, for inspection (`breaker.state`…).
 * @example const redis = presets.redis(); redis.breaker?.onStateChange((s) => console.log(s));
 */
export class PresetPolicy extends CompositePolicy {
  constructor(
    parts: readonly Policy[],
    name: string,
    /** The retry part, if any. */
    readonly retry: RetryPolicy | undefined,
    /** The breaker part, if any (`breaker.state`, `breaker.onStateChange`). */
    readonly breaker: CircuitBreakerPolicy | undefined,
  ) {
    super(parts, name);
  }
}

type Defaults = { retry: RetryOptions; breaker: CircuitBreakerOptions; timeoutMs: number };

function build(defaultName: string, d: Defaults, o: PresetOptions = {}): PresetPolicy {
  const name = o.name ?? defaultName;
  const parts: Policy[] = [];
  if (o.bulkhead) parts.push(bulkhead(o.bulkhead.limit, o.bulkhead.queue ?? 0, { name }));
  const r = o.retry === false ? undefined : retry({ ...d.retry, name, ...o.retry });
  if (r) parts.push(r);
  const b = o.breaker === false ? undefined : circuitBreaker({ ...d.breaker, name, ...o.breaker });
  if (b) parts.push(b);
  const t = o.timeoutMs === false ? undefined : (o.timeoutMs ?? d.timeoutMs);
  if (t !== undefined) parts.push(timeout(t, { name }));
  return new PresetPolicy(parts, name, r, b);
}

/**
 * Ready-made compositions (retry → circuit breaker → per-attempt timeout) tuned per dependency.
 * Create one per dependency and share it: the breaker and the retry budget are per instance.
 * @example
 * export const db = presets.database({ name: 'orders-db' });
 * await db.execute(() => pool.query('SELECT 1'), { idempotent: true });
 */
export const presets = {
  /**
   * PostgreSQL: up to 4 attempts (decorrelated jitter 20 ms → 500 ms cap, 10 s deadline), retry
   * budget 50 % + 20 per 10 s (serialization failures are routine under load: a 20 % rate needs
   * ≈ 25 retries per 100 calls; the breaker, not the budget, handles a database that is down), breaker opening
   * at a 50 % dependency-failure rate over 10 s (≥ 20 calls), 5 s half-open wait, 5 s per-attempt
   * timeout. Unique violations, syntax errors and other caller bugs are never retried and never
   * open the breaker.
   * @example const db = presets.database(); await db.execute(() => pool.query(sql), { idempotent: true });
   */
  database(o?: PresetOptions): PresetPolicy {
    return build(
      'database',
      {
        retry: {
          maxAttempts: 4,
          initialDelayMs: 20,
          maxDelayMs: 500,
          jitter: 'decorrelated',
          deadlineMs: 10_000,
          budget: createRetryBudget({ ratio: 0.5, minRetries: 20 }),
        },
        breaker: {
          trigger: { kind: 'sampling', threshold: 0.5, windowMs: 10_000, minThroughput: 20 },
          halfOpenAfter: 5_000,
        },
        timeoutMs: 5_000,
      },
      o,
    );
  },

  /**
   * Redis (a cache: fail fast and route around it): 2 attempts (10 → 50 ms), budget 10 % + 10 per
   * 10 s, breaker opening after 5 consecutive dependency failures, 1 s half-open wait, 250 ms
   * per-attempt timeout. While open, calls fail in microseconds with a BrokenCircuitError.
   * @example const r = presets.redis(); const v = await r.execute(() => client.get(key), { idempotent: true });
   */
  redis(o?: PresetOptions): PresetPolicy {
    return build(
      'redis',
      {
        retry: {
          maxAttempts: 2,
          initialDelayMs: 10,
          maxDelayMs: 50,
          jitter: 'full',
          budget: createRetryBudget({ ratio: 0.1, minRetries: 10 }),
        },
        breaker: { trigger: { kind: 'consecutive', threshold: 5 }, halfOpenAfter: 1_000 },
        timeoutMs: 250,
      },
      o,
    );
  },

  /**
   * Outbound HTTP: 3 attempts (decorrelated jitter 200 ms → 5 s cap, 15 s deadline, Retry-After
   * honoured up to 30 s), budget 10 % + 10 per 10 s, breaker at a 50 % failure rate over 30 s
   * (≥ 10 calls), 10 s half-open wait, 5 s per-attempt timeout. Pass `idempotent: true` for
   * GET/PUT/DELETE so connection resets are retried.
   * @example const api = presets.http({ name: 'billing-api' }); await api.execute(({ signal }) => fetch(url, { signal }), { idempotent: true });
   */
  http(o?: PresetOptions): PresetPolicy {
    return build(
      'http',
      {
        retry: {
          maxAttempts: 3,
          initialDelayMs: 200,
          maxDelayMs: 5_000,
          jitter: 'decorrelated',
          deadlineMs: 15_000,
          budget: createRetryBudget({ ratio: 0.1, minRetries: 10 }),
        },
        breaker: {
          trigger: { kind: 'sampling', threshold: 0.5, windowMs: 30_000, minThroughput: 10 },
          halfOpenAfter: 10_000,
        },
        timeoutMs: 5_000,
      },
      o,
    );
  },
};
