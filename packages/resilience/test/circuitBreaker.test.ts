import { classify, NotFoundError, UnavailableError, ValidationError } from '@mem0-stack/errors';
import {
  BrokenCircuitError,
  type CircuitState,
  circuitBreaker,
  isBrokenCircuitError,
  policy,
  retry,
  timeout,
} from '@mem0-stack/resilience';

const down = () => Promise.reject(new UnavailableError('dependency down'));
const ok = () => Promise.resolve('ok');
/** A fetch-like callee that hangs until its signal aborts, then rejects with the reason. */
const rejectOnAbort = ({ signal }: { signal: AbortSignal }) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('circuitBreaker', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('opens after N consecutive dependency failures and then fails fast without calling', async () => {
    const changes: Array<[CircuitState, CircuitState]> = [];
    const b = circuitBreaker({
      name: 'dep',
      trigger: { kind: 'consecutive', threshold: 3 },
      halfOpenAfter: 1_000,
    });
    b.onStateChange((s, prev) => changes.push([s, prev]));
    for (let i = 0; i < 3; i++) await expect(b.execute(down)).rejects.toBeInstanceOf(UnavailableError);
    expect(b.state).toBe('open');
    expect(changes).toEqual([['open', 'closed']]);
    const fn = jest.fn(ok);
    const err = await b.execute(fn).catch((e) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(isBrokenCircuitError(err)).toBe(true);
    expect(err).toBeInstanceOf(BrokenCircuitError);
    expect(err.circuit).toBe('dep');
    expect(err.cause).toBeInstanceOf(UnavailableError);
    // Classified for HTTP: 503 with a retry hint close to the remaining break.
    const c = classify(err);
    expect(c.code).toBe('CIRCUIT_OPEN');
    expect(c.status).toBe(503);
    expect(c.retryAfterMs).toBeGreaterThan(900);
    expect(c.retryAfterMs).toBeLessThanOrEqual(1_000);
  });

  it('a success resets the consecutive count', async () => {
    const b = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 3 } });
    for (let i = 0; i < 10; i++) {
      await b.execute(down).catch(() => {});
      await b.execute(down).catch(() => {});
      await b.execute(ok);
    }
    expect(b.state).toBe('closed');
  });

  it('never opens on caller errors: 404, validation, unique violation, syntax error', async () => {
    const b = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 2 } });
    const errors = [
      new NotFoundError('no such memory'),
      new ValidationError('bad body'),
      Object.assign(new Error('duplicate key'), { code: '23505', severity: 'ERROR', routine: 'x' }),
      Object.assign(new Error('syntax error'), { code: '42601', severity: 'ERROR', routine: 'x' }),
      new TypeError('bug'),
    ];
    for (let i = 0; i < 5; i++) {
      for (const e of errors) await expect(b.execute(() => Promise.reject(e))).rejects.toBe(e);
    }
    expect(b.state).toBe('closed');
  });

  it('half-open: lets exactly one probe through, fails everyone else fast, closes on success', async () => {
    const b = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 2 }, halfOpenAfter: 1_000 });
    await b.execute(down).catch(() => {});
    await b.execute(down).catch(() => {});
    expect(b.state).toBe('open');
    await jest.advanceTimersByTimeAsync(1_000);
    const probe = deferred<string>();
    const calls = jest.fn(() => probe.promise);
    const first = b.execute(calls);
    expect(b.state).toBe('half-open');
    const others = await Promise.all(
      Array.from({ length: 5 }, () => b.execute(calls).catch((e: unknown) => e)),
    );
    expect(calls).toHaveBeenCalledTimes(1);
    for (const e of others) {
      expect(isBrokenCircuitError(e)).toBe(true);
      expect((e as BrokenCircuitError).state).toBe('half-open');
    }
    probe.resolve('probe ok');
    await expect(first).resolves.toBe('probe ok');
    expect(b.state).toBe('closed');
    await expect(b.execute(ok)).resolves.toBe('ok');
  });

  it('half-open: a failed probe re-opens for another break', async () => {
    const b = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 1 }, halfOpenAfter: 500 });
    await b.execute(down).catch(() => {});
    await jest.advanceTimersByTimeAsync(500);
    await expect(b.execute(down)).rejects.toBeInstanceOf(UnavailableError);
    expect(b.state).toBe('open');
    await expect(b.execute(ok)).rejects.toBeInstanceOf(BrokenCircuitError);
    await jest.advanceTimersByTimeAsync(500);
    await expect(b.execute(ok)).resolves.toBe('ok');
    expect(b.state).toBe('closed');
  });

  it('success threshold: stays half-open until N probes succeed, one at a time', async () => {
    const states: CircuitState[] = [];
    const b = circuitBreaker({
      trigger: { kind: 'consecutive', threshold: 1 },
      halfOpenAfter: 100,
      successThreshold: 3,
      onStateChange: (s) => states.push(s),
    });
    await b.execute(down).catch(() => {});
    await jest.advanceTimersByTimeAsync(100);
    await b.execute(ok);
    expect(b.state).toBe('half-open');
    // Second probe in flight: concurrent calls are refused.
    const slow = deferred<string>();
    const second = b.execute(() => slow.promise);
    await expect(b.execute(ok)).rejects.toBeInstanceOf(BrokenCircuitError);
    slow.resolve('2');
    await second;
    expect(b.state).toBe('half-open');
    await b.execute(ok);
    expect(b.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('probe quota: while recovering, up to probeConcurrency probes run at once', async () => {
    const b = circuitBreaker({
      trigger: { kind: 'consecutive', threshold: 1 },
      halfOpenAfter: 100,
      successThreshold: 4,
      probeConcurrency: 2,
    });
    await b.execute(down).catch(() => {});
    await jest.advanceTimersByTimeAsync(100);
    await b.execute(ok); // the first probe, alone
    const gates = [deferred<string>(), deferred<string>()];
    const calls = jest.fn((i: number) => gates[i]!.promise);
    const p1 = b.execute(() => calls(0));
    const p2 = b.execute(() => calls(1));
    await expect(b.execute(ok)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(calls).toHaveBeenCalledTimes(2);
    gates[0]!.resolve('a');
    gates[1]!.resolve('b');
    await Promise.all([p1, p2]);
    expect(b.state).toBe('half-open');
    await b.execute(ok);
    expect(b.state).toBe('closed');
  });

  it('success threshold: a failure while recovering re-opens at once', async () => {
    const b = circuitBreaker({
      trigger: { kind: 'consecutive', threshold: 5 },
      halfOpenAfter: 100,
      successThreshold: 2,
    });
    for (let i = 0; i < 5; i++) await b.execute(down).catch(() => {});
    await jest.advanceTimersByTimeAsync(100);
    await b.execute(ok);
    expect(b.state).toBe('half-open');
    await b.execute(down).catch(() => {});
    expect(b.state).toBe('open');
  });

  it('sampling: opens on the failure rate only once the window saw minThroughput calls', async () => {
    const b = circuitBreaker({
      trigger: { kind: 'sampling', threshold: 0.5, windowMs: 10_000, minThroughput: 20 },
    });
    // 10 failures out of 10: rate 100 % but below the minimum throughput.
    for (let i = 0; i < 10; i++) await b.execute(down).catch(() => {});
    expect(b.state).toBe('closed');
    // 40 % failure rate over 30 calls: below threshold.
    for (let i = 0; i < 20; i++) await b.execute(ok);
    expect(b.state).toBe('closed');
    for (let i = 0; i < 15; i++) await b.execute(down).catch(() => {});
    // 25 failures / 45 calls > 50 %? 25/45 = 55 %.
    expect(b.state).toBe('open');
  });

  it('counts a per-attempt timeout as a dependency failure', async () => {
    const b = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 2 } });
    const p = policy(b, timeout(50));
    for (let i = 0; i < 2; i++) {
      const r = p.execute(() => new Promise(() => {}));
      r.catch(() => {});
      await jest.advanceTimersByTimeAsync(60);
    }
    expect(b.state).toBe('open');
  });

  it("never opens on the caller's own aborts (clients going away)", async () => {
    const b = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 2 } });
    const p = policy(b, timeout(5_000));
    // A fetch-like callee: rejects with an AbortError when its signal aborts.
    const hang = ({ signal }: { signal: AbortSignal }) =>
      new Promise<string>((_, reject) =>
        signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
      );
    // Through a timeout (the breaker sees the abort reason) and straight (it sees the callee's error).
    for (const target of [p, b, p, b]) {
      const ac = new AbortController();
      const call = target.execute(hang, { signal: ac.signal });
      ac.abort(); // reason: DOMException AbortError
      await expect(call).rejects.toMatchObject({ name: 'AbortError' });
      await jest.advanceTimersByTimeAsync(0);
    }
    expect(b.state).toBe('closed');
    await expect(b.execute(ok)).resolves.toBe('ok');
  });

  it('a probe cut short by its caller does not close the breaker', async () => {
    const b = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 1 }, halfOpenAfter: 100 });
    await b.execute(down).catch(() => {});
    await jest.advanceTimersByTimeAsync(100);
    const ac = new AbortController();
    const probe = b.execute(rejectOnAbort, { signal: ac.signal });
    ac.abort();
    await expect(probe).rejects.toMatchObject({ name: 'AbortError' });
    await jest.advanceTimersByTimeAsync(0);
    expect(b.state).toBe('open');
  });

  it('a probe cut short by the retry deadline does not close the breaker', async () => {
    const b = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 1 }, halfOpenAfter: 100 });
    await b.execute(down).catch(() => {});
    await jest.advanceTimersByTimeAsync(100);
    // The callee rejects with the abort reason (here the deadline error).
    const hung = policy(retry({ deadlineMs: 50, budget: false }), b).execute(rejectOnAbort);
    hung.catch(() => {});
    await jest.advanceTimersByTimeAsync(100);
    await expect(hung).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(b.state).toBe('open');
  });

  it('inside a retry: the retry does not hammer an open breaker', async () => {
    const b = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 2 }, halfOpenAfter: 60_000 });
    const fn = jest.fn(down);
    const p = policy(retry({ maxAttempts: 5, initialDelayMs: 1, budget: false }), b).execute(fn);
    p.catch(() => {});
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(p).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('isolate() holds it open until disposed', async () => {
    const b = circuitBreaker();
    const h = b.isolate();
    expect(b.state).toBe('isolated');
    const err = await b.execute(ok).catch((e) => e);
    expect(err.state).toBe('isolated');
    expect(classify(err).code).toBe('CIRCUIT_ISOLATED');
    h.dispose();
    expect(b.state).toBe('closed');
    await expect(b.execute(ok)).resolves.toBe('ok');
  });

  it('a throwing state listener does not break the breaker', async () => {
    const b = circuitBreaker({ trigger: { kind: 'consecutive', threshold: 1 } });
    const off = b.onStateChange(() => {
      throw new Error('listener bug');
    });
    await b.execute(down).catch(() => {});
    expect(b.state).toBe('open');
    off();
  });
});
