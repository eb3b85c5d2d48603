import type { Context } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { BatchConfig } from '../readConfig';
import { createEncodedQueue } from './createEncodedQueue';
import type { OtlpExporter } from './createOtlpExporter';
import {
  appendSpan,
  assembleTraceRequest,
  createEncodedBatch,
  type EncodedBatch,
  releaseEncodedBatch,
} from './encodeTraces';
import { scrubSpan } from './scrubSpans';

export type EncodingSpanProcessor = SpanProcessor & {
  /** Spans accepted and not yet sent. */
  readonly queued: number;
  stopRetrying(): void;
};

/**
 * The span processor behind the default OTLP/protobuf trace exporter. Finished, sampled spans
 * wait in the open batch and are redacted and encoded together when it is sealed (see
 * createEncodedQueue: an ended span no longer changes, and encoding a batch in one loop cost
 * less per span under load than encoding each span as it ends, between two requests' work).
 * Bounded by OTEL_BSP_MAX_QUEUE_SIZE spans, batches of OTEL_BSP_MAX_EXPORT_BATCH_SIZE sent
 * after OTEL_BSP_SCHEDULE_DELAY; every loss is counted in telemetry.dropped.
 * @example
 * const p = createEncodingSpanProcessor({ config: config.traces.batch, exporter, resource });
 * new TracerProvider({ resource, spanProcessors: [p] });
 */
export function createEncodingSpanProcessor(opts: {
  config: BatchConfig;
  exporter: OtlpExporter<unknown>;
  resource: Resource;
}): EncodingSpanProcessor {
  const queue = createEncodedQueue<ReadableSpan, EncodedBatch>({
    signal: 'traces',
    item: 'span',
    ...opts,
    createBatch: createEncodedBatch,
    append(batch, span) {
      scrubSpan(span);
      appendSpan(batch, span);
    },
    assemble: assembleTraceRequest,
    release: releaseEncodedBatch,
    encodeOn: 'seal',
  });
  return {
    get queued() {
      return queue.queued;
    },
    onStart(_span: Span, _ctx: Context) {},
    onEnd(span: ReadableSpan) {
      if ((span.spanContext().traceFlags & 1) === 1) queue.add(span);
    },
    forceFlush: () => queue.forceFlush(),
    stopRetrying: () => queue.stopRetrying(),
    shutdown: () => queue.shutdown(),
  };
}
