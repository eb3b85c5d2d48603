import { trace } from '@opentelemetry/api';
import {
  createLogger,
  getCorrelationId,
  getLogger,
  isValidCorrelationId,
  newCorrelationId,
  runWithCorrelation,
  setDefaultLogger,
} from '../src';
import { captureLogger } from './helpers';
import { startTracing } from './otelHarness';

describe('levels', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('MEM0_LOG_LEVEL sets the default level; setLevel changes it at runtime', () => {
    process.env.MEM0_LOG_LEVEL = 'warn';
    const { logger, records } = captureLogger();
    logger.info('dropped');
    logger.warn('kept');
    logger.setLevel('debug');
    logger.debug('now kept');
    expect(records().map((r) => r.message)).toEqual(['kept', 'now kept']);
    expect(logger.level).toBe('debug');
  });

  it('an invalid MEM0_LOG_LEVEL or setLevel value warns once and keeps a sane level', () => {
    const writes: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((c: unknown) => {
      writes.push(String(c));
      return true;
    });
    try {
      process.env.MEM0_LOG_LEVEL = 'loud';
      const { logger, records } = captureLogger();
      logger.setLevel('verbose-ish');
      logger.info('info still works');
      expect(logger.level).toBe('info');
      expect(records()).toHaveLength(1);
      expect(writes.join('')).toContain('MEM0_LOG_LEVEL="loud"');
      expect(writes.join('')).toContain('unknown level "verbose-ish"');
    } finally {
      spy.mockRestore();
    }
  });

  it('Object.prototype names (toString, constructor) are unknown levels, not accepted', () => {
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const { logger, records } = captureLogger({ level: 'constructor' });
      expect(logger.level).toBe('info');
      logger.setLevel('toString');
      expect(logger.level).toBe('info');
      logger.debug('must be dropped');
      logger.info('kept');
      expect(records().map((r) => r.message)).toEqual(['kept']);
    } finally {
      spy.mockRestore();
    }
  });

  it('MEM0_LOG_FORMAT=pretty gives human-readable lines (no JSON)', () => {
    process.env.MEM0_LOG_FORMAT = 'pretty';
    const { logger, lines } = captureLogger({ colors: true });
    runWithCorrelation('abcdef1234', () => logger.warn('disk almost full', { pct: 93 }));
    const line = lines[0] as string;
    expect(() => JSON.parse(line)).toThrow();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this test is about
    expect(line).toMatch(/^\x1b\[2m\d\d:\d\d:\d\d\.\d{3}\x1b\[0m \x1b\[33mWARN /);
    expect(line).toContain('disk almost full');
    expect(line).toContain('pct=93');
    expect(line).toContain('cid=abcdef12');
  });

  it('child loggers and defaultMeta add fields after the contract fields', () => {
    const { logger, records } = captureLogger({ defaultMeta: { region: 'eu' } });
    logger.child({ component: 'db' }).info('hi', { q: 1 });
    const keys = Object.keys(records()[0] ?? {});
    expect(keys.slice(10)).toEqual(expect.arrayContaining(['region', 'component', 'q']));
    expect(keys.slice(0, 10)).toContain('correlation_id');
  });

  it('fields named like contract fields cannot forge them', () => {
    const { logger, lines, records } = captureLogger();
    runWithCorrelation('real-id', () =>
      logger.info('x', {
        correlation_id: 'forged',
        trace_id: 'forged',
        timestamp: 'forged',
        'service.name': 'forged',
      }),
    );
    const r = records()[0];
    expect(r?.correlation_id).toBe('real-id');
    expect(r?.['service.name']).toBe('test-svc');
    expect(lines[0]).not.toContain('forged');
  });

  it('resolves service fields from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES / NODE_ENV', () => {
    process.env.OTEL_SERVICE_NAME = 'from-env';
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'service.version=9.9.9,deployment.environment.name=staging';
    const lines: string[] = [];
    const logger = createLogger({ otlp: false, destination: { write: (l: string) => lines.push(l) } });
    logger.info('x');
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      'service.name': 'from-env',
      'service.version': '9.9.9',
      'deployment.environment': 'staging',
    });
  });

  it('getLogger returns one default logger; setDefaultLogger replaces it', () => {
    const a = getLogger();
    expect(getLogger()).toBe(a);
    const { logger } = captureLogger();
    expect(setDefaultLogger(logger)).toBe(a);
    expect(getLogger()).toBe(logger);
  });
});

describe('correlation ids', () => {
  it('validates and generates ids', () => {
    expect(isValidCorrelationId('A-z.0_9')).toBe(true);
    expect(isValidCorrelationId('x'.repeat(128))).toBe(true);
    expect(isValidCorrelationId('x'.repeat(129))).toBe(false);
    expect(isValidCorrelationId('')).toBe(false);
    expect(isValidCorrelationId('a b')).toBe(false);
    expect(isValidCorrelationId(42)).toBe(false);
    expect(newCorrelationId()).toMatch(/^[0-9a-f]{32}$/);
  });

  it('runWithCorrelation replaces an invalid id by a generated one and nests', () => {
    runWithCorrelation('bad id!', () => {
      expect(getCorrelationId()).toMatch(/^[0-9a-f]{32}$/);
      runWithCorrelation('inner', () => expect(getCorrelationId()).toBe('inner'));
    });
    expect(getCorrelationId()).toBeUndefined();
  });

  it('with no SDK (OTEL_SDK_DISABLED): the ALS id; with an active span: the trace id', () => {
    const { logger, records } = captureLogger();
    runWithCorrelation('als-id', () => logger.info('no sdk'));
    const t = startTracing();
    try {
      runWithCorrelation('als-id', () =>
        trace.getTracer('t').startActiveSpan('s', (span) => {
          expect(getCorrelationId()).toBe(span.spanContext().traceId);
          logger.info('with span');
          span.end();
        }),
      );
    } finally {
      t.stop();
    }
    const [noSdk, withSpan] = records();
    expect(noSdk).toMatchObject({
      correlation_id: 'als-id',
      trace_id: null,
      span_id: null,
      trace_flags: null,
    });
    expect(withSpan?.correlation_id).toBe(withSpan?.trace_id);
    expect(withSpan?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(withSpan?.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(withSpan?.trace_flags).toBe('01');
  });
});
