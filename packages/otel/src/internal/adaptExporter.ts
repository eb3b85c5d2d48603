import type { ExportResult } from '@opentelemetry/core';
import type { BatchExporter } from './createBatchProcessor';

type CallbackExporter<T> = {
  export(items: T, done: (r: ExportResult) => void): void;
  shutdown(): Promise<void>;
};

/** Wraps an upstream callback-style exporter (console) in the promise shape the batch processor uses. */
export function adaptExporter<T>(exporter: CallbackExporter<T[]>): BatchExporter<T> {
  return {
    export: (items) =>
      new Promise((resolve) => {
        try {
          exporter.export(items, (r) =>
            resolve(
              r.code === 0
                ? { ok: true, rejected: 0 }
                : { ok: false, error: r.error ?? new Error('export failed') },
            ),
          );
        } catch (err) {
          resolve({ ok: false, error: err as Error });
        }
      }),
    stopRetrying() {},
    shutdown: () => exporter.shutdown(),
  };
}
