import { context, diag, TraceFlags, trace } from '@opentelemetry/api';
import type { LogRecord } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { LIMITS, RESOURCE, SCOPES, sampleRecords } from '../../test/logSamples';
import { createEncodingLoggerProvider } from './createEncodingLoggerProvider';
import type { OtlpExporter } from './createOtlpExporter';
import { droppedTotals } from './droppedCounter';

function capturingExporter(): OtlpExporter<unknown> & { bodies: Buffer[] } {
  const bodies: Buffer[] = [];
  return {
    signal: 'logs',
    bodies,
    export: async () => ({ ok: false, error: new Error('not used') }),
    async sendEncoded(body: Uint8Array) {
      bodies.push(Buffer.from(body));
      return { ok: true, rejected: 0 };
    },
    stopRetrying() {},
    abort() {},
    async shutdown() {},
  };
}

const BATCH = {
  maxQueueSize: 10_000,
  maxExportBatchSize: 10_000,
  scheduledDelayMillis: 60_000,
  exportTimeoutMillis: 5_000,
};
const ACTIVE = trace.setSpanContext(context.active(), {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
});
const T = 1_760_000_100_000;
const IDS = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
};

/** Records that take the SDK's slow paths: invalid values, truncation, exceptions, odd times. */
function edgeRecords(): LogRecord[] {
  const shared = { k: 'v' };
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  class Custom {
    x = 1;
  }
  const long = 'x'.repeat(LIMITS.attributeValueLengthLimit + 500);
  const recs: LogRecord[] = [
    { body: 'empty key', attributes: { '': 'dropped', ok: 1 } },
    {
      body: 'invalid values',
      attributes: { circular, date: new Date(0), map: new Map(), custom: new Custom() } as never,
    },
    { body: 'same object twice in one value is invalid', attributes: { twice: [shared, shared] } },
    { body: 'same object in two attributes is fine', attributes: { a: shared, b: shared } },
    {
      body: 'functions, symbols, bigints',
      attributes: { f: (() => 1) as never, s: Symbol('s') as never, b: 10n as never },
    },
    {
      body: 'nested long strings are cut',
      attributes: { arr: [long, 'short', [long]], obj: { deep: { s: long } }, long },
    },
    { body: 'bytes nested', attributes: { nested: { bytes: new Uint8Array([1, 2, 3]) } } },
    { body: 'exception with a code', exception: Object.assign(new Error('boom'), { code: 'E_CODE' }) },
    { body: 'exception with a numeric code', exception: Object.assign(new Error('boom'), { code: 404 }) },
    { body: 'exception with a name only', exception: { name: 'Weird' } },
    { body: 'exception that records nothing', exception: {} },
    { body: 'numeric exception', exception: 42 },
    {
      body: 'exception attributes already set are kept',
      attributes: { 'exception.type': 'Mine', 'exception.message': 'mine' },
      exception: new TypeError('theirs'),
    },
    {
      body: 'exception past the count limit',
      attributes: Object.fromEntries(
        Array.from({ length: LIMITS.attributeCountLimit }, (_, i) => [`a${i}`, i]),
      ),
      exception: new Error('no room'),
    },
    { body: '__proto__ key', attributes: JSON.parse('{"__proto__": 1, "a": 2}') },
    { body: 'time as a Date and an HrTime', timestamp: new Date(T), observedTimestamp: [1_760_000_100, 5] },
    { body: 'time as performance-relative milliseconds', timestamp: 5_000, observedTimestamp: 6_000.5 },
    { body: 'severity out of the enum but an integer', severityNumber: 99 as never },
    { body: 'explicit context', context: ACTIVE },
    {
      body: 'invalid span context (all-zero trace id)',
      context: trace.setSpanContext(context.active(), { ...IDS, traceId: '0'.repeat(32) }),
    },
    {
      body: 'invalid span context (not hex)',
      context: trace.setSpanContext(context.active(), { ...IDS, spanId: 'zz'.repeat(8) }),
    },
  ];
  for (const r of recs) {
    r.timestamp ??= T;
    r.observedTimestamp ??= T + 1;
  }
  return recs;
}

/** Emits records through a logger of each scope in turn (inside `ACTIVE` when `active`). */
function emitAll(provider: { getLogger: LoggerProvider['getLogger'] }, records: LogRecord[], active = false) {
  const loggers = SCOPES.map(([name, version, options]) => provider.getLogger(name, version, options));
  const run = () =>
    records.forEach((r, i) => {
      loggers[i % loggers.length]!.emit(r);
    });
  if (active) context.with(ACTIVE, run);
  else run();
}

async function sdkBytes(records: LogRecord[], active = false): Promise<Buffer> {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: RESOURCE,
    logRecordLimits: LIMITS,
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  });
  emitAll(provider, records, active);
  return Buffer.from(ProtobufLogsSerializer.serializeRequest(memory.getFinishedLogRecords()) as Uint8Array);
}

async function ourBytes(records: LogRecord[], active = false): Promise<Buffer[]> {
  const exporter = capturingExporter();
  const provider = createEncodingLoggerProvider({
    config: BATCH,
    exporter,
    resource: RESOURCE,
    limits: LIMITS,
  });
  emitAll(provider, records, active);
  await provider.forceFlush();
  return exporter.bodies;
}

describe('createEncodingLoggerProvider', () => {
  let warn: jest.SpyInstance;
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
  });
  afterAll(() => {
    context.disable();
  });
  beforeEach(() => {
    // both sides warn about the invalid values of the samples on purpose
    warn = jest.spyOn(diag, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('exports exactly the bytes the SDK + upstream ProtobufLogsSerializer produce for the same API records', async () => {
    const records = sampleRecords();
    const ours = await ourBytes(records);
    expect(ours).toHaveLength(1);
    expect(Buffer.compare(ours[0]!, await sdkBytes(records))).toBe(0);
  });

  it('applies the limits, validity rules and exception attributes as the SDK does', async () => {
    const records = edgeRecords();
    const ours = await ourBytes(records);
    const theirs = await sdkBytes(records);
    expect(ours[0]!.length).toBe(theirs.length);
    expect(Buffer.compare(ours[0]!, theirs)).toBe(0);
    // the samples do take those paths
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual(
      expect.arrayContaining([
        'Invalid attribute key: ',
        'Invalid attribute value set for key: circular',
        'Dropping extra attributes.',
        'Failed to record an exception [object Object]',
      ]),
    );
  });

  it('takes the trace context of the active context when the record has none', async () => {
    const records = sampleRecords().map((r) => ({ ...r, context: undefined }));
    for (const r of records) delete r.context;
    const ours = await ourBytes(records, true);
    expect(Buffer.compare(ours[0]!, await sdkBytes(records, true))).toBe(0);
    expect(ours[0]!.includes(Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex'))).toBe(true);
  });

  it('an explicit `context: undefined` means no trace context, as in the SDK', async () => {
    const records: LogRecord[] = [{ body: 'x', timestamp: T, observedTimestamp: T, context: undefined }];
    const ours = await ourBytes(records, true);
    expect(Buffer.compare(ours[0]!, await sdkBytes(records, true))).toBe(0);
    expect(ours[0]!.includes(Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex'))).toBe(false);
  });

  it('stamps records without timestamps with the current time', async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const [body] = await ourBytes([{ body: 'now' }]);
    const after = BigInt(Date.now()) * 1_000_000n;
    /** Whether a fixed64 field with this tag holds a time within the emit call. */
    const stamped = (tag: number) => {
      for (let i = body!.indexOf(tag); i >= 0 && i + 9 <= body!.length; i = body!.indexOf(tag, i + 1)) {
        const t = body!.readBigUInt64LE(i + 1);
        if (t >= before && t <= after) return true;
      }
      return false;
    };
    expect(stamped(0x09)).toBe(true); // time_unix_nano
    expect(stamped(0x59)).toBe(true); // observed_time_unix_nano
  });

  it('a record whose attributes throw is dropped and counted; emit never throws', async () => {
    const exporter = capturingExporter();
    const provider = createEncodingLoggerProvider({
      config: BATCH,
      exporter,
      resource: RESOURCE,
      limits: LIMITS,
    });
    const logger = provider.getLogger('hostile');
    const before = droppedTotals().logs;
    const attributes = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    expect(() => logger.emit({ body: 'x', attributes })).not.toThrow();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => logger.emit({ body: circular as never })).not.toThrow();
    logger.emit({ body: 'fine' });
    await provider.forceFlush();
    expect(droppedTotals().logs - before).toBe(2);
    expect(exporter.bodies).toHaveLength(1);
    expect(exporter.bodies[0]!.includes(Buffer.from('fine'))).toBe(true);
  });

  it('one logger per scope; after shutdown records are ignored and getLogger returns a no-op logger', async () => {
    const exporter = capturingExporter();
    const provider = createEncodingLoggerProvider({
      config: BATCH,
      exporter,
      resource: RESOURCE,
      limits: LIMITS,
    });
    expect(provider.getLogger('a', '1')).toBe(provider.getLogger('a', '1'));
    expect(provider.getLogger('a', '1')).not.toBe(provider.getLogger('a', '2'));
    const logger = provider.getLogger('a', '1');
    logger.emit({ body: 'before' });
    expect(logger.enabled()).toBe(true);
    await provider.shutdown();
    expect(exporter.bodies).toHaveLength(1);
    logger.emit({ body: 'after' });
    expect(logger.enabled()).toBe(false);
    provider.getLogger('b').emit({ body: 'after' });
    await provider.forceFlush();
    expect(exporter.bodies).toHaveLength(1);
    expect(provider.queue.queued).toBe(0);
  });
});
