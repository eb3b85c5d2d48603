import type { Context } from '@opentelemetry/api';
import type { LoggerProvider as ApiLoggerProvider, Logger, LoggerOptions } from '@opentelemetry/api-logs';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordProcessor, ReadableLogRecord, SdkLogRecord } from '@opentelemetry/sdk-logs';
import type { OtelConfig } from '../readConfig';
import { adaptExporter } from './adaptExporter';
import { type BatchExporter, type BatchProcessor, createBatchProcessor } from './createBatchProcessor';
import { createEncodingLoggerProvider } from './createEncodingLoggerProvider';
import { createEncodingLogProcessor } from './createEncodingLogProcessor';
import type { FlushableProvider } from './createMetricsPipeline';
import { createOtlpExporter } from './createOtlpExporter';

/** A processor's backlog and its retry switch (batch queue or encoding processor). */
type Queue = { readonly queued: number; stopRetrying(): void };
/** The SDK's LoggerProvider or ours (createEncodingLoggerProvider). */
type RealProvider = ApiLoggerProvider & { forceFlush(): Promise<void>; shutdown(): Promise<void> };

export type LogsPipeline = {
  /** Registered as the global LoggerProvider; the real one is built on the first getLogger(). */
  readonly provider: FlushableProvider<ApiLoggerProvider>;
  /** Records waiting to be sent, per processor. */
  processors(): Queue[];
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
  let real: RealProvider | undefined;
  let queues: Queue[] = [];

  const build = (): RealProvider => {
    const only = config.logs.exporters.length === 1 ? config.logs.exporters[0] : undefined;
    if (!extra.exporter && only === 'otlp' && config.logs.otlp.protocol === 'http/protobuf') {
      // The default: records go from the Logs API straight into OTLP bytes, without the SDK's
      // per-record objects (see createEncodingLoggerProvider); the SDK is not even loaded.
      const p = createEncodingLoggerProvider({
        config: config.logs.batch,
        exporter: createOtlpExporter<ReadableLogRecord[]>('logs', config.logs.otlp),
        resource,
        limits: config.logRecordLimits,
      });
      queues = [p.queue];
      return p;
    }
    const sdk = require('@opentelemetry/sdk-logs') as typeof import('@opentelemetry/sdk-logs');
    const processors: LogRecordProcessor[] = [];
    queues = [];
    const prepare = async () => {
      if (resource.asyncAttributesPending) await resource.waitForAsyncAttributes?.();
    };
    const addBatch = (exporter: BatchExporter<ReadableLogRecord>) => {
      const batch = createBatchProcessor<ReadableLogRecord>({
        signal: 'logs',
        config: config.logs.batch,
        exporter,
        prepare,
      });
      queues.push(batch);
      processors.push(toLogProcessor(batch));
    };
    if (extra.exporter) addBatch(extra.exporter);
    else {
      for (const kind of config.logs.exporters) {
        if (kind === 'otlp') {
          const exporter = createOtlpExporter<ReadableLogRecord[]>('logs', config.logs.otlp);
          if (config.logs.otlp.protocol === 'http/protobuf') {
            // Next to another exporter: SDK records, each encoded as it is emitted.
            const p = createEncodingLogProcessor({ config: config.logs.batch, exporter, resource });
            queues.push(p);
            processors.push(p);
          } else addBatch(exporter);
        } else if (kind === 'console')
          addBatch(adaptExporter<ReadableLogRecord>(new sdk.ConsoleLogRecordExporter()));
      }
    }
    return new sdk.LoggerProvider({ resource, logRecordLimits: config.logRecordLimits, processors });
  };

  const forceFlush = async () => {
    await real?.forceFlush();
  };
  const shutdown = async () => {
    for (const q of queues) q.stopRetrying();
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

  return { provider, processors: () => queues, forceFlush, shutdown };
}
