import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  AppError,
  errorStats,
  NotFoundError,
  recordError,
  resetErrorStats,
  UnavailableError,
  ValidationError,
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

const tracer = () => trace.getTracer('test');

describe('recordError', () => {
  it('logs once with level from severity and the classification fields', () => {
    const err = new UnavailableError('embedder at http://user:hunter2@10.0.0.5 refused', {
      code: 'EMBEDDER_DOWN',
    });
    const c1 = recordError(err);
    const c2 = recordError(err);
    expect(c2).toBe(c1);
    expect(h.logs).toHaveLength(1);
    expect(h.logs[0]).toMatchObject({
      level: 'error',
      'error.code': 'EMBEDDER_DOWN',
      'error.category': 'unavailable',
      'error.severity': 'high',
      'error.retryable': true,
      'exception.type': 'UnavailableError',
    });
    // Credentials in an internal message are masked even in logs.
    expect(JSON.stringify(h.logs[0])).not.toContain('hunter2');
    expect(h.logs[0]!['exception.message']).toContain('user:[REDACTED]@');
  });

  it.each([
    ['low → info', new ValidationError('bad'), 'info'],
    ['medium → warn', new AppError('slow', { category: 'timeout' }), 'warn'],
    ['high → error', new Error('unknown'), 'error'],
    ['critical → error', new AppError('cfg', { category: 'configuration' }), 'error'],
  ])('%s', (_n, err, level) => {
    recordError(err);
    expect(h.logs[0]?.level).toBe(level);
  });

  it('primitives are recorded every time (no identity to dedupe on) and flagged unclassified', () => {
    recordError('boom');
    recordError('boom');
    expect(h.logs).toHaveLength(2);
    expect(h.logs[0]).toMatchObject({ 'error.code': 'UNCLASSIFIED', 'error.unclassified': true });
    expect(errorStats()).toMatchObject({ total: 2, unclassified: 2 });
  });

  it('stack only for internal errors', () => {
    recordError(new Error('bug'));
    recordError(new ValidationError('bad input'));
    expect(h.logs[0]!['exception.stacktrace']).toEqual(expect.stringContaining('recordError.test'));
    expect(h.logs[1]!['exception.stacktrace']).toBeUndefined();
  });

  it('5xx: exception event + ERROR status on the active span', () => {
    tracer().startActiveSpan('op', (span) => {
      recordError(new UnavailableError('db down'));
      span.end();
    });
    const [span] = h.spans.getFinishedSpans();
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'UNAVAILABLE' });
    expect(span!.attributes['error.type']).toBe('UNAVAILABLE');
    const ev = span!.events.find((e) => e.name === 'exception');
    expect(ev?.attributes).toMatchObject({
      'exception.type': 'UnavailableError',
      'exception.message': 'db down',
      'error.code': 'UNAVAILABLE',
      'error.category': 'unavailable',
      'error.severity': 'high',
    });
  });

  it('4xx: exception event but the span is not marked as an error', () => {
    tracer().startActiveSpan('op', (span) => {
      recordError(new NotFoundError('memory 9'));
      span.end();
    });
    const [span] = h.spans.getFinishedSpans();
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    expect(span!.attributes['error.type']).toBeUndefined();
    expect(span!.events.some((e) => e.name === 'exception')).toBe(true);
  });

  it('counts app.errors{error.category,error.severity,error.code} and errorStats by code', async () => {
    const before = await h.errorCount({ 'error.code': 'NOT_FOUND' });
    recordError(new NotFoundError('a'));
    recordError(new NotFoundError('b'));
    recordError(new UnavailableError('c'));
    expect(
      await h.errorCount({
        'error.code': 'NOT_FOUND',
        'error.category': 'not_found',
        'error.severity': 'low',
      }),
    ).toBe(before + 2);
    const s = errorStats();
    expect(s.total).toBe(3);
    expect(s.byCode.NOT_FOUND).toMatchObject({ count: 2, category: 'not_found', severity: 'low' });
    expect(s.byCategory).toEqual({ not_found: 2, unavailable: 1 });
    expect(s.bySeverity).toEqual({ low: 2, high: 1 });
  });

  it('errorStats stays bounded when a classifier mints endless codes', () => {
    for (let i = 0; i < 700; i++) recordError(new AppError('x', { code: `DYN_${i}` }));
    const s = errorStats();
    expect(Object.keys(s.byCode).length).toBeLessThanOrEqual(501);
    expect(s.byCode.OTHER?.count).toBe(200);
    expect(s.total).toBe(700);
  });

  it('a broken logger never fails the caller', () => {
    const broken = {
      log() {
        throw new Error('transport exploded');
      },
    } as never;
    expect(() => recordError(new Error('x'), { logger: broken })).not.toThrow();
  });
});
