import type { Attributes, Context } from '@opentelemetry/api';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { BatchConfig } from '../readConfig';
import type { OtlpExporter } from './createOtlpExporter';
import { countDropped } from './droppedCounter';
import { appendSpan, assembleTraceRequest, createEncodedBatch, type EncodedBatch } from './encodeTraces';
import { scrubAttributes } from './scrubSpans';
import { withTimeout } from './withTimeout';

export type EncodingSpanProcessor = SpanProcessor & {
  /** Spans encoded and waiting to be sent. */
  readonly queued: number;
  stopRetrying(): void;
};

/**
 * The span processor behind the default OTLP/protobuf trace exporter. A finished span is
 * redacted and encoded into the open batch immediately, so the span object dies young
 * (queued span objects surviving garbage collections were a large share of export cost);
 * batches are sealed at OTEL_BSP_MAX_EXPORT_BATCH_SIZE or after OTEL_BSP_SCHEDULE_DELAY and
 * sent one at a time. Bounded by OTEL_BSP_MAX_QUEUE_SIZE spans; every loss is counted in
 * telemetry.dropped. Timers are unref'd; `beforeExit` flushes.
 */
export function createEncodingSpanProcessor(opts: {
  config: BatchConfig;
  exporter: OtlpExporter<unknown>;
  resource: Resource;
}): EncodingSpanProcessor {
  const { config, exporter, resource } = opts;
  let open: EncodedBatch = createEncodedBatch();
  const sealed: EncodedBatch[] = [];
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let inflight: Promise<void> | undefined;
  let closed = false;

  const seal = () => {
    if (open.count > 0) {
      sealed.push(open);
      open = createEncodedBatch();
    }
  };

  const schedule = () => {
    if (inflight || closed) return;
    if (sealed.length > 0) {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      if (!immediate) {
        immediate = setImmediate(() => {
          immediate = undefined;
          void drain();
        });
        immediate.unref();
      }
      return;
    }
    if (open.count > 0 && !timer) {
      timer = setTimeout(() => {
        timer = undefined;
        seal();
        void drain();
      }, config.scheduledDelayMillis);
      timer.unref();
    }
  };

  const send = async (batch: EncodedBatch) => {
    try {
      if (resource.asyncAttributesPending) await resource.waitForAsyncAttributes?.();
      const body = assembleTraceRequest(batch);
      const outcome = await withTimeout(
        context.with(suppressTracing(context.active()), () => exporter.sendEncoded(body)),
        config.exportTimeoutMillis,
      );
      if (!outcome.ok) countDropped('traces', batch.count, `export failed: ${outcome.error.message}`);
      else if (outcome.rejected > 0)
        countDropped('traces', outcome.rejected, 'collector rejected part of a batch');
    } catch (err) {
      countDropped('traces', batch.count, `export failed: ${(err as Error)?.message ?? err}`);
    } finally {
      pending -= batch.count;
    }
  };

  const drain = (): Promise<void> => {
    if (inflight) return inflight;
    inflight = (async () => {
      for (let batch = sealed.shift(); batch; batch = sealed.shift()) await send(batch);
    })().finally(() => {
      inflight = undefined;
      schedule();
    });
    return inflight;
  };

  const forceFlush = async () => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    seal();
    if (inflight) await inflight;
    if (sealed.length > 0) await drain();
  };

  return {
    get queued() {
      return pending;
    },
    onStart(_span: Span, _ctx: Context) {},
    onEnd(span: ReadableSpan) {
      if (closed || (span.spanContext().traceFlags & 1) !== 1) return;
      if (pending >= config.maxQueueSize) {
        countDropped('traces', 1, `queue full (${config.maxQueueSize} spans)`);
        return;
      }
      try {
        scrubAttributes(span.attributes as Attributes);
        appendSpan(open, span);
      } catch (err) {
        countDropped('traces', 1, `span could not be encoded: ${(err as Error)?.message ?? err}`);
        return;
      }
      pending++;
      if (open.count >= config.maxExportBatchSize) {
        seal();
        schedule();
      } else if (!timer && !inflight) schedule();
    },
    forceFlush,
    stopRetrying() {
      exporter.stopRetrying();
    },
    async shutdown() {
      if (closed) return;
      exporter.stopRetrying();
      await forceFlush();
      closed = true;
      await exporter.shutdown();
    },
  };
}
