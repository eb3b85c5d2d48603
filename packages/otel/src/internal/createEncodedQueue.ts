import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { BatchConfig } from '../readConfig';
import type { OtlpExporter } from './createOtlpExporter';
import { countDropped } from './droppedCounter';
import { withTimeout } from './withTimeout';

/** The queue behind an encode-as-you-go pipeline (see {@link createEncodedQueue}). */
export type EncodedQueue<T> = {
  /** Items encoded and waiting to be sent. */
  readonly queued: number;
  /** Encodes one item into the open batch now (or counts it dropped: queue full, encoding failed). */
  add(item: T): void;
  forceFlush(): Promise<void>;
  stopRetrying(): void;
  shutdown(): Promise<void>;
};

/**
 * A bounded queue of already-encoded OTLP/protobuf batches, shared by the span and log
 * pipelines. An item is encoded into the open batch when it is added, so the object itself
 * can die young (items surviving garbage collections in a queue were a large share of export
 * cost); batches are sealed at the batch size or after the schedule delay and sent one at a
 * time. Bounded by `config.maxQueueSize` items; every loss is counted in telemetry.dropped.
 * Timers are unref'd; `beforeExit` flushes.
 * @example
 * const q = createEncodedQueue({ signal: 'traces', item: 'span', config, exporter, resource,
 *   createBatch: createEncodedBatch, append: appendSpan, assemble: assembleTraceRequest });
 * q.add(span);
 */
export function createEncodedQueue<T, B extends { count: number }>(opts: {
  signal: 'traces' | 'logs';
  /** What one item is called in drop reasons ('span', 'log record'). */
  item: string;
  config: BatchConfig;
  exporter: OtlpExporter<unknown>;
  resource: Resource;
  createBatch: () => B;
  /** Encodes one item into the batch and counts it there; may throw (the item is dropped). */
  append: (batch: B, item: T) => void;
  /** The request body of a sealed batch. */
  assemble: (batch: B) => Uint8Array;
}): EncodedQueue<T> {
  const { signal, config, exporter, resource, createBatch, append, assemble } = opts;
  let open: B = createBatch();
  const sealed: B[] = [];
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let inflight: Promise<void> | undefined;
  let closed = false;

  const seal = () => {
    if (open.count > 0) {
      sealed.push(open);
      open = createBatch();
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

  const send = async (batch: B) => {
    try {
      if (resource.asyncAttributesPending) await resource.waitForAsyncAttributes?.();
      const body = assemble(batch);
      const outcome = await withTimeout(
        context.with(suppressTracing(context.active()), () => exporter.sendEncoded(body)),
        config.exportTimeoutMillis,
      );
      if (!outcome.ok) countDropped(signal, batch.count, `export failed: ${outcome.error.message}`);
      else if (outcome.rejected > 0)
        countDropped(signal, outcome.rejected, 'collector rejected part of a batch');
    } catch (err) {
      countDropped(signal, batch.count, `export failed: ${(err as Error)?.message ?? err}`);
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
    add(item: T) {
      if (closed) return;
      if (pending >= config.maxQueueSize) {
        countDropped(signal, 1, `queue full (${config.maxQueueSize} ${opts.item}s)`);
        return;
      }
      try {
        append(open, item);
      } catch (err) {
        countDropped(signal, 1, `${opts.item} could not be encoded: ${(err as Error)?.message ?? err}`);
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
