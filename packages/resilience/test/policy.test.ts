import { NotFoundError, UnavailableError } from '@mem0-stack/errors';
import {
  BulkheadRejectedError,
  bulkhead,
  circuitBreaker,
  fallback,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isIdempotentRedisCommand,
  isReadOnlyStatement,
  policy,
  presets,
  retry,
  timeout,
} from '@mem0-stack/resilience';
import { retry as cockatielRetry, handleAll } from 'cockatiel';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

describe('bulkhead', () => {
  it('runs `limit` at once, queues `queue` more, rejects the rest without calling them', async () => {
    const b = bulkhead(2, 1);
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    const started: number[] = [];
    const run = (i: number) =>
      b.execute(() => {
        started.push(i);
        return gates[i]!.promise;
      });
    const p0 = run(0);
    const p1 = run(1);
    const p2 = run(2);
    const rejected = await b.execute(async () => 'never').catch((e: unknown) => e);
    expect(isBulkheadRejectedError(rejected)).toBe(true);
    expect(rejected).toBeInstanceOf(BulkheadRejectedError);
    expect(started).toEqual([0, 1]);
    gates[0]!.resolve(0);
    await p0;
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.resolve(1);
    gates[2]!.resolve(2);
    await expect(Promise.all([p1, p2])).resolves.toEqual([1, 2]);
  });

  it('a queued call whose timeout passes leaves the queue at once', async () => {
    const b = bulkhead(1, 5);
    const gate = deferred<string>();
    const busy = b.execute(() => gate.promise);
    const t0 = Date.now();
    await expect(policy(timeout(50), b).execute(async () => 'queued')).rejects.toMatchObject({
      code: 'POLICY_TIMEOUT',
    });
    expect(Date.now() - t0).toBeLessThan(1_000);
    gate.resolve('done');
    await busy;
  });

  it('a queued call that timed out or was aborted never runs once a slot frees', async () => {
    const b = bulkhead(1, 5);
    const gate = deferred<string>();
    const busy = b.execute(() => gate.promise);
    const late = jest.fn(async () => 'ran after the caller gave up');
    await expect(policy(timeout(20), b).execute(late)).rejects.toMatchObject({ code: 'POLICY_TIMEOUT' });
    const ac = new AbortController();
    const aborted = b.execute(late, { signal: ac.signal });
    ac.abort(new Error('client went away'));
    await expect(aborted).rejects.toThrow('client went away');
    gate.resolve('done');
    await busy;
    await new Promise((r) => setImmediate(r));
    expect(late).not.toHaveBeenCalled();
    // The dead entries left the queue: the bulkhead serves new calls normally.
    await expect(b.execute(async () => 'next')).resolves.toBe('next');
  });

  it('a queued call whose caller aborted frees its queue place at once', async () => {
    const b = bulkhead(1, 2);
    const gate = deferred<string>();
    const busy = b.execute(() => gate.promise);
    const late = jest.fn(async () => 'ran after the caller gave up');
    // A burst of callers that give up while queued...
    for (let i = 0; i < 3; i++) {
      const ac = new AbortController();
      const p = b.execute(late, { signal: ac.signal });
      ac.abort(new Error('client went away'));
      await expect(p).rejects.toThrow('client went away');
    }
    // ...must not leave the queue full: new callers are queued, not rejected.
    const queued = [b.execute(async () => 'a'), b.execute(async () => 'b')];
    const third = await b.execute(async () => 'never').catch((e: unknown) => e);
    expect(isBulkheadRejectedError(third)).toBe(true);
    gate.resolve('done');
    await busy;
    await expect(Promise.all(queued)).resolves.toEqual(['a', 'b']);
    expect(late).not.toHaveBeenCalled();
  });
});

describe('fallback', () => {
  it('answers dependency failures and policy rejections with the fallback', async () => {
    const f = fallback(() => 'stale');
    await expect(f.execute(() => Promise.reject(new UnavailableError('down')))).resolves.toBe('stale');
    const b = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 1 } });
    const p = policy(
      fallback((err) => (isBrokenCircuitError(err) ? 'circuit-open' : 'other')),
      b,
    );
    await p.execute(() => Promise.reject(new UnavailableError('down'))).catch(() => {});
    await expect(p.execute(async () => 'fresh')).resolves.toBe('circuit-open');
  });

  it('lets programming and caller errors through by default', async () => {
    const f = fallback('default');
    await expect(f.execute(() => Promise.reject(new TypeError('bug')))).rejects.toBeInstanceOf(TypeError);
    await expect(f.execute(() => Promise.reject(new NotFoundError('gone')))).rejects.toBeInstanceOf(
      NotFoundError,
    );
    // A deliberate abort (the client went away) is not a dependency failure: no stand-in value.
    const abort = new DOMException('aborted', 'AbortError');
    await expect(f.execute(() => Promise.reject(abort))).rejects.toBe(abort);
    const all = fallback('default', { when: () => true });
    await expect(all.execute(() => Promise.reject(new TypeError('bug')))).resolves.toBe('default');
  });
});

describe('policy()', () => {
  it('composes outermost first and passes attempt and signal through', async () => {
    const order: string[] = [];
    const seen: Array<{ attempt: number; aborted: boolean }> = [];
    let n = 0;
    const p = policy(
      retry({ maxAttempts: 3, initialDelayMs: 1, budget: false }),
      circuitBreaker({ name: 'compose', onStateChange: (s) => order.push(s) }),
      timeout(1_000),
    );
    const v = await p.execute(
      ({ attempt, signal }) => {
        seen.push({ attempt, aborted: signal.aborted });
        if (++n < 3) throw new UnavailableError('blip');
        return 'third';
      },
      { idempotent: true },
    );
    expect(v).toBe('third');
    expect(seen).toEqual([
      { attempt: 1, aborted: false },
      { attempt: 2, aborted: false },
      { attempt: 3, aborted: false },
    ]);
    expect(order).toEqual([]);
    expect(p.name).toBe('retry+compose+timeout');
  });

  it('accepts a foreign (cockatiel) policy as a layer', async () => {
    let calls = 0;
    const p = policy(cockatielRetry(handleAll, { maxAttempts: 2 }), timeout(1_000));
    await expect(
      p.execute(async () => {
        if (++calls < 2) throw new Error('x');
        return 'ok';
      }),
    ).resolves.toBe('ok');
    expect(calls).toBe(2);
  });

  it('an empty composition just runs the function', async () => {
    await expect(policy().execute(() => 42)).resolves.toBe(42);
  });
});

describe('presets', () => {
  it('expose their breaker and retry, named after the preset', () => {
    const d = presets.database();
    const r = presets.redis({ name: 'sessions' });
    const h = presets.http({ retry: false, breaker: false });
    expect(d.name).toBe('database');
    expect(d.breaker?.name).toBe('database');
    expect(d.retry?.maxAttempts).toBe(4);
    expect(r.breaker?.name).toBe('sessions');
    expect(r.retry?.maxAttempts).toBe(2);
    expect(h.breaker).toBeUndefined();
    expect(h.retry).toBeUndefined();
  });

  it('redis preset times out a hung command at 250 ms', async () => {
    const t0 = Date.now();
    await expect(presets.redis().execute(() => new Promise(() => {}))).rejects.toMatchObject({
      code: 'POLICY_TIMEOUT',
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
  });
});

describe('idempotency rules', () => {
  it('knows read-only SQL', () => {
    expect(isReadOnlyStatement('  select * from t')).toBe(true);
    expect(isReadOnlyStatement('WITH x AS (SELECT 1) SELECT * FROM x')).toBe(true);
    expect(isReadOnlyStatement('WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x')).toBe(false);
    expect(isReadOnlyStatement("SELECT nextval('s')")).toBe(false);
    expect(isReadOnlyStatement('INSERT INTO t VALUES (1)')).toBe(false);
    expect(isReadOnlyStatement('UPDATE t SET n = n + 1')).toBe(false);
    expect(isReadOnlyStatement('SELECT 1;')).toBe(true);
    expect(isReadOnlyStatement('EXPLAIN SELECT * FROM t')).toBe(true);
    // Statements that write although they start like a read: repeating them is not harmless.
    expect(isReadOnlyStatement('SELECT 1; UPDATE t SET n = n + 1')).toBe(false);
    expect(isReadOnlyStatement('EXPLAIN ANALYZE INSERT INTO t VALUES (1)')).toBe(false);
    expect(isReadOnlyStatement('SELECT * INTO t_copy FROM t')).toBe(false);
  });

  it('knows idempotent Redis commands, and conditional options that are not', () => {
    expect(isIdempotentRedisCommand('get')).toBe(true);
    expect(isIdempotentRedisCommand('hGet')).toBe(true);
    expect(isIdempotentRedisCommand('SET', ['k', 'v'])).toBe(true);
    expect(isIdempotentRedisCommand('set', ['k', 'v', { NX: true }])).toBe(false);
    expect(isIdempotentRedisCommand('set', ['k', 'v', { condition: 'NX' }])).toBe(false);
    expect(isIdempotentRedisCommand('SET', ['k', 'v', 'GET'])).toBe(false);
    expect(isIdempotentRedisCommand('incr')).toBe(false);
    expect(isIdempotentRedisCommand('LPUSH')).toBe(false);
    expect(isIdempotentRedisCommand('evalSha')).toBe(false);
  });
});
