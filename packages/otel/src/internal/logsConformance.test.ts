import { diag } from '@opentelemetry/api';
import type { LoggerOptions, LogRecord } from '@opentelemetry/api-logs';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { LIMITS, RESOURCE } from '../../test/logSamples';
import { createEncodingLoggerProvider } from './createEncodingLoggerProvider';
import type { OtlpExporter } from './createOtlpExporter';

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
const T = 1_760_000_000_123;
type Emit = [scope: [string, string | undefined, LoggerOptions | undefined], record: LogRecord];

function sdkBytes(emits: Emit[]): Buffer {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: RESOURCE,
    logRecordLimits: LIMITS,
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  });
  for (const [[name, version, options], rec] of emits) provider.getLogger(name, version, options).emit(rec);
  return Buffer.from(ProtobufLogsSerializer.serializeRequest(memory.getFinishedLogRecords()) as Uint8Array);
}

async function ourBytes(emits: Emit[]): Promise<Buffer> {
  const exporter = capturingExporter();
  const provider = createEncodingLoggerProvider({
    config: BATCH,
    exporter,
    resource: RESOURCE,
    limits: LIMITS,
  });
  for (const [[name, version, options], rec] of emits) provider.getLogger(name, version, options).emit(rec);
  await provider.forceFlush();
  expect(exporter.bodies).toHaveLength(1);
  return exporter.bodies[0] as Buffer;
}

/** An object with an own, enumerable `__proto__` key (what JSON.parse makes of a request body). */
const withProtoKey = () => JSON.parse('{"__proto__": {"role": "admin"}, "b": 2}') as Record<string, unknown>;

describe('OTLP logs conformance (createEncodingLoggerProvider vs SDK + ProtobufLogsSerializer)', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(diag, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('a nested `__proto__` key is exported as the SDK exports it, whatever the other attributes', async () => {
    const scope: Emit[0] = ['s', '1', undefined];
    const emits: Emit[] = [
      [scope, { body: 'a', attributes: { deep: withProtoKey() }, timestamp: T, observedTimestamp: T }],
      [scope, { body: 'b', attributes: { list: [withProtoKey()] }, timestamp: T, observedTimestamp: T }],
      [
        scope,
        {
          body: 'c',
          attributes: { deep: withProtoKey(), long: 'x'.repeat(LIMITS.attributeValueLengthLimit + 1) },
          timestamp: T,
          observedTimestamp: T,
        },
      ],
    ];
    expect((await ourBytes(emits)).toString('hex')).toBe(sdkBytes(emits).toString('hex'));
  });

  it('loggers whose scope attributes differ (NaN / null / Infinity, {} / { k: undefined }) keep their own scope', async () => {
    const rec = (body: string): LogRecord => ({ body, timestamp: T, observedTimestamp: T });
    const emits: Emit[] = [
      [['s', '1', { attributes: { x: Number.NaN } }], rec('nan')],
      [['s', '1', { attributes: { x: null as never } }], rec('null')],
      [['s', '1', { attributes: { x: Number.POSITIVE_INFINITY } }], rec('inf')],
      [['t', '1', { attributes: { k: undefined } }], rec('undefined')],
      [['t', '1', { attributes: {} }], rec('empty')],
    ];
    expect((await ourBytes(emits)).toString('hex')).toBe(sdkBytes(emits).toString('hex'));
  });

  it('the same scope requested twice (unserialisable or reordered attributes) is one ScopeLogs, as in the SDK', async () => {
    const rec = (body: string): LogRecord => ({ body, timestamp: T, observedTimestamp: T });
    const emits: Emit[] = [
      [['s', '1', { attributes: { a: 1, b: 2 } }], rec('1')],
      [['s', '1', { attributes: { b: 2, a: 1 } }], rec('2')],
      [['u', '1', { attributes: { big: 1n as never } }], rec('3')],
      [['u', '1', { attributes: { big: 1n as never } }], rec('4')],
    ];
    expect((await ourBytes(emits)).toString('hex')).toBe(sdkBytes(emits).toString('hex'));
  });
});
