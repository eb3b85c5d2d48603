import {
  AppError,
  ConflictError,
  classify,
  isAppError,
  isClassifiedError,
  isConflictError,
  isNotFoundError,
  isValidationError,
  NotFoundError,
  problemDetails,
  registerClassifier,
  ValidationError,
} from './index';

describe('classify: odd thrown values', () => {
  const cyclic = new Error('cyclic');
  (cyclic as { cause?: unknown }).cause = cyclic;
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  const throwing = new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
      getPrototypeOf() {
        throw new Error('trap');
      },
    },
  );
  const cases: Array<[string, unknown]> = [
    ['string', 'boom'],
    ['null', null],
    ['undefined', undefined],
    ['number', 42],
    ['plain object', { message: 'nope' }],
    ['symbol', Symbol('s')],
    ['cyclic cause', cyclic],
    ['two-node cause cycle', a],
    ['proxy that throws on every access', throwing],
    ['Object.create(null)', Object.create(null)],
    ['function', () => 1],
  ];
  it.each(cases)('%s → internal/high, unclassified, never throws', (_name, value) => {
    const c = classify(value);
    expect(c).toMatchObject({
      code: 'UNCLASSIFIED',
      category: 'internal',
      severity: 'high',
      retryable: false,
      status: 500,
      unclassified: true,
    });
    expect(c.cause).toBe(value);
    expect(c.userMessage).toMatch(/correlation ID/);
  });

  it('AggregateError: worst member wins, retryable only if all are', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const all = classify(new AggregateError([refused, Object.assign(new Error('x'), { code: 'ETIMEDOUT' })]));
    expect(all).toMatchObject({ category: 'unavailable', retryable: true, code: 'CONNECTION_REFUSED' });
    const mixed = classify(new AggregateError([refused, new NotFoundError('m')]));
    expect(mixed).toMatchObject({ code: 'NOT_FOUND', retryable: false });
    const unknown = classify(new AggregateError(['a', null]));
    expect(unknown.unclassified).toBe(true);
  });

  it('programming errors are internal but classified', () => {
    expect(classify(new TypeError('x is not a function'))).toMatchObject({
      code: 'PROGRAMMING_ERROR',
      category: 'internal',
    });
    expect(classify(new TypeError('x')).unclassified).toBeUndefined();
  });

  it('an AbortError caused by AbortSignal.timeout() (node http, timers, events) is a retryable TIMEOUT', async () => {
    const { setTimeout: sleep } = await import('node:timers/promises');
    const keepAlive = setInterval(() => {}, 1000); // AbortSignal.timeout's timer is unref'd
    const err = await sleep(1000, null, { signal: AbortSignal.timeout(5) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    clearInterval(keepAlive);
    expect((err as Error).name).toBe('AbortError');
    expect(((err as Error).cause as Error).name).toBe('TimeoutError');
    expect(classify(err)).toMatchObject({
      code: 'TIMEOUT',
      category: 'timeout',
      retryable: true,
      status: 504,
    });
    // A deliberate abort (no timeout behind it) stays ABORTED.
    const ac = new AbortController();
    ac.abort();
    const aborted = await sleep(1000, null, { signal: ac.signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classify(aborted)).toMatchObject({ code: 'ABORTED', retryable: false });
  });

  it('a value forging the ClassifiedError brand is classified, not trusted (problemDetails never throws)', () => {
    const forged = new Proxy({}, { get: () => true });
    expect(() => problemDetails(forged)).not.toThrow();
    expect(classify(forged)).toMatchObject({ category: 'internal', status: 500 });
    const plain = { [Symbol.for('@mem0-stack/errors.ClassifiedError')]: true, code: 42 };
    expect(() => problemDetails(plain)).not.toThrow();
  });

  it('is idempotent and memoised', () => {
    const e = new Error('e');
    const c = classify(e);
    expect(classify(e)).toBe(c);
    expect(classify(c)).toBe(c);
    expect(isClassifiedError(c)).toBe(true);
    expect(isClassifiedError({ ...c })).toBe(false);
  });
});

describe('AppError and guards', () => {
  it('subclasses carry category defaults and explicit overrides', () => {
    const e = new NotFoundError('memory 7 missing', { code: 'MEMORY_NOT_FOUND' });
    expect(e).toBeInstanceOf(AppError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('NotFoundError');
    expect(e).toMatchObject({
      code: 'MEMORY_NOT_FOUND',
      category: 'not_found',
      status: 404,
      severity: 'low',
    });
    expect(classify(e)).toMatchObject({
      code: 'MEMORY_NOT_FOUND',
      category: 'not_found',
      status: 404,
      rule: 'app',
    });
    const v = new ValidationError('bad', { details: [{ path: 'text', message: 'Required' }] });
    expect(classify(v).details).toEqual([{ path: 'text', message: 'Required' }]);
  });

  it('explicit userMessage wins over the catalogue', () => {
    const e = new ConflictError('x', { userMessage: 'That name is taken.' });
    expect(classify(e).userMessage).toBe('That name is taken.');
  });

  it('guards work across package copies (brand, not instanceof)', () => {
    // A second copy of the package has its own AppError class; simulate with a foreign object
    // carrying the same global brand.
    const foreign = Object.defineProperty(
      Object.assign(new Error('other copy'), {
        code: 'X',
        category: 'conflict',
        severity: 'low',
        retryable: false,
        status: 409,
      }),
      Symbol.for('@mem0-stack/errors.AppError'),
      { value: true },
    );
    expect(foreign instanceof AppError).toBe(false);
    expect(isAppError(foreign)).toBe(true);
    expect(isConflictError(foreign)).toBe(true);
    expect(isNotFoundError(foreign)).toBe(false);
    expect(isValidationError(new Error('plain'))).toBe(false);
    expect(isAppError(null)).toBe(false);
    expect(classify(foreign)).toMatchObject({ code: 'X', category: 'conflict', status: 409 });
  });

  it('an AppError wrapping a retryable cause keeps its own classification', () => {
    const pgDeadlock = Object.assign(new Error('deadlock detected'), { code: '40P01', severity: 'ERROR' });
    const wrapped = new AppError('save failed', {
      code: 'SAVE_FAILED',
      category: 'internal',
      cause: pgDeadlock,
    });
    expect(classify(wrapped)).toMatchObject({ code: 'SAVE_FAILED', retryable: false });
    // …while a plain wrapper defers to its cause.
    expect(classify(new Error('save failed', { cause: pgDeadlock }))).toMatchObject({ code: 'DB_DEADLOCK' });
  });
});

describe('registerClassifier', () => {
  class QuotaError extends Error {}

  it('custom rules run before built-ins, can be removed, and bad rules are skipped', () => {
    const quota = new QuotaError('quota');
    expect(classify(quota).unclassified).toBe(true);
    const offBroken = registerClassifier(() => {
      throw new Error('broken rule');
    });
    const off = registerClassifier(
      (e) =>
        e instanceof QuotaError
          ? { code: 'EMBEDDER_QUOTA', category: 'rate_limited', retryAfterMs: 60_000 }
          : undefined,
      { name: 'embedder' },
    );
    const fresh = new QuotaError('quota');
    expect(classify(fresh)).toMatchObject({
      code: 'EMBEDDER_QUOTA',
      category: 'rate_limited',
      retryable: true,
      status: 429,
      retryAfterMs: 60_000,
      rule: 'embedder',
    });
    expect(classify(fresh).userMessage).toContain('60 seconds');
    off();
    offBroken();
    expect(classify(fresh).unclassified).toBe(true);
  });

  it('precedence: higher priority first, then most recent; AppError beats default priority', () => {
    const e = Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
    const off1 = registerClassifier(() => ({ code: 'FIRST', category: 'internal' }), { priority: 50 });
    const off2 = registerClassifier(() => ({ code: 'SECOND', category: 'internal' }), { priority: 50 });
    expect(classify(e).code).toBe('SECOND');
    const off3 = registerClassifier(() => ({ code: 'TOP', category: 'internal' }), { priority: 60 });
    expect(classify(e).code).toBe('TOP');
    expect(classify(new NotFoundError('n')).code).toBe('NOT_FOUND');
    const off4 = registerClassifier(() => ({ code: 'OVER_APP', category: 'internal' }), { priority: 2000 });
    expect(classify(new NotFoundError('n')).code).toBe('OVER_APP');
    for (const off of [off1, off2, off3, off4]) off();
    expect(classify(e).code).toBe('CONNECTION_REFUSED');
  });

  it('invalid rule output is validated (bad category, status, code)', () => {
    const off = registerClassifier((e) =>
      e === 'weird'
        ? ({ code: 'bad code!\n', category: 'nope', status: 99, retryAfterMs: -5 } as never)
        : undefined,
    );
    const c = classify('weird');
    off();
    expect(c).toMatchObject({ code: 'bad_code_', category: 'internal', status: 500 });
    expect(c.retryAfterMs).toBeUndefined();
  });
});
