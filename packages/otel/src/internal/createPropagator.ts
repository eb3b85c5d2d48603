import type { TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Diag } from './createDiag';
import { loadOptional } from './loadOptional';

type B3Module = {
  B3Propagator: new (opts?: { injectEncoding?: number }) => TextMapPropagator;
  B3InjectEncoding: { SINGLE_HEADER: number; MULTI_HEADER: number };
};
type JaegerModule = { JaegerPropagator: new () => TextMapPropagator };

/**
 * W3C trace context and baggage are built in. b3/jaeger come from their upstream packages,
 * loaded only when OTEL_PROPAGATORS asks for them.
 */
export function createPropagator(names: string[], diag: Diag): TextMapPropagator | undefined {
  if (names.includes('none') || names.length === 0) return undefined;
  const list: TextMapPropagator[] = [];
  for (const name of names) {
    if (name === 'tracecontext') list.push(new W3CTraceContextPropagator());
    else if (name === 'baggage') list.push(new W3CBaggagePropagator());
    else if (name === 'b3' || name === 'b3multi') {
      const b3 = loadOptional<B3Module>('@opentelemetry/propagator-b3');
      if (b3) {
        list.push(
          new b3.B3Propagator({
            injectEncoding:
              name === 'b3' ? b3.B3InjectEncoding.SINGLE_HEADER : b3.B3InjectEncoding.MULTI_HEADER,
          }),
        );
      } else {
        diag.warnOnce(
          `propagator:${name}`,
          `OTEL_PROPAGATORS asks for ${name} but @opentelemetry/propagator-b3 is not installed; skipping it.`,
        );
      }
    } else if (name === 'jaeger') {
      const j = loadOptional<JaegerModule>('@opentelemetry/propagator-jaeger');
      if (j) list.push(new j.JaegerPropagator());
      else {
        diag.warnOnce(
          'propagator:jaeger',
          'OTEL_PROPAGATORS asks for jaeger but @opentelemetry/propagator-jaeger is not installed; skipping it.',
        );
      }
    }
  }
  return list.length === 1 ? list[0] : new CompositePropagator({ propagators: list });
}
