import { runWithCorrelation } from '@mem0-stack/logging';
import {
  AppError,
  NotFoundError,
  problemDetails,
  RateLimitedError,
  sendProblem,
  setMessageTranslator,
  setUserMessages,
  UnavailableError,
  ValidationError,
} from '../src/index';

const req = (url = '/v1/memories/42?token=s3cr3t', headers: Record<string, string> = {}) => ({
  method: 'GET',
  url,
  headers,
});

describe('problemDetails', () => {
  it('builds an RFC 9457 body with the extension members', () => {
    const { status, headers, body } = runWithCorrelation('req-123', () =>
      problemDetails(new NotFoundError('memory 42 of tenant 7 missing', { code: 'MEMORY_NOT_FOUND' }), req()),
    );
    expect(status).toBe(404);
    expect(headers).toEqual({
      'content-type': 'application/problem+json; charset=utf-8',
      'cache-control': 'no-store',
      'x-correlation-id': 'req-123',
    });
    expect(body).toEqual({
      type: 'urn:mem0-stack:error:memory-not-found',
      title: 'Not Found',
      status: 404,
      detail: 'We could not find what you asked for. Check the address or identifier and try again.',
      instance: '/v1/memories/42',
      code: 'MEMORY_NOT_FOUND',
      category: 'not_found',
      correlation_id: 'req-123',
      retryable: false,
    });
    // The internal message and the query string (a token) never reach the body.
    expect(JSON.stringify(body)).not.toMatch(/tenant 7|s3cr3t/);
  });

  it('validation issues become errors[] with JSON pointers', () => {
    const err = new ValidationError('bad', {
      details: [
        { path: 'text', message: 'Required', code: 'too_small' },
        { path: 'tags.1', message: 'Expected string' },
      ],
    });
    const { body, status } = problemDetails(err);
    expect(status).toBe(400);
    expect(body.errors).toEqual([
      { path: 'text', message: 'Required', code: 'too_small', pointer: '#/text' },
      { path: 'tags.1', message: 'Expected string', pointer: '#/tags/1' },
    ]);
  });

  it('Retry-After header (whole seconds, rounded up) and a message that says when', () => {
    const { headers, body } = problemDetails(new RateLimitedError('quota', { retryAfterMs: 2500 }));
    expect(headers['retry-after']).toBe('3');
    expect(body).toMatchObject({ status: 429, retryable: true });
    expect(body.detail).toBe('Too many requests. Please wait and retry in 3 seconds.');
    expect(problemDetails(new Error('x')).headers['retry-after']).toBeUndefined();
  });

  it('keeps the WWW-Authenticate of a 401 and the Allow of a 405 the app set (http-errors), as RFC 9110 requires', () => {
    // createError(401, { headers }) / createError(405, { headers }) keep them on err.headers.
    const unauthorized = Object.assign(new Error('no token'), {
      status: 401,
      expose: true,
      headers: { 'WWW-Authenticate': 'Bearer realm="api"' },
    });
    const p401 = problemDetails(unauthorized);
    expect(p401.status).toBe(401);
    expect(p401.headers['www-authenticate']).toBe('Bearer realm="api"');
    const notAllowed = Object.assign(new Error('GET only'), {
      status: 405,
      expose: true,
      headers: { allow: 'GET, HEAD' },
    });
    expect(problemDetails(notAllowed).headers.allow).toBe('GET, HEAD');
    // Only those, and only valid values: no header injection, nothing else from err.headers.
    const hostile = Object.assign(new Error('x'), {
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer\r\nSet-Cookie: a=b', 'set-cookie': 'a=b' },
    });
    const ph = problemDetails(hostile);
    expect(ph.headers['www-authenticate']).toBeUndefined();
    expect(ph.headers['set-cookie']).toBeUndefined();
    expect(
      problemDetails(Object.assign(new Error('x'), { status: 404, headers: { allow: 'GET' } })).headers.allow,
    ).toBeUndefined();
  });

  it('generates a correlation id when there is no scope, and accepts an explicit one', () => {
    const a = problemDetails(new Error('x'));
    expect(a.body.correlation_id).toMatch(/^[0-9a-f]{32}$/);
    expect(a.headers['x-correlation-id']).toBe(a.body.correlation_id);
    expect(problemDetails(new Error('x'), undefined, { correlationId: 'job-9' }).body.correlation_id).toBe(
      'job-9',
    );
    // An invalid explicit id (log injection) is not used.
    expect(problemDetails(new Error('x'), undefined, { correlationId: 'a\nb' }).body.correlation_id).toMatch(
      /^[0-9a-f]{32}$/,
    );
  });

  it('catalogue overrides by code and by category, with restore', () => {
    const restore = setUserMessages({
      'category:unavailable': 'The memory service is temporarily unavailable. Please retry in a few seconds.',
      MEMORY_NOT_FOUND: 'No memory with this id. List memories with GET /v1/memories.',
    });
    try {
      expect(problemDetails(new UnavailableError('x')).body.detail).toBe(
        'The memory service is temporarily unavailable. Please retry in a few seconds.',
      );
      expect(problemDetails(new NotFoundError('x', { code: 'MEMORY_NOT_FOUND' })).body.detail).toBe(
        'No memory with this id. List memories with GET /v1/memories.',
      );
    } finally {
      restore();
    }
    expect(problemDetails(new UnavailableError('x')).body.detail).toMatch(
      /^The service is temporarily unavailable/,
    );
  });

  it('i18n hook receives the Accept-Language locale; a throwing translator falls back', () => {
    setMessageTranslator(({ code, locale, message }) =>
      locale?.startsWith('de') && code === 'NOT_FOUND' ? 'Nicht gefunden. Prüfen Sie die Adresse.' : message,
    );
    try {
      const de = problemDetails(
        new NotFoundError('x'),
        req('/x', { 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' }),
      );
      expect(de.body.detail).toBe('Nicht gefunden. Prüfen Sie die Adresse.');
      const en = problemDetails(new NotFoundError('x'), req('/x', { 'accept-language': 'en' }));
      expect(en.body.detail).toMatch(/^We could not find/);
      // The explicit AppError.userMessage is what the translator sees as the default.
      setMessageTranslator(({ message }) => `[fr] ${message}`);
      const explicit = problemDetails(
        new AppError('x', { userMessage: 'Custom text.' }),
        req('/x', { 'accept-language': 'fr' }),
      );
      expect(explicit.body.detail).toBe('[fr] Custom text.');
      setMessageTranslator(() => {
        throw new Error('translator bug');
      });
      expect(
        problemDetails(new NotFoundError('x'), req('/x', { 'accept-language': 'de' })).body.detail,
      ).toMatch(/^We could not find/);
    } finally {
      setMessageTranslator(undefined);
    }
  });

  describe('exposure of internal detail', () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const k of ['MEM0_EXPOSE_ERRORS', 'NODE_ENV'] as const) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    });
    const err = new Error('select * from secrets failed', { cause: new Error('inner cause') });

    it.each([
      ['MEM0_EXPOSE_ERRORS unset', undefined, 'development', false],
      ['production even when asked', 'true', 'production', false],
      ['test env', 'true', 'test', false],
      ['development + MEM0_EXPOSE_ERRORS=true', 'true', 'development', true],
    ])('%s', (_n, expose, nodeEnv, shown) => {
      if (expose === undefined) delete process.env.MEM0_EXPOSE_ERRORS;
      else process.env.MEM0_EXPOSE_ERRORS = expose;
      process.env.NODE_ENV = nodeEnv;
      const { body } = problemDetails(err);
      if (shown) {
        expect(body.debug).toMatchObject({ type: 'Error', message: 'select * from secrets failed' });
        expect(body.debug?.stack).toContain('problemDetails.test');
        expect(body.debug?.causes).toEqual(['Error: inner cause']);
      } else {
        expect(body.debug).toBeUndefined();
        expect(JSON.stringify(body)).not.toMatch(/secrets|inner cause|problemDetails\.test/);
      }
    });
  });

  it('never throws on a path that is not valid UTF-16 (lone surrogate), and sendProblem still answers', () => {
    const weird = req('/v1/caf\uD800e?q=1');
    const { body, status } = problemDetails(new NotFoundError('gone'), weird);
    expect(status).toBe(404);
    expect(body.instance === undefined || /^\/[\x21-\x7e]*$/.test(body.instance)).toBe(true);
    const res = {
      statusCode: 200,
      headersSent: false,
      headers: {} as Record<string, string>,
      body: undefined as string | undefined,
      setHeader(name: string, value: string) {
        this.headers[name] = value;
      },
      getHeader(name: string) {
        return this.headers[name];
      },
      end(chunk?: string) {
        this.body = chunk;
      },
    };
    const silent = { log() {} } as never;
    expect(() => sendProblem(new NotFoundError('gone'), weird, res, { logger: silent })).not.toThrow();
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body ?? '{}')).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('absolute-form request target (GET http://user:pw@host/p): instance is the path only', () => {
    const { body } = problemDetails(
      new NotFoundError('gone'),
      req('http://admin:s3cret@db-primary.internal:8080/v1/memories/42?token=x'),
    );
    expect(body.instance).toBe('/v1/memories/42');
    expect(JSON.stringify(body)).not.toMatch(/s3cret|db-primary|admin/);
  });

  it('HTTP-ish titles come from the status, 5xx bodies are generic', () => {
    const { body } = problemDetails(
      new AppError('pool exhausted on db-3.internal:5432', { category: 'database' }),
    );
    expect(body).toMatchObject({ status: 500, title: 'Internal Server Error', code: 'INTERNAL_ERROR' });
    expect(JSON.stringify(body)).not.toMatch(/db-3|5432|pool/);
  });
});
