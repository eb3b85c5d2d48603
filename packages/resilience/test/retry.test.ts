import { AppError, NotFoundError, RateLimitedError, UnavailableError } from '@mem0-stack/errors';
import {
  createRetryBudget,
  isPolicyTimeoutError,
  type RetryEvent,
  recoveryStats,
  resetRecoveryStats,
  retry,
} from '@mem0-stack/resilience';

const never = () => new Promise<never>(() => {});
/** Fails `n` times with `err`, then returns 'ok'. */
function flaky(n: number, err: () => unknown = () => new UnavailableError('down')) {
  let calls = 0;
  const fn = jest.fn(async () => {
    calls++;
    if (calls <= n) throw err();
    return 'ok';
  });
  return fn;
}
function pgError(code: string, message: string) {
  // The shape node-postgres gives a server error.
  return Object.assign(new Error(message), { code, severity: 'ERROR', routine: 'test' });
}

describe('retry', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    resetRecoveryStats();
  });
  afterEach(() => jest.useRealTimers());

  async function run<T>(p: Promise<T>, ms = 60_000): Promise<T> {
    p.catch(() => {});
    await jest.advanceTimersByTimeAsync(ms);
    return p;
  }

  it('retries retryable failures and counts the recovery', async () => {
    const fn = flaky(2);
    await expect(run(retry({ maxAttempts: 3, budget: false }).execute(fn))).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(3);
    expect(recoveryStats()).toEqual({ recovered: 1, exhausted: 0, rate: 1 });
  });

  it('gives up after maxAttempts (total attempts) and counts it exhausted', async () => {
    const fn = flaky(10);
    await expect(run(retry({ maxAttempts: 3, budget: false }).execute(fn))).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(fn).toHaveBeenCalledTimes(3);
    expect(recoveryStats()).toEqual({ recovered: 0, exhausted: 1, rate: 0 });
  });

  it('never retries non-retryable errors: not found, unique violation, syntax error', async () => {
    for (const err of [
      new NotFoundError('no such memory'),
      pgError('23505', 'duplicate key value violates unique constraint "t_pkey"'),
      pgError('42601', 'syntax error at or near "SELEC"'),
      new TypeError('x is not a function'),
    ]) {
      const fn = jest.fn(async () => {
        throw err;
      });
      await expect(run(retry({ maxAttempts: 5, budget: false }).execute(fn))).rejects.toBe(err);
      expect(fn).toHaveBeenCalledTimes(1);
    }
    expect(recoveryStats().exhausted).toBe(0);
  });

  it('retries serialization failures and deadlocks even for non-idempotent work', async () => {
    const fn = flaky(2, () => pgError('40001', 'could not serialize access'));
    await expect(run(retry({ budget: false }).execute(fn, { idempotent: false }))).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('retries maybe-sent errors (ECONNRESET, backend terminated) only for idempotent work', async () => {
    const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const notIdem = flaky(1, reset);
    await expect(run(retry({ budget: false }).execute(notIdem))).rejects.toThrow('ECONNRESET');
    expect(notIdem).toHaveBeenCalledTimes(1);
    const perCall = flaky(1, reset);
    await expect(run(retry({ budget: false }).execute(perCall, { idempotent: true }))).resolves.toBe('ok');
    const policyWide = flaky(1, () =>
      pgError('57P01', 'terminating connection due to administrator command'),
    );
    await expect(run(retry({ budget: false, idempotent: true }).execute(policyWide))).resolves.toBe('ok');
    expect(policyWide).toHaveBeenCalledTimes(2);
  });

  it('lets a custom predicate decide what is retryable', async () => {
    const fn = flaky(1, () => new NotFoundError('eventually consistent read'));
    const r = retry({
      budget: false,
      shouldRetry: (_e, { classified }) => classified.category === 'not_found',
    });
    await expect(run(r.execute(fn))).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(2);
  });

  describe('backoff', () => {
    function delaysOf(opts: Parameters<typeof retry>[0], failures: number) {
      const events: RetryEvent[] = [];
      const p = retry({ budget: false, ...opts, onRetry: (e) => events.push(e) }).execute(flaky(failures));
      return { p, events };
    }

    it('grows exponentially and stops at the cap (no jitter)', async () => {
      const { p, events } = delaysOf(
        { maxAttempts: 8, initialDelayMs: 100, maxDelayMs: 1_000, jitter: 'none' },
        7,
      );
      await run(p);
      expect(events.map((e) => e.delayMs)).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
      expect(events.map((e) => e.attempt)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    });

    it('waits the delay it announced before the next attempt', async () => {
      const fn = flaky(1);
      const p = retry({ budget: false, initialDelayMs: 100, jitter: 'none' }).execute(fn);
      await jest.advanceTimersByTimeAsync(99);
      expect(fn).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(2);
      expect(fn).toHaveBeenCalledTimes(2);
      await expect(p).resolves.toBe('ok');
    });

    it('full jitter stays within [0, min(cap, base·2^n)) and spreads', async () => {
      const first: number[] = [];
      const third: number[] = [];
      for (let i = 0; i < 300; i++) {
        const { p, events } = delaysOf(
          { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 300, jitter: 'full' },
          3,
        );
        await run(p, 2_000);
        first.push(events[0]!.delayMs);
        third.push(events[2]!.delayMs);
      }
      expect(Math.min(...first)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...first)).toBeLessThan(100);
      expect(Math.max(...third)).toBeLessThan(300); // 400 capped at 300
      // Spread: at least 4 of 5 equal-width buckets hit, and a wide standard deviation
      // (uniform on [0,100) has σ ≈ 29).
      const buckets = new Set(first.map((d) => Math.floor(d / 20)));
      expect(buckets.size).toBeGreaterThanOrEqual(4);
      const mean = first.reduce((a, b) => a + b, 0) / first.length;
      const sd = Math.sqrt(first.reduce((a, b) => a + (b - mean) ** 2, 0) / first.length);
      expect(sd).toBeGreaterThan(20);
      expect(new Set(first).size).toBeGreaterThan(50);
    });

    it('decorrelated jitter never exceeds the cap and is not constant', async () => {
      const all: number[] = [];
      for (let i = 0; i < 100; i++) {
        const { p, events } = delaysOf(
          { maxAttempts: 6, initialDelayMs: 50, maxDelayMs: 400, jitter: 'decorrelated' },
          5,
        );
        await run(p, 5_000);
        all.push(...events.map((e) => e.delayMs));
      }
      expect(Math.max(...all)).toBeLessThanOrEqual(400);
      expect(Math.min(...all)).toBeGreaterThanOrEqual(0);
      expect(new Set(all.map(Math.round)).size).toBeGreaterThan(100);
    });
  });

  describe('Retry-After', () => {
    it('waits at least the server hint', async () => {
      const fn = flaky(1, () => new RateLimitedError('slow down', { retryAfterMs: 3_000 }));
      const events: RetryEvent[] = [];
      const p = retry({ budget: false, initialDelayMs: 10, onRetry: (e) => events.push(e) }).execute(fn);
      p.catch(() => {});
      await jest.advanceTimersByTimeAsync(2_990);
      expect(fn).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(20);
      expect(fn).toHaveBeenCalledTimes(2);
      await expect(p).resolves.toBe('ok');
      expect(events[0]?.delayMs).toBe(3_000);
    });

    it('gives up at once when the hint is longer than maxRetryAfterMs', async () => {
      const fn = flaky(1, () => new RateLimitedError('come back tomorrow', { retryAfterMs: 86_400_000 }));
      const p = retry({ budget: false, maxRetryAfterMs: 10_000 }).execute(fn);
      await expect(run(p, 100)).rejects.toThrow('come back tomorrow');
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it('can be ignored', async () => {
      const events: RetryEvent[] = [];
      const fn = flaky(1, () => new RateLimitedError('slow', { retryAfterMs: 5_000 }));
      const p = retry({
        budget: false,
        respectRetryAfter: false,
        initialDelayMs: 10,
        jitter: 'none',
        onRetry: (e) => events.push(e),
      }).execute(fn);
      await run(p, 100);
      expect(events[0]?.delayMs).toBe(10);
    });
  });

  describe('deadline', () => {
    it('does not start a retry that would end past the deadline', async () => {
      const fn = flaky(10);
      const events: RetryEvent[] = [];
      const p = retry({
        budget: false,
        maxAttempts: 10,
        initialDelayMs: 100,
        jitter: 'none',
        deadlineMs: 1_000,
        onRetry: (e) => events.push(e),
      }).execute(fn);
      p.catch(() => {});
      // Delays 100, 200, 400 (t=700); the next (800) would end at 1 500 > 1 000.
      await jest.advanceTimersByTimeAsync(800);
      await expect(p).rejects.toBeInstanceOf(UnavailableError);
      expect(events.map((e) => e.delayMs)).toEqual([100, 200, 400]);
      expect(fn).toHaveBeenCalledTimes(4);
    });

    it('cuts a hanging attempt at the deadline with DEADLINE_EXCEEDED', async () => {
      let signal: AbortSignal | undefined;
      const p = retry({ deadlineMs: 500 }).execute((ctx) => {
        signal = ctx.signal;
        return never();
      });
      p.catch(() => {});
      await jest.advanceTimersByTimeAsync(499);
      expect(signal?.aborted).toBe(false);
      await jest.advanceTimersByTimeAsync(2);
      const err = await p.catch((e) => e);
      expect(isPolicyTimeoutError(err) && err.deadline).toBe(true);
      expect(err.code).toBe('DEADLINE_EXCEEDED');
      expect(signal?.aborted).toBe(true);
    });

    it('refuses a Retry-After wait that would cross the deadline', async () => {
      const fn = flaky(10, () => new RateLimitedError('busy', { retryAfterMs: 900 }));
      const p = retry({ budget: false, deadlineMs: 2_000, maxAttempts: 5 }).execute(fn);
      p.catch(() => {});
      // Attempts at 0, 900, 1 800; a third wait would end at 2 700 > 2 000: give up at 1 800.
      await jest.advanceTimersByTimeAsync(1_850);
      await expect(p).rejects.toBeInstanceOf(RateLimitedError);
      expect(fn).toHaveBeenCalledTimes(3);
    });
  });

  describe('abort', () => {
    it('stops during the backoff sleep with the abort reason, without another attempt', async () => {
      const fn = flaky(10);
      const ac = new AbortController();
      const p = retry({ budget: false, initialDelayMs: 10_000, jitter: 'none' }).execute(fn, {
        signal: ac.signal,
      });
      p.catch(() => {});
      await jest.advanceTimersByTimeAsync(100);
      expect(fn).toHaveBeenCalledTimes(1);
      ac.abort(new Error('shutting down'));
      await expect(p).rejects.toThrow('shutting down');
      await jest.advanceTimersByTimeAsync(20_000);
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it('rejects at once, even when the callee ignores its signal', async () => {
      const ac = new AbortController();
      const p = retry().execute(never, ac.signal);
      ac.abort(new Error('caller left'));
      await expect(p).rejects.toThrow('caller left');
    });

    it('does not start at all with an already-aborted signal', async () => {
      const fn = jest.fn(async () => 'x');
      await expect(retry().execute(fn, AbortSignal.abort(new Error('too late')))).rejects.toThrow('too late');
      expect(fn).not.toHaveBeenCalled();
    });
  });

  describe('budget', () => {
    it('stops retrying once the shared budget is spent, and refills over the window', async () => {
      const budget = createRetryBudget({ ratio: 0, minRetries: 3, windowMs: 1_000 });
      const a = retry({ budget, maxAttempts: 2, initialDelayMs: 1, jitter: 'none' });
      const b = retry({ budget, maxAttempts: 2, initialDelayMs: 1, jitter: 'none' });
      const fns = Array.from({ length: 6 }, () => flaky(10));
      for (const [i, fn] of fns.entries()) await run((i % 2 ? a : b).execute(fn), 10).catch(() => {});
      expect(fns.map((f) => f.mock.calls.length)).toEqual([2, 2, 2, 1, 1, 1]);
      expect(budget.snapshot().retries).toBe(3);
      await jest.advanceTimersByTimeAsync(1_100);
      const later = flaky(1);
      await expect(run(a.execute(later), 10)).resolves.toBe('ok');
    });

    it('allows ratio × calls on top of the floor', () => {
      const budget = createRetryBudget({ ratio: 0.1, minRetries: 2 });
      for (let i = 0; i < 100; i++) budget.deposit();
      let granted = 0;
      while (budget.tryWithdraw()) granted++;
      expect(granted).toBe(12);
    });
  });

  it('still counts a recovery for non-Error throwables and keeps going with odd errors', async () => {
    const fn = flaky(1, () => new AppError('transient', { category: 'unavailable', retryable: true }));
    await expect(run(retry({ budget: false }).execute(fn))).resolves.toBe('ok');
    const weird = jest.fn(async () => {
      throw 'a string';
    });
    await expect(run(retry({ budget: false }).execute(weird))).rejects.toBe('a string');
    expect(weird).toHaveBeenCalledTimes(1);
  });

  it('validates its options', () => {
    expect(() => retry({ maxAttempts: 0 })).toThrow(RangeError);
    expect(() => retry({ deadlineMs: -1 })).toThrow(RangeError);
  });
});
