import { metrics, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';

type Flushable = { forceFlush?: () => Promise<unknown>; getDelegate?: () => unknown };

function flush(provider: unknown): Promise<unknown> | undefined {
  const p = provider as Flushable | undefined;
  // The API hands out proxies; the SDK provider that can flush sits behind getDelegate().
  const target = (typeof p?.getDelegate === 'function' ? p.getDelegate() : p) as Flushable | undefined;
  return typeof target?.forceFlush === 'function' ? target.forceFlush() : undefined;
}

/**
 * Pushes out whatever spans, metrics and log records the SDK still buffers, bounded by
 * `timeoutMs`. Works through the global OTel API, so it is a no-op without the preload and
 * needs no import of it.
 * @example await flushTelemetry(2000); process.exit(0);
 */
export async function flushTelemetry(timeoutMs: number): Promise<void> {
  const work = [trace.getTracerProvider(), metrics.getMeterProvider(), logs.getLoggerProvider()].map((p) =>
    Promise.resolve()
      .then(() => flush(p))
      .catch(() => undefined),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((r) => {
    timer = setTimeout(r, timeoutMs);
  });
  await Promise.race([Promise.all(work), deadline]);
  clearTimeout(timer);
}
