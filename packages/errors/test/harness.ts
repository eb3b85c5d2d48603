// Test wiring: an in-memory OTel SDK (span/metric assertions) and a logger writing to an array.
import { createLogger, type Logger, setDefaultLogger } from '@mem0-stack/logging';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

class PullReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export type Harness = {
  spans: InMemorySpanExporter;
  logs: Array<Record<string, unknown>>;
  logger: Logger;
  /** Sum of app.errors data points matching `attrs`. */
  errorCount(attrs?: Record<string, string>): Promise<number>;
  shutdown(): Promise<void>;
};

export function installHarness(): Harness {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  trace.setGlobalTracerProvider(tracerProvider);
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    otlp: false,
    destination: {
      write(line: string) {
        for (const l of line.split('\n')) if (l.trim()) logs.push(JSON.parse(l));
        return true;
      },
    },
  });
  setDefaultLogger(logger);
  return {
    spans,
    logs,
    logger,
    async errorCount(attrs = {}) {
      const { resourceMetrics } = await reader.collect();
      let sum = 0;
      for (const sm of resourceMetrics.scopeMetrics) {
        for (const m of sm.metrics) {
          if (m.descriptor.name !== 'app.errors') continue;
          for (const dp of m.dataPoints) {
            if (Object.entries(attrs).every(([k, v]) => dp.attributes[k] === v)) sum += dp.value as number;
          }
        }
      }
      return sum;
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      trace.disable();
      metrics.disable();
      context.disable();
    },
  };
}
