import type { Context } from '@opentelemetry/api';
import type { LoggerProvider as ApiLoggerProvider, Logger, LoggerOptions } from '@opentelemetry/api-logs';
import type { Resource } from '@opentelemetry/resources';
import type {
  LoggerProvider,
  LogRecordProcessor,
  ReadableLogRecord,
  SdkLogRecord,
} from '@opentelemetry/sdk-logs';
import type { OtelConfig } from '../readConfig';
import { adaptExporter } from './adaptExporter';
import { type BatchExporter, type BatchProcessor, createBatchProcessor } from './createBatchProcessor';
import type { FlushableProvider } from './createMetricsPipeline';
import { createOtlpExporter } from './createOtlpExporter';

export type LogsPipeline = {
  /** Registered as the global LoggerProvider; the SDK loads on the first getLogger(). */
  readonly provider: FlushableProvider<ApiLoggerProvider>;
  real(): LoggerProvider | undefined;
  processors(): BatchProcessor<ReadableLogRecord>[];
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
};

function toLogProcessor(batch: BatchProcessor<ReadableLogRecord>): LogRecordProcessor {
  return {
    onEmit(record: SdkLogRecord, _ctx?: Context) {
      batch.add(record);
    },
    forceFlush: () => batch.forceFlush(),
    shutdown: () => batch.shutdown(),
  };
}

export function createLogsPipeline(
  config: OtelConfig,
  resource: Resource,
  extra: { exporter?: BatchExporter<ReadableLogRecord> } = {},
): LogsPipeline {
  let real: LoggerProvider | undefined;
  let batches: BatchProcessor<ReadableLogRecord>[] = [];

  const build = (): LoggerProvider => {
    const sdk = require('@opentelemetry/sdk-logs') as typeof import('@opentelemetry/sdk-logs');
    const exporters: BatchExporter<ReadableLogRecord>[] = [];
    if (extra.exporter) exporters.push(extra.exporter);
    else {
      for (const kind of config.logs.exporters) {
        if (kind === 'otlp')
          exporters.push(createOtlpExporter<ReadableLogRecord[]>('logs', config.logs.otlp));
        else if (kind === 'console')
          exporters.push(adaptExporter<ReadableLogRecord>(new sdk.ConsoleLogRecordExporter()));
      }
    }
    const prepare = async () => {
      if (resource.asyncAttributesPending) await resource.waitForAsyncAttributes?.();
    };
    batches = exporters.map((exporter) =>
      createBatchProcessor<ReadableLogRecord>({
        signal: 'logs',
        config: config.logs.batch,
        exporter,
        prepare,
      }),
    );
    return new sdk.LoggerProvider({
      resource,
      logRecordLimits: config.logRecordLimits,
      processors: batches.map(toLogProcessor),
    });
  };

  const forceFlush = async () => {
    await real?.forceFlush();
  };
  const shutdown = async () => {
    for (const b of batches) b.stopRetrying();
    await real?.shutdown();
  };
  const provider: FlushableProvider<ApiLoggerProvider> = {
    getLogger(name: string, version?: string, options?: LoggerOptions): Logger {
      real ??= build();
      return real.getLogger(name, version, options);
    },
    // Apps flush the global provider before process.exit(); records of the last batch
    // interval would otherwise be lost without being counted.
    forceFlush,
    shutdown,
  };

  return { provider, real: () => real, processors: () => batches, forceFlush, shutdown };
}
