import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';

/** What one correlation scope carries; kept tiny because every log call reads it. */
type CorrelationStore = { readonly id: string };

// One store per process even when two copies of this package are loaded (npm duplicates),
// so a scope opened by one copy is seen by the other.
const STORE_KEY = Symbol.for('@mem0-stack/logging.correlation');
type GlobalWithStore = typeof globalThis & { [STORE_KEY]?: AsyncLocalStorage<CorrelationStore> };
const g = globalThis as GlobalWithStore;
if (!g[STORE_KEY]) g[STORE_KEY] = new AsyncLocalStorage<CorrelationStore>();
/** @internal shared by the logger's stamping code */
export const correlationStorage = g[STORE_KEY] as AsyncLocalStorage<CorrelationStore>;

const VALID_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * True when `id` is acceptable as an incoming correlation id: 1–128 characters of
 * `[A-Za-z0-9._-]`. Anything else (log-injection attempts, huge headers) is replaced by a
 * generated id.
 * @example isValidCorrelationId('req-42') // true
 */
export function isValidCorrelationId(id: unknown): id is string {
  return typeof id === 'string' && VALID_ID.test(id);
}

/**
 * A fresh 32-hex-character id, the same shape as a W3C trace id.
 * @example const id = newCorrelationId(); // 'a3f0…' (32 hex chars)
 */
export function newCorrelationId(): string {
  return randomUUID().replace(/-/g, '');
}

/**
 * The correlation id for the current async context: the trace id of the active span when
 * there is one (so logs join traces), otherwise the id of the enclosing
 * {@link runWithCorrelation} scope, otherwise `undefined`.
 * @example res.setHeader('x-correlation-id', getCorrelationId() ?? 'none');
 */
export function getCorrelationId(): string | undefined {
  const span = trace.getSpan(context.active());
  if (span) {
    const sc = span.spanContext();
    if (isSpanContextValid(sc)) return sc.traceId;
  }
  return correlationStorage.getStore()?.id;
}

/**
 * Runs `fn` inside a correlation scope (AsyncLocalStorage): every log line written from it,
 * including from awaited continuations, carries the id. An invalid or missing `id` is
 * replaced by a generated 32-hex id. An active span still wins: its trace id is the
 * correlation id.
 * @example runWithCorrelation(req.headers['x-request-id'] as string, () => handle(job));
 */
export function runWithCorrelation<T>(id: string | undefined, fn: () => T): T {
  return correlationStorage.run({ id: isValidCorrelationId(id) ? id : newCorrelationId() }, fn);
}
