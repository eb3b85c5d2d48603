import { createLogger } from '../src';
import { captureLogger } from './helpers';
import { startMetrics } from './otelHarness';

const lastRecord = (records: () => Array<Record<string, unknown>>) => {
  const all = records();
  return all[all.length - 1] as Record<string, unknown>;
};

describe('redaction', () => {
  it.each([
    'password',
    'passwd',
    'secret',
    'token',
    'authorization',
    'cookie',
    'set-cookie',
    'api_key',
    'PASSWORD',
    'Authorization',
    'Set-Cookie',
    'API_KEY',
    'apiKey',
    'x-api-key',
    'db_password',
    'passwordHash',
    'accessToken',
    'client_secret',
    'connectionString',
    'passphrase',
    'tlsPassphrase',
  ])('censors the key %s (case-insensitive), at top level and deep', (key) => {
    const { logger, records } = captureLogger({ otlp: false });
    logger.info('x', { [key]: 'SENSITIVE', deep: { a: [{ b: { [key]: 'SENSITIVE' } }] } });
    const line = JSON.stringify(lastRecord(records));
    expect(line).not.toContain('SENSITIVE');
    expect(lastRecord(records)[key]).toBe('[REDACTED]');
  });

  it('censors whole objects under a sensitive key and keeps ordinary keys', () => {
    const { logger, records } = captureLogger();
    logger.info('x', { credentials: { user: 'u', pass: 'p' }, tokenCount: 3, author: 'ann' });
    expect(lastRecord(records)).toMatchObject({ credentials: '[REDACTED]', tokenCount: 3, author: 'ann' });
  });

  it.each([
    ['postgres://app:s3cr3t@db:5432/main', 'postgres://app:[REDACTED]@db:5432/main'],
    ['redis://:hunter2@cache:6379/0', 'redis://:[REDACTED]@cache:6379/0'],
    [
      'mongodb+srv://root:pa55@cluster0.example.net/db',
      'mongodb+srv://root:[REDACTED]@cluster0.example.net/db',
    ],
    [
      'calling with Authorization: Bearer abcDEF123.456-xyz_',
      'calling with Authorization: Bearer [REDACTED]',
    ],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.sig_nature-1', 'jwt [REDACTED]'],
    ['Basic dXNlcjpwYXNzd29yZA==', 'Basic [REDACTED]'],
    ['host=db user=app password=topsecret dbname=x', 'host=db user=app password=[REDACTED] dbname=x'],
    ['GET /cb?code=1&access_token=abc123&x=2', 'GET /cb?code=1&access_token=[REDACTED]&x=2'],
  ])('scrubs secret-looking values: %s', (input, expected) => {
    const { logger, records } = captureLogger();
    logger.info(input, { field: input, nested: { list: [input] } });
    const r = lastRecord(records);
    expect(r.message).toBe(expected);
    expect(r.field).toBe(expected);
    expect((r.nested as { list: string[] }).list[0]).toBe(expected);
  });

  it('leaves ordinary text alone (no false positives on common words)', () => {
    const { logger, records } = captureLogger();
    const msg = 'Basic plan upgraded; bearer of good news; see https://example.com/docs?page=2';
    logger.info(msg, { url: 'https://example.com/a@b' });
    expect(lastRecord(records)).toMatchObject({ message: msg, url: 'https://example.com/a@b' });
  });

  it('is configurable: extra keys, replaced keys, custom censor, off', () => {
    const extra = captureLogger({ redact: { extraKeys: ['ssn'], censor: '***' } });
    extra.logger.info('x', { ssn: '123-45-6789', password: 'p' });
    expect(lastRecord(extra.records)).toMatchObject({ ssn: '***', password: '***' });

    const replaced = captureLogger({ redact: { keys: ['ssn'] } });
    replaced.logger.info('x', { ssn: '1', password: 'p' });
    expect(lastRecord(replaced.records)).toMatchObject({ ssn: '[REDACTED]', password: 'p' });

    const off = captureLogger({ redact: false });
    off.logger.info('postgres://a:b@h/d', { password: 'p' });
    expect(lastRecord(off.records)).toMatchObject({ message: 'postgres://a:b@h/d', password: 'p' });
  });
});

describe('redaction edge cases', () => {
  it('a secret cut by maxStringLength is still censored (scrub before truncating)', () => {
    const { logger, records } = captureLogger({ maxStringLength: 40 });
    logger.info('x', {
      url: 'connecting to postgres://app:supersecretpassword@db/main',
      kv: 'xxxxxxxxxxxxxxxxxxx password=supersecretpassword',
    });
    const r = lastRecord(records);
    expect(JSON.stringify(r)).not.toContain('supersecret');
    expect(String(r.kv)).toMatch(/…\[truncated \d+ chars\]$/);
  });

  it.each([
    ['password="hunter2 x" next', 'password="[REDACTED]" next'],
    ["token='abc123' next", "token='[REDACTED]' next"],
  ])('scrubs quoted key=value secrets: %s', (input, expected) => {
    const { logger, records } = captureLogger();
    logger.info(input, { field: input });
    const r = lastRecord(records);
    expect(r.message).toBe(expected);
    expect(r.field).toBe(expected);
  });

  it('long, distinct field names do not pile up in the key caches', () => {
    const { logger } = captureLogger();
    const big = 'k'.repeat(10_000);
    for (let i = 0; i < 50; i++) logger.info('x', { [`${big}${i}`]: 1, nested: { [`${big}${i}`]: 2 } });
    const format = logger.format as unknown as {
      keys: Map<string, unknown>;
      s: { sensitive: Map<string, boolean> };
    };
    const retained = (m: Map<string, unknown>) => [...m.keys()].reduce((n, k) => n + k.length, 0);
    expect(retained(format.keys) + retained(format.s.sensitive)).toBeLessThan(100_000);
  });
});

describe('log injection: one record is always one line', () => {
  it.each([
    ['newline', 'ok\n{"level":"error","message":"forged"}'],
    ['carriage return', 'ok\r\nforged'],
    ['ANSI escape', '\x1b[2J\x1b[31mred'],
    ['NUL and other C0', 'a\u0000b\u0007c\u001f'],
    ['line/paragraph separators', 'a\u2028b\u2029c'],
    ['lone surrogate', 'a\ud800b'],
  ])('%s in message, field values and keys', (_name, evil) => {
    const { logger, lines, records } = captureLogger();
    logger.info(evil, { [evil]: evil, nested: { v: evil } });
    expect(lines).toHaveLength(1);
    const line = lines[0] as string;
    expect(line.indexOf('\n')).toBe(line.length - 1);
    // no raw C0 control character (ESC, CR, NUL, …) survives anywhere in the line
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this test is about
    expect(line.slice(0, -1)).not.toMatch(/[\u0000-\u001f]/);
    const r = lastRecord(records);
    expect(r.message).toBe(evil);
    expect(r[evil]).toBe(evil);
    expect((r.nested as { v: string }).v).toBe(evil);
  });

  it('pretty format escapes control characters too', () => {
    const { logger, lines } = captureLogger({ format: 'pretty', colors: false });
    logger.info('a\nb\x1b[31m', { k: 'v\nw' });
    expect(lines).toHaveLength(1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this test is about
    expect(lines[0]?.trimEnd()).not.toMatch(/[\n\r\u001b]/);
    expect(lines[0]).toContain('a\\nb\\u001b[31m');
  });
});

describe('values that break naive serialisers', () => {
  it('circular objects, BigInt, Buffers, Maps, Sets, Dates, functions, symbols', () => {
    const { logger, records } = captureLogger();
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    a.list = [a];
    logger.info('mixed', {
      a,
      big: 12345678901234567890n,
      buf: Buffer.alloc(2048),
      map: new Map<unknown, unknown>([
        ['k', 1],
        ['password', 'x'],
      ]),
      set: new Set([1, 2]),
      date: new Date(0),
      bad: new Date(Number.NaN),
      fn: function named() {},
      sym: Symbol('s'),
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      undef: undefined,
    });
    expect(lastRecord(records)).toMatchObject({
      a: { name: 'a', self: '[Circular]', list: ['[Circular]'] },
      big: '12345678901234567890',
      buf: '[Buffer 2048 bytes]',
      map: { k: 1, password: '[REDACTED]' },
      set: [1, 2],
      date: '1970-01-01T00:00:00.000Z',
      bad: 'Invalid Date',
      fn: '[Function named]',
      sym: 'Symbol(s)',
      nan: 'NaN',
      inf: 'Infinity',
    });
    expect(lastRecord(records)).not.toHaveProperty('undef');
  });

  it('caps 1 MB strings and marks them truncated', () => {
    const { logger, lines, records } = captureLogger({ maxStringLength: 1000 });
    const huge = 'x'.repeat(1024 * 1024);
    logger.info(huge, { huge });
    expect((lines[0] as string).length).toBeLessThan(3000);
    const r = lastRecord(records);
    expect(r.message).toMatch(/^x{1000}…\[truncated 1047576 chars\]$/);
    expect(r.huge).toBe(r.message);
  });

  it('default cap keeps a 1 MB field to about 16 KB', () => {
    const { logger, lines } = captureLogger();
    logger.info('big', { huge: 'y'.repeat(1024 * 1024) });
    expect((lines[0] as string).length).toBeLessThan(20_000);
    expect(lines[0]).toContain('[truncated');
  });

  it('deep nesting and huge arrays are cut with markers', () => {
    const { logger, records } = captureLogger({ maxDepth: 3, maxItems: 5 });
    logger.info('deep', { d: { a: { b: { c: { e: 1 } } } }, arr: Array.from({ length: 50 }, (_, i) => i) });
    const r = lastRecord(records);
    expect(r.d).toEqual({ a: { b: { c: '[Object]' } } });
    expect(r.arr).toEqual([0, 1, 2, 3, 4, '…[truncated 45 items]']);
  });

  it('throwing getters, throwing toJSON and hostile Proxies do not throw', () => {
    const { logger, records } = captureLogger();
    const getter = {
      get boom() {
        throw new Error('getter exploded');
      },
    };
    const toJSON = {
      toJSON: () => {
        throw new Error('toJSON exploded');
      },
    };
    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('trap');
        },
      },
    );
    expect(() => logger.info('hostile', { getter, toJSON, proxy })).not.toThrow();
    const r = lastRecord(records);
    expect(String(r.getter)).toContain('getter exploded');
    expect(String(r.toJSON)).toContain('toJSON exploded');
    expect(String(r.proxy)).toContain('Unserializable');
  });

  it('a non-string message (object, number, null) still gives a line', () => {
    const { logger, records } = captureLogger();
    logger.info({ message: { nested: true, password: 'p' } } as never);
    logger.log('info', 42 as never);
    logger.info(null as never);
    const rs = records();
    expect(rs.map((r) => r.message)).toEqual(['{"nested":true,"password":"[REDACTED]"}', '42', '']);
  });
});

describe('errors', () => {
  it('logs message and type; stack only when debug is enabled', () => {
    const { logger, records } = captureLogger({ level: 'info' });
    const err = Object.assign(new RangeError('out of range'), { code: 'E_RANGE' });
    logger.error('failed', { error: err });
    logger.error(err);
    logger.error('direct', err);
    for (const r of records()) {
      expect(r.error).toMatchObject({ type: 'RangeError', message: 'out of range', code: 'E_RANGE' });
      expect(r.error).not.toHaveProperty('stack');
      expect(r).not.toHaveProperty('stack');
    }
    expect(records().map((r) => r.message)).toEqual(['failed', 'out of range', 'direct']);
    logger.setLevel('debug');
    logger.error('with stack', { error: err });
    expect(String((lastRecord(records).error as { stack: string }).stack)).toContain(
      'RangeError: out of range',
    );
  });

  it('serialises causes and AggregateErrors, redacting secrets in messages', () => {
    const { logger, records } = captureLogger();
    const err = new Error('outer', { cause: new Error('connect postgres://u:pw@db failed') });
    logger.error('x', { err, agg: new AggregateError([new Error('a')], 'many') });
    const r = lastRecord(records) as {
      err: { cause: { message: string } };
      agg: { type: string; errors: unknown };
    };
    expect(r.err.cause.message).toBe('connect postgres://u:[REDACTED]@db failed');
    expect(r.agg.type).toBe('AggregateError');
  });

  it('keeps the inner errors of an AggregateError (e.g. ECONNREFUSED on ::1 and 127.0.0.1)', () => {
    const { logger, records } = captureLogger();
    const agg = Object.assign(
      new AggregateError(
        [new Error('connect ECONNREFUSED ::1:5432'), new Error('connect ECONNREFUSED 127.0.0.1:5432')],
        '',
      ),
      { code: 'ECONNREFUSED' },
    );
    logger.error('db down', agg);
    const r = lastRecord(records) as { error: { errors: Array<{ message: string }> } };
    expect(r.error.errors.map((e) => e.message)).toEqual([
      'connect ECONNREFUSED ::1:5432',
      'connect ECONNREFUSED 127.0.0.1:5432',
    ]);
  });

  it('a child logger logging an Error directly gets `error` (no stack below debug), like the root', () => {
    const { logger, records } = captureLogger({ level: 'info' });
    const child = logger.child({ requestId: 'r-1' });
    const err = Object.assign(new RangeError('out of range'), { code: 'E_RANGE' });
    child.error(err);
    const r = lastRecord(records);
    expect(r).toMatchObject({ message: 'out of range', requestId: 'r-1' });
    expect(r.error).toMatchObject({ type: 'RangeError', message: 'out of range', code: 'E_RANGE' });
    expect(r.error).not.toHaveProperty('stack');
    expect(r).not.toHaveProperty('stack');
    logger.setLevel('debug');
    child.child({ step: 2 }).warn(err);
    const d = lastRecord(records);
    expect(d).toMatchObject({ level: 'warn', requestId: 'r-1', step: 2 });
    expect(String((d.error as { stack: string }).stack)).toContain('RangeError: out of range');
  });
});

describe('a failing destination never throws into the app', () => {
  it('a write that throws is swallowed and counted as telemetry.dropped{signal=logs}', async () => {
    const m = startMetrics();
    const logger = createLogger({
      otlp: false,
      destination: {
        write() {
          throw new Error('EBADF');
        },
      },
    });
    expect(() => {
      for (let i = 0; i < 5; i++) logger.info('into the void');
    }).not.toThrow();
    const points = (await m.collect()).get('telemetry.dropped') ?? [];
    await m.stop();
    expect(points).toEqual([{ attributes: { signal: 'logs' }, value: 5 }]);
  });

  it("an async 'error' event on the destination (EPIPE) does not crash the process", async () => {
    const { EventEmitter } = await import('node:events');
    const dest = Object.assign(new EventEmitter(), { write: () => true });
    const logger = createLogger({ otlp: false, destination: dest });
    logger.info('ok');
    expect(() =>
      dest.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })),
    ).not.toThrow();
  });

  it('logging after end() does not throw', async () => {
    const { logger } = captureLogger();
    logger.end();
    await new Promise((r) => setTimeout(r, 10));
    expect(() => logger.info('late')).not.toThrow();
  });
});

describe('default stdout destination', () => {
  it('honours a replaced process.stdout.write (spies, capture libraries)', () => {
    const captured: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      captured.push(String(chunk));
      return true;
    });
    try {
      createLogger({ otlp: false }).info('to the spy', { k: 1 });
    } finally {
      spy.mockRestore();
    }
    expect(captured).toHaveLength(1);
    expect(JSON.parse(captured[0] as string)).toMatchObject({ message: 'to the spy', k: 1 });
  });
});
