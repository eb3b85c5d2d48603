import { trace } from '@opentelemetry/api';
import {
  AppError,
  classify,
  errorStats,
  installProcessHandlers,
  problemDetails,
  recordError,
  resetErrorStats,
} from '../src/index';
import { type Harness, installHarness } from './harness';

let h: Harness;
beforeAll(() => {
  h = installHarness();
});
afterAll(async () => {
  await h.shutdown();
});
beforeEach(() => {
  h.logs.length = 0;
  h.spans.reset();
  resetErrorStats();
});

describe('recordError: secrets in thrown non-Error values', () => {
  it('does not copy sensitive fields of a thrown plain object into the log line or the span', () => {
    const span = trace.getTracer('test').startSpan('job');
    // e.g. a rejected request config / credentials object thrown as is
    recordError(
      { user: 'bob', password: 'regressionser2', headers: { authorization: 'Bearer abcdefghijklmnop' } },
      { span },
    );
    span.end();
    const line = JSON.stringify(h.logs[0]);
    const events = JSON.stringify(h.spans.getFinishedSpans()[0]?.events);
    for (const text of [line, events]) {
      expect(text).not.toContain('regressionser2');
      expect(text).not.toContain('abcdefghijklmnop');
    }
    // the non-sensitive part is still there to debug with
    expect(h.logs[0]?.['exception.message']).toContain('bob');
  });

  it('masks a bearer token in an Error message on the span too (the log line already is)', () => {
    const span = trace.getTracer('test').startSpan('job');
    recordError(new Error('upstream refused Authorization: Bearer abcdefghijklmnop'), { span });
    span.end();
    expect(JSON.stringify(h.spans.getFinishedSpans()[0]?.events)).not.toContain('abcdefghijklmnop');
  });
});

describe('app.errors cardinality', () => {
  it('folds codes past the errorStats cap into OTHER in the metric as well', async () => {
    for (let i = 0; i < 600; i++) recordError(new AppError('per-item failure', { code: `ITEM_${i}_FAILED` }));
    const stats = errorStats();
    expect(stats.byCode.ITEM_599_FAILED).toBeUndefined();
    expect(stats.byCode.OTHER?.count).toBe(100);
    // the metric must agree with errorStats(): no series per minted code past the cap
    expect(await h.errorCount({ 'error.code': 'ITEM_599_FAILED' })).toBe(0);
    expect(await h.errorCount({ 'error.code': 'OTHER' })).toBe(100);
  });
});

describe('user messages for codes named like Object.prototype members', () => {
  it.each(['toString', 'constructor', 'valueOf', 'hasOwnProperty'])(
    'code %s gets the category message, not a prototype method',
    (code) => {
      const c = classify(new AppError('x', { code, category: 'conflict' }));
      expect(c.userMessage).toBe(
        'This conflicts with the current state of the resource. Reload it and try again.',
      );
      expect(problemDetails(c).body.detail).toBe(c.userMessage);
    },
  );
});

describe('installProcessHandlers called twice', () => {
  it('replaces the earlier handlers instead of adding a second set (each failure logged once)', () => {
    const before = {
      rejection: process.listenerCount('unhandledRejection'),
      uncaught: process.listenerCount('uncaughtException'),
    };
    const exit = jest.fn();
    const first = installProcessHandlers({ exit });
    const second = installProcessHandlers({ exit });
    try {
      expect({
        rejection: process.listenerCount('unhandledRejection'),
        uncaught: process.listenerCount('uncaughtException'),
      }).toEqual({ rejection: before.rejection + 1, uncaught: before.uncaught + 1 });
      // The earlier uninstaller is now a no-op for the later handlers.
      first();
      expect(process.listenerCount('unhandledRejection')).toBe(before.rejection + 1);
    } finally {
      second();
    }
    expect(process.listenerCount('unhandledRejection')).toBe(before.rejection);
    expect(exit).not.toHaveBeenCalled();
  });
});
