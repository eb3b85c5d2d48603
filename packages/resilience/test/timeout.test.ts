import { EventEmitter } from 'node:events';
import { UnavailableError } from '@mem0-stack/errors';
import { isPolicyTimeoutError, PolicyTimeoutError, policy, retry, timeout } from '@mem0-stack/resilience';
import { pendingDeadlines } from '../src/internal/deadlines';

const never = () => new Promise<never>(() => {});

describe('timeout', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('rejects with a PolicyTimeoutError at the limit, not before', async () => {
    const t = timeout(100);
    const p = t.execute(never);
    let settled: unknown;
    p.catch((e) => {
      settled = e;
    });
    await jest.advanceTimersByTimeAsync(95);
    expect(settled).toBeUndefined();
    await jest.advanceTimersByTimeAsync(10);
    expect(isPolicyTimeoutError(settled)).toBe(true);
    expect((settled as PolicyTimeoutError).code).toBe('POLICY_TIMEOUT');
    expect((settled as PolicyTimeoutError).timeoutMs).toBe(100);
    expect(pendingDeadlines()).toBe(0);
  });

  it('aborts ctx.signal when the callee reads it, with the timeout error as reason', async () => {
    let signal: AbortSignal | undefined;
    const p = timeout(50).execute(({ signal: s }) => {
      signal = s;
      return never();
    });
    p.catch(() => {});
    expect(signal?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(60);
    expect(signal?.aborted).toBe(true);
    expect(isPolicyTimeoutError(signal?.reason)).toBe(true);
    await expect(p).rejects.toBeInstanceOf(PolicyTimeoutError);
  });

  it('calls onAbort listeners without an AbortController (pg cancel path)', async () => {
    const seen: unknown[] = [];
    const p = timeout(30).execute((ctx) => {
      ctx.onAbort((r) => seen.push(r));
      return never();
    });
    p.catch(() => {});
    await jest.advanceTimersByTimeAsync(40);
    expect(seen).toHaveLength(1);
    expect(isPolicyTimeoutError(seen[0])).toBe(true);
  });

  it('resolves fast calls and stops tracking them (no timer work per call)', async () => {
    const t = timeout(1_000);
    for (let i = 0; i < 100; i++) await expect(t.execute(async () => i)).resolves.toBe(i);
    expect(pendingDeadlines()).toBe(0);
    await expect(t.execute(() => 'sync')).resolves.toBe('sync');
    await expect(
      t.execute(() => {
        throw new Error('sync throw');
      }),
    ).rejects.toThrow('sync throw');
    expect(pendingDeadlines()).toBe(0);
  });

  it('propagates the caller abort to the callee signal and rejects with its reason', async () => {
    const ac = new AbortController();
    let inner: AbortSignal | undefined;
    const p = timeout(10_000).execute(({ signal }) => {
      inner = signal;
      return never();
    }, ac.signal);
    p.catch(() => {});
    ac.abort(new Error('client went away'));
    await expect(p).rejects.toThrow('client went away');
    expect(inner?.aborted).toBe(true);
    expect(pendingDeadlines()).toBe(0);
  });

  it('handles different durations on one shared timer (shorter one first)', async () => {
    const long = timeout(500).execute(never);
    const short = timeout(50).execute(never);
    const order: string[] = [];
    long.catch(() => order.push('long'));
    short.catch(() => order.push('short'));
    await jest.advanceTimersByTimeAsync(60);
    expect(order).toEqual(['short']);
    await jest.advanceTimersByTimeAsync(500);
    expect(order).toEqual(['short', 'long']);
  });

  it('times out each attempt inside a retry, with a fresh signal per attempt', async () => {
    const signals: AbortSignal[] = [];
    const p = policy(
      retry({ maxAttempts: 3, initialDelayMs: 10, jitter: 'none', budget: false }),
      timeout(100),
    ).execute(
      ({ signal, attempt }) => {
        signals.push(signal);
        return attempt < 3 ? never() : Promise.resolve('third time');
      },
      { idempotent: true },
    );
    await jest.advanceTimersByTimeAsync(400);
    await expect(p).resolves.toBe('third time');
    expect(signals).toHaveLength(3);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[1]?.aborted).toBe(true);
    expect(signals[2]?.aborted).toBe(false);
  });

  it('is not retried for non-idempotent work (the request may have been sent)', async () => {
    let calls = 0;
    const p = policy(retry({ budget: false }), timeout(100)).execute(() => {
      calls++;
      return never();
    });
    p.catch(() => {});
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(p).rejects.toBeInstanceOf(PolicyTimeoutError);
    expect(calls).toBe(1);
  });

  it('rejects bad durations', () => {
    expect(() => timeout(0)).toThrow(RangeError);
    expect(() => timeout(Number.NaN)).toThrow(RangeError);
  });

  it('leaves unrelated errors untouched', async () => {
    const err = new UnavailableError('down');
    await expect(timeout(100).execute(() => Promise.reject(err))).rejects.toBe(err);
  });
});

describe('timeout in a real process', () => {
  it("does not keep a finished process alive (the shared timer is unref'd when idle)", async () => {
    const { runNode } = await import('@mem0-stack/testkit');
    const dist = require.resolve('../dist/index.js');
    const script = `
      const { presets, timeout } = require(${JSON.stringify(dist)});
      (async () => {
        const t = timeout(60000);
        for (let i = 0; i < 1000; i++) await t.execute(async () => i);
        await presets.database().execute(async () => 1);
        console.log('done');
      })();`;
    const t0 = Date.now();
    const r = await runNode(['-e', script], { timeoutMs: 20_000 });
    expect(r.stdout).toContain('done');
    expect(r.code).toBe(0);
    // A 60 s timeout must not hold the exit; a few seconds covers node start-up on a busy machine.
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it("leaves no abort listener on the caller's signal after the calls (no leak across calls)", async () => {
    const ac = new AbortController();
    const p = policy(retry({ budget: false }), timeout(1_000));
    for (let i = 0; i < 500; i++) {
      await p.execute(async ({ signal }) => (signal.aborted ? 0 : i), { signal: ac.signal });
    }
    expect(EventEmitter.getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});
