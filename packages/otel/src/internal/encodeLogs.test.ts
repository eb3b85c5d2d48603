import { diag } from '@opentelemetry/api';
import type { AnyValue, LogRecord } from '@opentelemetry/api-logs';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { LIMITS, RESOURCE, SCOPES, sampleRecords } from '../../test/logSamples';
import { createEncodingLogProcessor } from './createEncodingLogProcessor';
import type { OtlpExporter } from './createOtlpExporter';
import { appendLogRecord, assembleLogsRequest, createEncodedLogBatch } from './encodeLogs';

/** An exporter that keeps each request body instead of sending it. */
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

/** The same records through the SDK, twice: captured for upstream's serializer and encoded by our processor. */
async function emitBoth(records: LogRecord[]): Promise<{ sdk: ReadableLogRecord[]; ours: Buffer[] }> {
  const resource = RESOURCE;
  const memory = new InMemoryLogRecordExporter();
  const exporter = capturingExporter();
  const encoding = createEncodingLogProcessor({
    config: {
      maxQueueSize: 10_000,
      maxExportBatchSize: 10_000,
      scheduledDelayMillis: 60_000,
      exportTimeoutMillis: 5_000,
    },
    exporter,
    resource,
  });
  const provider = new LoggerProvider({
    resource,
    logRecordLimits: LIMITS,
    processors: [encoding, new SimpleLogRecordProcessor({ exporter: memory })],
  });
  const loggers = SCOPES.map(([name, version, options]) => provider.getLogger(name, version, options));
  records.forEach((r, i) => {
    loggers[i % loggers.length]!.emit(r);
  });
  await provider.forceFlush();
  return { sdk: memory.getFinishedLogRecords(), ours: exporter.bodies };
}

describe('OTLP/protobuf log encoding', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    // the SDK warns about the invalid attribute values of the sample on purpose
    warn = jest.spyOn(diag, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('encodes records as they are emitted into exactly the bytes of upstream ProtobufLogsSerializer', async () => {
    const records = sampleRecords();
    const { sdk, ours } = await emitBoth(records);
    expect(sdk).toHaveLength(records.length);
    expect(sdk.some((r) => r.droppedAttributesCount > 0)).toBe(true);
    expect(ours).toHaveLength(1);
    const upstream = Buffer.from(ProtobufLogsSerializer.serializeRequest(sdk) as Uint8Array);
    expect(ours[0]!.length).toBe(upstream.length);
    expect(Buffer.compare(ours[0]!, upstream)).toBe(0);
  });

  it('assembles the same bytes from a batch however the records were grouped, and grows past its buffers', async () => {
    const { sdk } = await emitBoth(sampleRecords());
    const many = Array.from({ length: 30 }, () => sdk).flat();
    const batch = createEncodedLogBatch();
    for (const r of many) appendLogRecord(batch, r, r.resource, r.instrumentationScope);
    expect(batch.count).toBe(many.length);
    const upstream = Buffer.from(ProtobufLogsSerializer.serializeRequest(many) as Uint8Array);
    expect(upstream.length).toBeGreaterThan(64 * 1024);
    expect(Buffer.compare(Buffer.from(assembleLogsRequest(batch)), upstream)).toBe(0);
  });

  it('a record that cannot be encoded (circular body) throws and leaves the batch as it was', async () => {
    const { sdk } = await emitBoth(sampleRecords().slice(0, 3));
    const batch = createEncodedLogBatch();
    const first = sdk[0]!;
    appendLogRecord(batch, first, first.resource, first.instrumentationScope);
    const before = Buffer.from(assembleLogsRequest(batch));
    const circular: { [k: string]: AnyValue } = { a: 1 };
    circular.self = circular;
    const bad = { ...first, hrTime: first.hrTime, hrTimeObserved: first.hrTimeObserved, body: circular };
    expect(() => appendLogRecord(batch, bad, first.resource, first.instrumentationScope)).toThrow(RangeError);
    expect(batch.count).toBe(1);
    expect(Buffer.compare(Buffer.from(assembleLogsRequest(batch)), before)).toBe(0);
  });
});
