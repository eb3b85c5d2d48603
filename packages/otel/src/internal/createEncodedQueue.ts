import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { BatchConfig } from '../readConfig';
import type { OtlpExporter } from './createOtlpExporter';
import { countDropped } from './droppedCounter';
import { withTimeout } from './withTimeout';

/** The queue behind an encode-as-you-go pipeline (see {@link createEncodedQueue}). */
export type EncodedQueue<T> = {
  /** Items accepted and not yet sent (encoded or waiting to be). */
  readonly queued: number;
  /** Accepts one item (or counts it dropped: queue full, encoding failed). */
  add(item: T): void;
  forceFlush(): Promise<void>;
  stopRetrying(): void;
  shutdown(): Promise<void>;
};

/**
 * A bounded queue of OTLP/protobuf batches, shared by the span and log pipelines. Items are
 * encoded either when added (`encodeOn: 'add'`, the default: the item may change or die right
 * after) or all together when their batch is sealed (`'seal'`: for items that no longer change,
 * such as ended spans; the encoder then runs in one tight loop over the batch instead of once
 * between every two requests' work, which measured cheaper per span under load). Batches are
 * sealed at the batch size or after the schedule delay and sent one at a time. Bounded by
 * `config.maxQueueSize` items; every loss is counted in telemetry.dropped. Timers are unref'd;
 * `beforeExit` flushes.
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
  /** Called once a batch's body is assembled: the batch is not used again. */
  release?: (batch: B) => void;
  /** When items are encoded: as they are added (default) or when their batch is sealed. */
  encodeOn?: 'add' | 'seal';
}): EncodedQueue<T> {
  const { signal, config, exporter, resource, createBatch, append, assemble } = opts;
  let open: B = createBatch();
  const sealed: B[] = [];
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let inflight: Promise<void> | undefined;
  let closed = false;
  const deferred = opts.encodeOn === 'seal';
  /** Items of the open batch not encoded yet (`encodeOn: 'seal'`). */
  let waiting: T[] = [];
  const openCount = () => (deferred ? waiting.length : open.count);

  const encode = (batch: B, item: T): boolean => {
    try {
      append(batch, item);
      return true;
    } catch (err) {
      countDropped(signal, 1, `${opts.item} could not be encoded: ${(err as Error)?.message ?? err}`);
      return false;
    }
  };

  const seal = () => {
    if (deferred && waiting.length > 0) {
      const items = waiting;
      waiting = [];
      for (const item of items) if (!encode(open, item)) pending--;
    }
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
    if (openCount() > 0 && !timer) {
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
      opts.release?.(batch);
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
      if (deferred) waiting.push(item);
      else if (!encode(open, item)) return;
      pending++;
      if (openCount() >= config.maxExportBatchSize) {
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
