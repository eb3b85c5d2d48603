// The default log pipeline (OTLP/protobuf, records encoded as they are emitted) read back by
// the real, ocb-built collector, whose decoder is generated from the OpenTelemetry proto
// definitions: every field of every record must equal what upstream's own OTLP model
// (otlp-transformer's createExportLogsServiceRequest, the source of its serializers) holds
// for the same records emitted through the upstream SDK.

import { type CollectorSink, startCollectorSink, waitFor } from '@mem0-stack/testkit';
import { diag } from '@opentelemetry/api';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { createLogsPipeline } from '../src/internal/createLogsPipeline';
import { readConfig } from '../src/readConfig';
import { LIMITS, RESOURCE, SCOPES, sampleRecords } from './logSamples';

jest.setTimeout(60_000);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Proto3 has no "absent" distinct from the default value: drop defaults (0, '', [], {}) as
 * the collector's JSON does. Ids are compared as lowercase hex; int64 values as decimal
 * strings (JSON cannot hold them as numbers); non-finite doubles by name; strings as UTF-8.
 */
function normalise(v: unknown, key = ''): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (key === 'intValue') return typeof v === 'number' ? BigInt(v).toString() : String(v);
  if (key === 'doubleValue' && typeof v === 'number' && !Number.isFinite(v)) {
    return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  }
  if ((key === 'traceId' || key === 'spanId') && typeof v === 'string') return v.toLowerCase() || undefined;
  if (Array.isArray(v)) {
    const items = v.map((x) => normalise(x) ?? {});
    return items.length > 0 ? items : undefined;
  }
  if (typeof v === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const n = normalise(x, k);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length > 0 || key === '' ? out : undefined;
  }
  if (v === 0 || v === '') return undefined;
  // Strings travel as UTF-8: a lone surrogate arrives as U+FFFD from any encoder.
  if (typeof v === 'string') return Buffer.from(v, 'utf8').toString('utf8');
  return v as Json;
}

describe('OTLP/protobuf logs, decoded by the collector', () => {
  let sink: CollectorSink;
  let warn: jest.SpyInstance;

  beforeAll(async () => {
    sink = await startCollectorSink();
  });
  afterAll(async () => {
    await sink?.cleanup();
  });
  beforeEach(() => {
    // the SDK warns about the invalid attribute values of the sample on purpose
    warn = jest.spyOn(diag, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('holds every field of every record exactly as upstream models the same records', async () => {
    const records = sampleRecords();
    const { config } = readConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.otlpHttpUrl,
      OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT: String(LIMITS.attributeCountLimit),
      OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: String(LIMITS.attributeValueLengthLimit),
    });
    expect(config.logs.otlp.protocol).toBe('http/protobuf');
    const pipeline = createLogsPipeline(config, RESOURCE);
    const ours = SCOPES.map(([name, version, options]) =>
      pipeline.provider.getLogger(name, version, options),
    );
    records.forEach((r, i) => {
      ours[i % ours.length]!.emit(r);
    });
    await pipeline.forceFlush();

    const memory = new InMemoryLogRecordExporter();
    const reference = new LoggerProvider({
      resource: RESOURCE,
      logRecordLimits: LIMITS,
      processors: [new SimpleLogRecordProcessor({ exporter: memory })],
    });
    const theirs = SCOPES.map(([name, version, options]) => reference.getLogger(name, version, options));
    records.forEach((r, i) => {
      theirs[i % theirs.length]!.emit(r);
    });
    const {
      createExportLogsServiceRequest,
    } = require('@opentelemetry/otlp-transformer/build/src/logs/internal');
    const { JSON_ENCODER } = require('@opentelemetry/otlp-transformer/build/src/common/utils');
    const expected = normalise(
      createExportLogsServiceRequest(memory.getFinishedLogRecords(), JSON_ENCODER),
    ) as {
      resourceLogs: Json[];
    };

    const received = () => sink.raw('logs').flatMap((doc) => (doc as { resourceLogs: Json[] }).resourceLogs);
    const count = () =>
      received().reduce<number>(
        (n, rl) =>
          n +
          ((rl as { scopeLogs: Array<{ logRecords: unknown[] }> }).scopeLogs ?? []).reduce(
            (m, sl) => m + sl.logRecords.length,
            0,
          ),
        0,
      );
    await waitFor(() => count() >= records.length, {
      timeoutMs: 20_000,
      what: 'the records in the collector',
    });
    const actual = normalise({ resourceLogs: received() }) as { resourceLogs: Json[] };

    expect(actual.resourceLogs).toHaveLength(1);
    const [a] = actual.resourceLogs as Array<{ resource: Json; schemaUrl: Json; scopeLogs: Json[] }>;
    const [e] = expected.resourceLogs as Array<{ resource: Json; schemaUrl: Json; scopeLogs: Json[] }>;
    // Upstream's model also copies the schema URL into `resource`; the Resource message has no
    // such field (ResourceLogs.schema_url carries it, compared next).
    const { schemaUrl: _copy, ...resource } = e!.resource as { [k: string]: Json };
    expect(a!.resource).toEqual(resource);
    expect(a!.schemaUrl).toEqual(e!.schemaUrl);
    expect(a!.scopeLogs).toHaveLength(SCOPES.length);
    // Record by record, so a difference names the record and the field.
    for (let s = 0; s < SCOPES.length; s++) {
      const as = a!.scopeLogs[s] as { scope: Json; schemaUrl: Json; logRecords: Json[] };
      const es = e!.scopeLogs[s] as { scope: Json; schemaUrl: Json; logRecords: Json[] };
      expect(as.scope).toEqual(es.scope);
      expect(as.schemaUrl).toEqual(es.schemaUrl);
      expect(as.logRecords).toHaveLength(es.logRecords.length);
      es.logRecords.forEach((rec, i) => {
        expect({ scope: s, record: i, ...(as.logRecords[i] as object) }).toEqual({
          scope: s,
          record: i,
          ...(rec as object),
        });
      });
    }
    await pipeline.shutdown();
    await reference.shutdown();
  });
});
