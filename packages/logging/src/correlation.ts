import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { type Context, context, isSpanContextValid, trace } from '@opentelemetry/api';

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

// Under an OpenTelemetry context manager the scope rides in the OTel context instead of in
// correlationStorage. Every enabled AsyncLocalStorage copies its store onto every promise the
// process creates, so a second one beside the SDK's costs on each await (≈ 3 µs per 50 awaits
// on Node 20 here, where the first costs ≈ 4 µs: `node packages/logging/bench/alsStores.cjs`).
const CTX_KEY = Symbol.for('@mem0-stack/logging.correlation.context');

/**
 * @internal runs `fn` in a correlation scope: in the OTel context when a context manager carries
 * it (checked inside, so a manager registered or disabled later is followed), else in
 * correlationStorage. `ctx`: the context to derive from (default: the active one).
 */
export function runInScope<T>(store: CorrelationStore, fn: () => T, ctx?: Context): T {
  return context.with((ctx ?? context.active()).setValue(CTX_KEY, store), () =>
    context.active().getValue(CTX_KEY) === store ? fn() : correlationStorage.run(store, fn),
  );
}

/** @internal the innermost correlation scope, wherever it is kept. */
export function currentScope(): CorrelationStore | undefined {
  return (
    (context.active().getValue(CTX_KEY) as CorrelationStore | undefined) ?? correlationStorage.getStore()
  );
}

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
  return currentScope()?.id;
}

/**
 * Runs `fn` inside a correlation scope (AsyncLocalStorage): every log line written from it,
 * including from awaited continuations, carries the id. An invalid or missing `id` is
 * replaced by a generated 32-hex id. An active span still wins: its trace id is the
 * correlation id.
 * @example runWithCorrelation(req.headers['x-request-id'] as string, () => handle(job));
 */
export function runWithCorrelation<T>(id: string | undefined, fn: () => T): T {
  return runInScope({ id: isValidCorrelationId(id) ? id : newCorrelationId() }, fn);
}
