import { context, metrics, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

/** In-process OTel SDK for wiring tests: ALS context, a tracer, an in-memory log exporter. */
export type Harness = {
  exporter: InMemoryLogRecordExporter;
  loggerProvider: LoggerProvider;
  tracerProvider: BasicTracerProvider;
  shutdown(): Promise<void>;
};

export function startTracing(): { tracerProvider: BasicTracerProvider; stop(): void } {
  const cm = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(cm);
  const tracerProvider = new BasicTracerProvider();
  trace.setGlobalTracerProvider(tracerProvider);
  return {
    tracerProvider,
    stop() {
      trace.disable();
      context.disable();
    },
  };
}

export function startLogsSdk(): {
  exporter: InMemoryLogRecordExporter;
  loggerProvider: LoggerProvider;
  stop(): Promise<void>;
} {
  const exporter = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  logs.setGlobalLoggerProvider(loggerProvider);
  return {
    exporter,
    loggerProvider,
    async stop() {
      logs.disable();
      await loggerProvider.shutdown();
    },
  };
}

export function startHarness(): Harness {
  const t = startTracing();
  const l = startLogsSdk();
  return {
    exporter: l.exporter,
    loggerProvider: l.loggerProvider,
    tracerProvider: t.tracerProvider,
    async shutdown() {
      await l.stop();
      t.stop();
    },
  };
}

/** A MeterProvider with an in-memory exporter; `collect()` returns data points by metric name. */
export function startMetrics(): {
  collect(): Promise<Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>>;
  stop(): Promise<void>;
} {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  return {
    async collect() {
      const { resourceMetrics } = await reader.collect();
      const out = new Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>();
      for (const sm of resourceMetrics.scopeMetrics) {
        for (const m of sm.metrics) {
          const points = out.get(m.descriptor.name) ?? [];
          for (const dp of m.dataPoints) points.push({ attributes: dp.attributes, value: dp.value });
          out.set(m.descriptor.name, points);
        }
      }
      return out;
    },
    async stop() {
      metrics.disable();
      await provider.shutdown();
    },
  };
}
