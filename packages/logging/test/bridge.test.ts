import { context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OpenTelemetryTransportV3 } from '@opentelemetry/winston-transport';
import winston from 'winston';
import { createLogger, runWithCorrelation, timed } from '../src';
import { captureLogger } from './helpers';
import { type Harness, startHarness, startLogsSdk } from './otelHarness';

const hexOf = (id: unknown) => String(id);

describe('OTel log bridge (in-memory LoggerProvider)', () => {
  let h: Harness;
  beforeEach(() => {
    h = startHarness();
  });
  afterEach(async () => {
    await h.shutdown();
  });

  it('emits one OTel record per log line with the same trace context, body, timestamp and redacted attributes', () => {
    const { logger, records } = captureLogger({ otlp: true });
    const tracer = trace.getTracer('test');
    tracer.startActiveSpan('op', (span) => {
      logger.warn('charged card', { amount: 42, password: 'hunter2', nested: { apiKey: 'k-123' } });
      span.end();
    });
    const [line] = records();
    const otel = h.exporter.getFinishedLogRecords();
    expect(otel).toHaveLength(1);
    const rec = otel[0];
    expect(rec?.spanContext?.traceId).toBe(line?.trace_id);
    expect(rec?.spanContext?.spanId).toBe(line?.span_id);
    expect(line?.correlation_id).toBe(line?.trace_id);
    expect(rec?.body).toBe('charged card');
    expect(rec?.severityText).toBe('warn');
    expect(rec?.severityNumber).toBe(SeverityNumber.WARN);
    expect(rec?.attributes).toMatchObject({
      amount: 42,
      password: '[REDACTED]',
      nested: { apiKey: '[REDACTED]' },
      correlation_id: line?.trace_id,
    });
    // the trace ids travel as record context, not as duplicate attributes
    expect(rec?.attributes).not.toHaveProperty('trace_id');
    const [sec, nanos] = rec?.hrTime ?? [0, 0];
    expect(sec * 1000 + Math.floor(nanos / 1e6)).toBe(Date.parse(String(line?.timestamp)));
    expect(rec?.instrumentationScope.name).toBe('@mem0-stack/logging');
  });

  it('keeps the trace context of the log() call even when winston runs the transport later (upstream "wrong traceId")', () => {
    const { logger, records } = captureLogger({ otlp: true });
    const tracer = trace.getTracer('test');
    // cork() holds writes in the stream buffer: the format and transports run at uncork()
    // time, when a different span is active — exactly how back-pressure defers them.
    logger.cork();
    let inner = '';
    tracer.startActiveSpan('request-a', (span) => {
      inner = span.spanContext().traceId;
      logger.info('inside a');
      span.end();
    });
    tracer.startActiveSpan('request-b', (span) => {
      logger.uncork();
      span.end();
    });
    const otel = h.exporter.getFinishedLogRecords();
    expect(otel).toHaveLength(1);
    expect(records()[0]?.trace_id).toBe(inner);
    expect(otel[0]?.spanContext?.traceId).toBe(inner);
  });

  it('exports exactly one copy when winston-instrumentation style transports are added (upstream duplicates)', () => {
    const { logger } = captureLogger({ otlp: true });
    // What instrumentation-winston's patched configure() does to every logger:
    logger.configure({
      level: logger.level,
      format: logger.format,
      transports: [...logger.transports, new OpenTelemetryTransportV3()],
    });
    logger.add(new OpenTelemetryTransportV3());
    logger.info('once');
    expect(h.exporter.getFinishedLogRecords().filter((r) => r.body === 'once')).toHaveLength(1);
  });

  it('control: a plain winston logger with the instrumentation transport plus a bridge does duplicate', () => {
    // Shows the duplicate case above is real, so the previous test can fail.
    const plain = winston.createLogger({
      transports: [new OpenTelemetryTransportV3(), new OpenTelemetryTransportV3()],
    });
    plain.info('twice');
    expect(h.exporter.getFinishedLogRecords().filter((r) => r.body === 'twice')).toHaveLength(2);
  });

  it('sets the OTel event name for logger.event()', () => {
    const { logger, records } = captureLogger({ otlp: true });
    logger.event('user.signed_up', { plan: 'pro' });
    const rec = h.exporter.getFinishedLogRecords()[0];
    expect(records()[0]?.['event.name']).toBe('user.signed_up');
    expect(rec?.eventName).toBe('user.signed_up');
    expect(rec?.attributes).toMatchObject({ 'event.name': 'user.signed_up', plan: 'pro' });
  });

  it('maps an Error to OTel exception attributes', () => {
    const { logger } = captureLogger({ otlp: true });
    logger.error('failed', new TypeError('bad input'));
    const rec = h.exporter.getFinishedLogRecords()[0];
    expect(rec?.body).toBe('failed');
    expect(rec?.attributes['exception.type']).toBe('TypeError');
    expect(rec?.attributes['exception.message']).toBe('bad input');
  });

  it('an Error under `error` / `err` (timed failures) keeps exception.type', async () => {
    const { logger } = captureLogger({ otlp: true });
    logger.error('field', { error: new TypeError('bad input') });
    logger.error('err field', { err: new RangeError('too big') });
    await timed('op', () => Promise.reject(new SyntaxError('nope')), undefined, { logger }).catch(() => {});
    const recs = h.exporter.getFinishedLogRecords();
    expect(recs.map((r) => [r.attributes['exception.type'], r.attributes['exception.message']])).toEqual([
      ['TypeError', 'bad input'],
      ['RangeError', 'too big'],
      ['SyntaxError', 'nope'],
    ]);
  });

  it('carries the AsyncLocalStorage correlation id when no span is active', () => {
    const { logger, records } = captureLogger({ otlp: true });
    runWithCorrelation('req-77', () => logger.info('no span'));
    const rec = h.exporter.getFinishedLogRecords()[0];
    expect(records()[0]?.trace_id).toBeNull();
    expect(rec?.spanContext).toBeUndefined();
    expect(rec?.attributes.correlation_id).toBe('req-77');
  });

  it('otlp: false sends nothing to the SDK; stdout: false writes no line but still bridges', () => {
    const off = captureLogger({ otlp: false });
    off.logger.info('stdout only');
    expect(off.lines).toHaveLength(1);
    expect(h.exporter.getFinishedLogRecords()).toHaveLength(0);
    const noStdout = captureLogger({ otlp: true, stdout: false });
    noStdout.logger.info('otlp only');
    expect(noStdout.lines).toHaveLength(0);
    expect(h.exporter.getFinishedLogRecords().map((r) => r.body)).toEqual(['otlp only']);
  });

  it('MEM0_LOG_STDOUT=false / MEM0_LOG_OTLP=false switch each output off from the environment', () => {
    const saved = { ...process.env };
    try {
      process.env.MEM0_LOG_STDOUT = 'false';
      const quiet = captureLogger({ stdout: undefined, otlp: true });
      quiet.logger.info('env: otlp only');
      expect(quiet.lines).toHaveLength(0);
      process.env.MEM0_LOG_STDOUT = 'true';
      process.env.MEM0_LOG_OTLP = 'off';
      const local = captureLogger({ otlp: undefined });
      local.logger.info('env: stdout only');
      expect(local.lines).toHaveLength(1);
      expect(h.exporter.getFinishedLogRecords().map((r) => r.body)).toEqual(['env: otlp only']);
    } finally {
      process.env = saved;
    }
  });

  it('does not bridge records below the level', () => {
    const { logger } = captureLogger({ otlp: true, level: 'info' });
    logger.debug('hidden');
    expect(h.exporter.getFinishedLogRecords()).toHaveLength(0);
  });

  it('a field named __proto__ (a parsed request body) stays an ordinary field on stdout with the OTel bridge on (it was dropped at any depth)', () => {
    const { logger, records } = captureLogger({ otlp: true });
    // The one-object form: winston's log(level, msg, meta) form copies meta with Object.assign,
    // which turns a top-level __proto__ into the prototype before we see the record.
    logger.info(
      JSON.parse(
        '{"message": "body", "__proto__": {"role": "admin"}, "b": 2, "deep": {"__proto__": {"x": 1}}}',
      ),
    );
    const [line] = records();
    expect(Object.hasOwn(line ?? {}, '__proto__')).toBe(true);
    const deep = (line?.deep ?? {}) as Record<string, unknown>;
    expect(Object.hasOwn(deep, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(deep, '__proto__')?.value).toEqual({ x: 1 });
    // The OTel record itself: the SDK's LogRecord copies attributes by assignment, so what it
    // does with a __proto__ key is upstream's; the other fields arrive.
    expect(h.exporter.getFinishedLogRecords()[0]?.attributes?.b).toBe(2);
  });
});

describe('OTel log bridge: provider registered after the logger (upstream "records lost when winston loads first")', () => {
  it('delivers records once a provider is registered later, and follows a provider swap', async () => {
    const logger = createLogger({ stdout: false, otlp: true });
    logger.info('before any provider'); // goes to the no-op provider: nothing to assert but no crash
    const first = startLogsSdk();
    logger.info('after registration');
    expect(first.exporter.getFinishedLogRecords().map((r) => r.body)).toEqual(['after registration']);
    await first.stop();
    const second = startLogsSdk();
    logger.info('after swap');
    expect(second.exporter.getFinishedLogRecords().map((r) => r.body)).toEqual(['after swap']);
    await second.stop();
  });

  it('context captured at call time also holds for child loggers', () => {
    const t = startHarness();
    try {
      const { logger, records } = captureLogger({ otlp: true });
      const child = logger.child({ component: 'billing' });
      const tracer = trace.getTracer('test');
      const span = tracer.startSpan('job');
      context.with(trace.setSpan(context.active(), span), () => child.info('from child'));
      span.end();
      const rec = t.exporter.getFinishedLogRecords()[0];
      expect(records()[0]).toMatchObject({ component: 'billing', trace_id: span.spanContext().traceId });
      expect(rec?.spanContext?.traceId).toBe(span.spanContext().traceId);
      expect(rec?.attributes.component).toBe('billing');
    } finally {
      void t.shutdown();
    }
  });
});

void hexOf;

describe('OTel log bridge: Logs API records built by the format', () => {
  type Exported = ReturnType<Harness['exporter']['getFinishedLogRecords']>[number];
  /** What reaches the exporter, minus the observed time (taken at emit). */
  const view = (r: Exported) => ({
    body: r.body,
    severityNumber: r.severityNumber,
    severityText: r.severityText,
    eventName: r.eventName,
    attributes: r.attributes,
    droppedAttributesCount: r.droppedAttributesCount,
    traceId: r.spanContext?.traceId,
    spanId: r.spanContext?.spanId,
    hrTime: r.hrTime,
    scope: r.instrumentationScope,
  });

  /** The same calls, at a fixed clock, through a logger whose bridge is direct or not. */
  function run(direct: boolean, calls: (logger: ReturnType<typeof createLogger>) => void) {
    const h = startHarness();
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_760_000_000_000);
    const upstream = jest.spyOn(OpenTelemetryTransportV3.prototype, 'log');
    try {
      const logger = createLogger({ stdout: false, otlp: true, defaultMeta: { component: 'billing' } });
      const bridge = logger.transports.find((t) => 'direct' in t) as unknown as { direct: boolean };
      bridge.direct = direct;
      const span = trace.wrapSpanContext({
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        traceFlags: 1,
      });
      runWithCorrelation('req-9', () =>
        context.with(trace.setSpan(context.active(), span), () => calls(logger)),
      );
      return {
        records: h.exporter.getFinishedLogRecords().map(view),
        upstreamCalls: upstream.mock.calls.length,
      };
    } finally {
      upstream.mockRestore();
      now.mockRestore();
      void h.shutdown();
    }
  }

  const everyday = (logger: ReturnType<typeof createLogger>) => {
    for (const level of ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const) {
      logger.log(level, `at ${level}`, { n: 1 });
    }
    logger.info('GET /v1/memories/:id 200', {
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      duration_ms: 1.25,
      password: 'hunter2',
      nested: { list: [1, 'two', null, { deep: true }], when: new Date(0) },
      nothing: null,
      stack: { not: 'a string' },
    });
    logger.event('memory.created', { 'memory.id': 'm_1' });
    logger.info('user event name field', { 'otel.event.name': 'custom' });
    logger.info('non-string event name field', { 'otel.event.name': 5, 'event.name': 7 });
    logger.event('both', { 'otel.event.name': 'ignored' });
  };

  it('records without exception fields skip upstream emitLogRecord and export exactly what it would', () => {
    const before = run(false, (l) => l.level === 'info' && everyday(l));
    const after = run(true, (l) => l.level === 'info' && everyday(l));
    expect(before.upstreamCalls).toBeGreaterThan(0);
    expect(after.upstreamCalls).toBe(0);
    expect(after.records.length).toBe(before.records.length);
    after.records.forEach((r, i) => {
      expect({ i, ...r }).toEqual({ i, ...before.records[i] });
    });
    expect(after.records.map((r) => r.eventName)).toContain('custom');
  });

  it('records with an error, `err`, `error` or a string `stack` still go through upstream', () => {
    const risky = (logger: ReturnType<typeof createLogger>) => {
      logger.error('failed', new TypeError('bad input'));
      logger.warn('err field', { err: 'plain failure' });
      logger.warn('error field', { error: { code: 'E1', message: 'm', cause: 'why' } });
      logger.info('stack field', { stack: 'Error: x\n    at y', code: 'E2', name: 'Custom' });
    };
    const before = run(false, risky);
    const after = run(true, risky);
    expect(after.upstreamCalls).toBe(4);
    expect(after.records).toEqual(before.records);
    expect(after.records[0]?.attributes['exception.type']).toBe('TypeError');
  });
});
