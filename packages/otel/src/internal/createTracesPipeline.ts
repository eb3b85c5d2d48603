import type { Context } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, Sampler, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { OtelConfig } from '../readConfig';
import { adaptExporter } from './adaptExporter';
import { type BatchExporter, type BatchProcessor, createBatchProcessor } from './createBatchProcessor';
import { createEncodingSpanProcessor } from './createEncodingSpanProcessor';
import { createLeanTracerProvider, type LeanTracerProvider } from './createLeanTracerProvider';
import { createOtlpExporter } from './createOtlpExporter';
import { scrubSpans } from './scrubSpans';

export type TracesPipeline = {
  provider: TracerProvider | LeanTracerProvider;
  /** Spans waiting to be sent, across exporters. */
  queued(): number;
};

export function createSampler(config: OtelConfig): Sampler {
  const { name, ratio } = config.sampler;
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** Adapts a batch queue to the SDK's SpanProcessor: onEnd is one flag test and one push. */
function toSpanProcessor(batch: BatchProcessor<ReadableSpan>): SpanProcessor {
  return {
    onStart(_span: Span, _ctx: Context) {},
    onEnd(span: ReadableSpan) {
      if ((span.spanContext().traceFlags & 1) === 1) batch.add(span);
    },
    forceFlush: () => batch.forceFlush(),
    shutdown: () => batch.shutdown(),
  };
}

/**
 * The tracer provider is built even when no trace exporter is configured: spans (and so
 * trace ids for log correlation) still exist, they are just not sent anywhere.
 */
export function createTracesPipeline(
  config: OtelConfig,
  resource: Resource,
  extra: { exporter?: BatchExporter<ReadableSpan>; sampler?: Sampler } = {},
): TracesPipeline {
  const processors: SpanProcessor[] = [];
  const queues: Array<{ readonly queued: number }> = [];
  const prepare = async (spans: ReadableSpan[]) => {
    if (resource.asyncAttributesPending) await resource.waitForAsyncAttributes?.();
    scrubSpans(spans);
  };
  const addBatch = (exporter: BatchExporter<ReadableSpan>) => {
    const batch = createBatchProcessor<ReadableSpan>({
      signal: 'traces',
      config: config.traces.batch,
      exporter,
      prepare,
    });
    queues.push(batch);
    processors.push(toSpanProcessor(batch));
  };
  if (extra.exporter) addBatch(extra.exporter);
  else {
    for (const kind of config.traces.exporters) {
      if (kind === 'otlp') {
        const exporter = createOtlpExporter<ReadableSpan[]>('traces', config.traces.otlp);
        if (config.traces.otlp.protocol === 'http/protobuf') {
          // The default path: spans are encoded in bulk when their batch is sealed (see createEncodingSpanProcessor).
          const p = createEncodingSpanProcessor({ config: config.traces.batch, exporter, resource });
          queues.push(p);
          processors.push(p);
        } else addBatch(exporter);
      } else if (kind === 'console') addBatch(adaptExporter<ReadableSpan>(new ConsoleSpanExporter()));
    }
  }
  const provider =
    config.tracer === 'sdk'
      ? new TracerProvider({
          resource,
          sampler: extra.sampler ?? createSampler(config),
          spanLimits: config.spanLimits,
          spanProcessors: processors,
        })
      : createLeanTracerProvider({
          resource,
          processors,
          limits: { ...config.spanLimits, attributePerEventCountLimit: 128, attributePerLinkCountLimit: 128 },
          // The default sampler is decided inline; any other goes through its shouldSample().
          sampler:
            extra.sampler ??
            (config.sampler.name === 'parentbased_always_on' ? undefined : createSampler(config)),
        });
  return { provider, queued: () => queues.reduce((n, q) => n + q.queued, 0) };
}
