import {
  type Context,
  context as contextApi,
  isSpanContextValid,
  trace as traceApi,
} from '@opentelemetry/api';
import { currentScope } from '../correlation';

/** Symbol under which the logger stores the call-time context on each winston info object. */
export const STAMP = Symbol.for('@mem0-stack/logging.stamp');

/**
 * Everything about "when and where" a record was logged, captured synchronously inside
 * `logger.log()`: winston may run formats and transports later (stream back-pressure),
 * when the active context is already another request's.
 */
export type Stamp = {
  time: number;
  traceId: string | undefined;
  spanId: string | undefined;
  traceFlags: number;
  correlationId: string | undefined;
  ctx: Context;
};

// The API objects are singletons behind getters in the CommonJS build; read them once.
const context = contextApi;
const trace = traceApi;

export function captureStamp(): Stamp {
  const ctx = context.active();
  const span = trace.getSpan(ctx);
  if (span) {
    const sc = span.spanContext();
    if (isSpanContextValid(sc)) {
      return {
        time: Date.now(),
        traceId: sc.traceId,
        spanId: sc.spanId,
        traceFlags: sc.traceFlags,
        correlationId: sc.traceId,
        ctx,
      };
    }
  }
  return {
    time: Date.now(),
    traceId: undefined,
    spanId: undefined,
    traceFlags: 0,
    correlationId: currentScope()?.id,
    ctx,
  };
}
