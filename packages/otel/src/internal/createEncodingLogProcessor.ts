import type { Context } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordProcessor, SdkLogRecord } from '@opentelemetry/sdk-logs';
import type { BatchConfig } from '../readConfig';
import { createEncodedQueue } from './createEncodedQueue';
import type { OtlpExporter } from './createOtlpExporter';
import {
  appendLogRecord,
  assembleLogsRequest,
  createEncodedLogBatch,
  type EncodedLogBatch,
} from './encodeLogs';

export type EncodingLogProcessor = LogRecordProcessor & {
  /** Log records encoded and waiting to be sent. */
  readonly queued: number;
  stopRetrying(): void;
};

/**
 * The log record processor behind the default OTLP/protobuf logs exporter: each record is
 * encoded when it is emitted (see createEncodedQueue), so no record object is kept until the
 * export. Bounded by OTEL_BLRP_MAX_QUEUE_SIZE records, batches of
 * OTEL_BLRP_MAX_EXPORT_BATCH_SIZE sent after OTEL_BLRP_SCHEDULE_DELAY; every loss is counted
 * in telemetry.dropped{signal="logs"}.
 * @example
 * const p = createEncodingLogProcessor({ config: config.logs.batch, exporter, resource });
 * new LoggerProvider({ resource, processors: [p] });
 */
export function createEncodingLogProcessor(opts: {
  config: BatchConfig;
  exporter: OtlpExporter<unknown>;
  resource: Resource;
}): EncodingLogProcessor {
  const queue = createEncodedQueue<SdkLogRecord, EncodedLogBatch>({
    signal: 'logs',
    item: 'log record',
    ...opts,
    createBatch: createEncodedLogBatch,
    append: (batch, rec) => appendLogRecord(batch, rec, rec.resource, rec.instrumentationScope),
    assemble: assembleLogsRequest,
  });
  return {
    get queued() {
      return queue.queued;
    },
    onEmit(rec: SdkLogRecord, _ctx?: Context) {
      queue.add(rec);
    },
    forceFlush: () => queue.forceFlush(),
    stopRetrying: () => queue.stopRetrying(),
    shutdown: () => queue.shutdown(),
  };
}
