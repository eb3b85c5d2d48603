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
import { createOtlpExporter } from './createOtlpExporter';
import { scrubSpans } from './scrubSpans';

export type TracesPipeline = {
  provider: TracerProvider;
  processors: BatchProcessor<ReadableSpan>[];
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
  const exporters: BatchExporter<ReadableSpan>[] = [];
  if (extra.exporter) exporters.push(extra.exporter);
  else {
    for (const kind of config.traces.exporters) {
      if (kind === 'otlp') exporters.push(createOtlpExporter<ReadableSpan[]>('traces', config.traces.otlp));
      else if (kind === 'console') exporters.push(adaptExporter<ReadableSpan>(new ConsoleSpanExporter()));
    }
  }
  const prepare = async (spans: ReadableSpan[]) => {
    if (resource.asyncAttributesPending) await resource.waitForAsyncAttributes?.();
    scrubSpans(spans);
  };
  const processors = exporters.map((exporter) =>
    createBatchProcessor<ReadableSpan>({ signal: 'traces', config: config.traces.batch, exporter, prepare }),
  );
  const provider = new TracerProvider({
    resource,
    sampler: extra.sampler ?? createSampler(config),
    spanLimits: config.spanLimits,
    spanProcessors: processors.map(toSpanProcessor),
  });
  return { provider, processors };
}
