import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { BatchConfig, Signal } from '../readConfig';
import type { ExportOutcome } from './createOtlpExporter';
import { countDropped } from './droppedCounter';
import { withTimeout } from './withTimeout';

/** Anything that can send a batch (OTLP, console). */
export type BatchExporter<T> = {
  export(items: T[]): Promise<ExportOutcome>;
  stopRetrying(): void;
  shutdown(): Promise<void>;
};

export type BatchProcessor<T> = {
  add(item: T): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
  stopRetrying(): void;
  /** Items waiting to be sent (for tests and the doctor). */
  readonly queued: number;
};

/**
 * A bounded batching queue shared by spans and log records. Differences from the upstream
 * BatchSpanProcessor that matter here: every loss is counted in telemetry.dropped, its
 * timers are unref'd (a finished script exits at once; `beforeExit` flushes), only one
 * export is in flight per signal so a dead collector cannot pile up requests, and the
 * per-item work on the application's hot path is a single array push.
 */
export function createBatchProcessor<T>(opts: {
  signal: Exclude<Signal, 'metrics'>;
  config: BatchConfig;
  exporter: BatchExporter<T>;
  /** Runs on each batch just before it is sent (redaction, async resource attributes). */
  prepare?: (items: T[]) => void | Promise<void>;
}): BatchProcessor<T> {
  const { signal, config, exporter, prepare } = opts;
  let queue: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let inflight: Promise<void> | undefined;
  let closed = false;

  const schedule = () => {
    if (inflight || closed) return;
    if (queue.length >= config.maxExportBatchSize) {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      if (!immediate) {
        immediate = setImmediate(() => {
          immediate = undefined;
          void drain(false);
        });
        immediate.unref();
      }
      return;
    }
    if (queue.length > 0 && !timer && !immediate) {
      timer = setTimeout(() => {
        timer = undefined;
        void drain(false);
      }, config.scheduledDelayMillis);
      timer.unref();
    }
  };

  const exportBatch = async (batch: T[]): Promise<void> => {
    let outcome: ExportOutcome;
    try {
      if (prepare) await prepare(batch);
      outcome = await withTimeout(
        context.with(suppressTracing(context.active()), () => exporter.export(batch)),
        config.exportTimeoutMillis,
      );
    } catch (err) {
      outcome = { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
    if (!outcome.ok) countDropped(signal, batch.length, `export failed: ${outcome.error.message}`);
    else if (outcome.rejected > 0)
      countDropped(signal, outcome.rejected, 'collector rejected part of a batch');
  };

  // Sends batches one at a time; `all` keeps going until the queue is empty (flush),
  // otherwise only full batches are sent back to back and the rest waits for the timer.
  const drain = (all: boolean): Promise<void> => {
    if (inflight) return inflight;
    const run = async () => {
      do {
        const batch =
          queue.length <= config.maxExportBatchSize ? queue : queue.slice(0, config.maxExportBatchSize);
        queue = batch === queue ? [] : queue.slice(config.maxExportBatchSize);
        if (batch.length > 0) await exportBatch(batch);
      } while (queue.length > 0 && (all || queue.length >= config.maxExportBatchSize));
    };
    inflight = run().finally(() => {
      inflight = undefined;
      schedule();
    });
    return inflight;
  };

  return {
    get queued() {
      return queue.length;
    },
    add(item: T) {
      if (closed) return;
      if (queue.length >= config.maxQueueSize) {
        countDropped(
          signal,
          1,
          `queue full (${config.maxQueueSize} ${signal === 'traces' ? 'spans' : 'log records'})`,
        );
        return;
      }
      queue.push(item);
      if (!inflight && (queue.length >= config.maxExportBatchSize || !timer)) schedule();
    },
    async forceFlush() {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      // Wait for the batch in flight, then send whatever is left.
      if (inflight) await inflight;
      if (queue.length > 0) await drain(true);
    },
    stopRetrying() {
      exporter.stopRetrying();
    },
    async shutdown() {
      if (closed) return;
      exporter.stopRetrying();
      await this.forceFlush();
      closed = true;
      await exporter.shutdown();
    },
  };
}
