// Regression tests for bugs found in review: each one failed against the code before its fix.
import { EventEmitter } from 'node:events';
import { classify, UnavailableError } from '@mem0-stack/errors';
import { createLogger, setDefaultLogger } from '@mem0-stack/logging';
import {
  circuitBreaker,
  fallback,
  isPolicyTimeoutError,
  isReadOnlyStatement,
  policy,
  type RetryEvent,
  resilientPool,
  resilientRedis,
  retry,
  timeout,
} from '@mem0-stack/resilience';
import { createTestDatabase } from '@mem0-stack/testkit';
import { Pool } from 'pg';
import { createClient } from 'redis';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const lines: Array<Record<string, unknown>> = [];
beforeAll(() => {
  setDefaultLogger(
    createLogger({
      level: 'debug',
      otlp: false,
      destination: { write: (chunk: string) => lines.push(JSON.parse(chunk)) },
    }),
  );
});

describe('fallback', () => {
  it('answers with the fallback when the retry deadline passes (a timeout of our own)', async () => {
    const p = policy(
      fallback('stale'),
      retry({ deadlineMs: 50, budget: false, idempotent: true, initialDelayMs: 1 }),
    );
    await expect(p.execute(() => new Promise<string>(() => {}))).resolves.toBe('stale');
  });
});

describe('retry telemetry', () => {
  it('a caller abort during the backoff of a retry with a deadline is reported as aborted, not deadline', async () => {
    lines.length = 0;
    const r = retry({
      name: 'regressions-abort',
      deadlineMs: 10_000,
      initialDelayMs: 1_000,
      jitter: 'none',
      budget: false,
    });
    const ac = new AbortController();
    const p = r.execute(
      () => {
        setTimeout(() => ac.abort(), 20);
        throw new UnavailableError('down');
      },
      { signal: ac.signal },
    );
    await expect(p).rejects.toBeDefined();
    await new Promise((res) => setImmediate(res));
    const exhausted = lines.filter(
      (l) => l['event.name'] === 'resilience.exhausted' && l['resilience.name'] === 'regressions-abort',
    );
    expect(exhausted).toHaveLength(1);
    expect(exhausted[0]!.reason).toBe('aborted');
  });
});

describe('circuitBreaker sampling trigger', () => {
  it('minThroughput: 0 means no minimum (not cockatiel default of 5/threshold per second)', async () => {
    const b = circuitBreaker({
      trigger: { kind: 'sampling', threshold: 0.5, windowMs: 10_000, minThroughput: 0 },
      halfOpenAfter: 60_000,
    });
    for (let i = 0; i < 3; i++) {
      await b
        .execute(() => {
          throw new UnavailableError('down');
        })
        .catch(() => undefined);
    }
    expect(b.state).toBe('open');
  });
});

// A minimal pg Pool/Client pair whose timing the test controls.
class FakeClient extends EventEmitter {
  static cancels: unknown[] = [];
  static cancelConnect = deferred<void>();
  processID = 4242;
  released: unknown[] = [];
  gate = deferred<unknown>();
  connect(): Promise<void> {
    return FakeClient.cancelConnect.promise;
  }
  query(text: string, values?: unknown[]): Promise<unknown> {
    if (text.startsWith('SELECT pg_cancel_backend')) {
      FakeClient.cancels.push(values?.[0]);
      return Promise.resolve({ rows: [] });
    }
    return this.gate.promise;
  }
  release(err?: unknown): void {
    this.released.push(err);
  }
  end(): Promise<void> {
    return Promise.resolve();
  }
}

class FakePool extends EventEmitter {
  options = {};
  client = new FakeClient();
  connect(cb: (err: Error | undefined, client: FakeClient) => void): void {
    cb(undefined, this.client);
  }
  query(): never {
    throw new Error('not used');
  }
}

describe('resilientPool', () => {
  it('a client whose statement a timeout cancelled never goes back to the pool (the cancel could hit the next query)', async () => {
    const raw = new FakePool();
    const pool = resilientPool(raw as never, { policy: timeout(20) });
    const err = await (pool.query('SELECT slow()') as Promise<unknown>).catch((e: unknown) => e);
    expect(isPolicyTimeoutError(err)).toBe(true);
    // The statement finishes on its own before the cancel connection is up…
    raw.client.gate.resolve({ rows: [] });
    await new Promise((res) => setImmediate(res));
    // …then the cancel lands on that backend, whatever it runs by now.
    FakeClient.cancelConnect.resolve();
    await new Promise((res) => setImmediate(res));
    expect(FakeClient.cancels).toEqual([4242]);
    expect(raw.client.released).toHaveLength(1);
    expect(raw.client.released[0]).toBeTruthy(); // released with an error: destroyed, not reused
  });

  it('connect(callback): done(err) destroys the client, as with pg', async () => {
    const url = await createTestDatabase('mem0_resilience_test');
    const raw = new Pool({ connectionString: url, max: 2 });
    const pool = resilientPool(raw);
    try {
      await new Promise<void>((resolve, reject) =>
        pool.connect((err: Error | undefined, client: unknown, done: (e?: Error) => void) => {
          if (err || !client) return reject(err);
          done(new Error('connection is broken'));
          resolve();
        }),
      );
      expect(raw.totalCount).toBe(0);
      expect(raw.idleCount).toBe(0);
    } finally {
      await raw.end();
    }
  });
});

describe('isReadOnlyStatement', () => {
  it('does not call writes behind WITH or EXPLAIN ANALYZE read-only (they would be retried after a reset)', () => {
    // Each of these creates a table (checked against PostgreSQL): a second run fails or duplicates.
    expect(isReadOnlyStatement('WITH t AS (SELECT 1 AS a) SELECT * INTO regressions_t FROM t')).toBe(false);
    expect(isReadOnlyStatement('EXPLAIN ANALYZE CREATE TABLE regressions_t AS SELECT 1')).toBe(false);
    expect(isReadOnlyStatement('EXPLAIN (ANALYZE) SELECT * INTO regressions_t FROM pg_class')).toBe(false);
    expect(isReadOnlyStatement('EXPLAIN ANALYZE EXECUTE insert_user(1)')).toBe(false);
    // Still read-only:
    expect(isReadOnlyStatement('WITH x AS (SELECT created_at FROM t) SELECT * FROM x')).toBe(true);
    expect(isReadOnlyStatement('EXPLAIN SELECT 1')).toBe(true);
  });
});

describe('resilientRedis', () => {
  it('a command on a client the app closed fails with ClientClosedError at once, not as a retried outage', async () => {
    const raw = createClient({ url: 'redis://127.0.0.1:6379' });
    raw.on('error', () => undefined);
    await raw.connect();
    const retries: RetryEvent[] = [];
    const redis = resilientRedis(raw, {
      policy: retry({ maxAttempts: 3, initialDelayMs: 1, budget: false, onRetry: (e) => retries.push(e) }),
    });
    raw.destroy();
    const err = await redis.get(`regressions:${process.pid}:closed`).catch((e: unknown) => e);
    expect(classify(err).code).toBe('REDIS_CLIENT_CLOSED');
    expect(retries).toHaveLength(0);
  });
});

describe('retry with a custom shouldRetry', () => {
  it('never retries an open circuit, whatever the predicate says (as the README promises)', async () => {
    const breaker = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 1 }, halfOpenAfter: 60_000 });
    const asked: string[] = [];
    const p = policy(
      retry({
        maxAttempts: 3,
        initialDelayMs: 1,
        jitter: 'none',
        budget: false,
        // A common predicate: "retry whatever the classifier calls retryable" (CIRCUIT_OPEN is 503).
        shouldRetry: (_err, { classified }) => {
          asked.push(classified.code);
          return classified.retryable;
        },
      }),
      breaker,
    );
    let calls = 0;
    const err = await p
      .execute(() => {
        calls++;
        return Promise.reject(new UnavailableError('down'));
      })
      .catch((e: unknown) => e);
    expect(classify(err).code).toBe('CIRCUIT_OPEN');
    // One real call opened the breaker; the retry stopped at the rejection instead of spending
    // its attempts on an open circuit.
    expect(calls).toBe(1);
    expect(asked).not.toContain('CIRCUIT_OPEN');
  });
});
