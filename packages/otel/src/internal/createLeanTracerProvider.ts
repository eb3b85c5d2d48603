import type {
  Attributes,
  Context,
  Link,
  Span,
  SpanContext,
  SpanOptions,
  Tracer,
  TracerOptions,
  TracerProvider,
} from '@opentelemetry/api';
import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  SamplingDecision,
  SpanKind,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace';
import {
  combineProcessors,
  isAttributeValue,
  LeanSpan,
  type LeanSpanLimits,
  type LeanSpanShared,
} from './LeanSpan';

/** The tracer provider the preload registers: getTracer, plus flush and shutdown of its processors. */
export type LeanTracerProvider = TracerProvider & {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
};

export type LeanTracerProviderOptions = {
  resource: Resource;
  processors: readonly SpanProcessor[];
  limits: LeanSpanLimits;
  /**
   * The sampler; `undefined` means the default `parentbased_always_on`, decided inline (the
   * SDK object would be asked through four calls per span for the same answer).
   */
  sampler?: Sampler;
};

// Random ids from a pooled buffer of CSPRNG bytes: one randomFillSync per 512 span ids
// instead of four Math.random() and buffer writes per id. node:crypto is loaded on the first
// span, not at startup (the preload's start-up cost is one of its targets).
let pool: Buffer | undefined;
let poolPos = 0;
const POOL_BYTES = 4096;

function randomHex(bytes: number): string {
  if (pool === undefined || poolPos + bytes > POOL_BYTES) {
    const { randomFillSync } = require('node:crypto') as typeof import('node:crypto');
    pool ??= Buffer.allocUnsafe(POOL_BYTES);
    randomFillSync(pool);
    poolPos = 0;
  }
  const start = poolPos;
  poolPos += bytes;
  // An all-zero id is invalid (W3C); the SDK sets the last byte then, and so do we.
  let zero = true;
  for (let i = start; i < poolPos; i++)
    if (pool[i] !== 0) {
      zero = false;
      break;
    }
  if (zero) pool[poolPos - 1] = 1;
  return pool.toString('hex', start, poolPos);
}

/**
 * A TracerProvider with the SDK's behaviour (samplers, span limits, span processors,
 * suppressed tracing, root spans, links) whose spans are {@link LeanSpan}s. Used by the
 * preload unless `MEM0_OTEL_TRACER=sdk` asks for the SDK's own provider.
 */
export function createLeanTracerProvider(opts: LeanTracerProviderOptions): LeanTracerProvider {
  const processor = combineProcessors(opts.processors);
  const shared: LeanSpanShared = { limits: opts.limits, processor, resource: opts.resource };
  const sampler = opts.sampler;
  const tracers = new Map<string, Tracer>();

  const createTracer = (scope: { name: string; version?: string; schemaUrl?: string }): Tracer => {
    const startSpan = (name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span => {
      if (options.root) ctx = trace.deleteSpan(ctx);
      if (isTracingSuppressed(ctx)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
      const parent = trace.getSpanContext(ctx);
      const spanId = randomHex(8);
      let traceId: string;
      let traceState: SpanContext['traceState'];
      let validParent: SpanContext | undefined;
      if (parent === undefined || !isSpanContextValid(parent)) traceId = randomHex(16);
      else {
        traceId = parent.traceId;
        traceState = parent.traceState;
        validParent = parent;
      }
      const kind = options.kind ?? SpanKind.INTERNAL;
      let sampled: boolean;
      let extra: Attributes | undefined;
      let attributes = options.attributes;
      const links = options.links;
      if (sampler === undefined) {
        // parentbased_always_on: follow a valid parent's sampled flag, sample every root.
        sampled = validParent === undefined || (validParent.traceFlags & TraceFlags.SAMPLED) !== 0;
        if (!sampled)
          return trace.wrapSpanContext({ traceId, spanId, traceFlags: TraceFlags.NONE, traceState });
      } else {
        attributes = sanitize(attributes);
        const sampleLinks = (links ?? []).map((l) => ({
          context: l.context,
          attributes: sanitize(l.attributes),
        }));
        const result = sampler.shouldSample(ctx, traceId, name, kind, attributes, sampleLinks);
        traceState = result.traceState ?? traceState;
        if (result.decision === SamplingDecision.NOT_RECORD)
          return trace.wrapSpanContext({ traceId, spanId, traceFlags: TraceFlags.NONE, traceState });
        sampled = result.decision === SamplingDecision.RECORD_AND_SAMPLED;
        extra = result.attributes;
      }
      const spanContext: SpanContext = {
        traceId,
        spanId,
        traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
        traceState,
      };
      const span = new LeanSpan(shared, scope, spanContext, name, kind, validParent, options.startTime);
      if (links !== undefined) for (const link of links as Link[]) span.addLink(link);
      if (attributes !== undefined) span.setAttributes(attributes);
      if (extra !== undefined) span.setAttributes(extra);
      processor.onStart(span as never, ctx);
      return span;
    };

    // The API's overloads: (name, fn), (name, options, fn), (name, options, context, fn).
    const startActiveSpan = <F extends (span: Span) => unknown>(
      name: string,
      ...args: Array<SpanOptions | Context | F | undefined>
    ): ReturnType<F> | undefined => {
      if (args.length === 0) return undefined;
      const fn = args[args.length - 1] as F;
      const opts = args.length >= 2 ? (args[0] as SpanOptions | undefined) : undefined;
      const parentContext =
        (args.length >= 3 ? (args[1] as Context | undefined) : undefined) ?? context.active();
      const span = startSpan(name, opts, parentContext);
      return context.with(
        trace.setSpan(parentContext, span),
        fn as (s: Span) => ReturnType<F>,
        undefined,
        span,
      );
    };

    return { startSpan, startActiveSpan } as Tracer;
  };

  return {
    getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
      const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
      let tracer = tracers.get(key);
      if (tracer === undefined) {
        const scope: { name: string; version?: string; schemaUrl?: string } = { name };
        if (version !== undefined) scope.version = version;
        if (options?.schemaUrl !== undefined) scope.schemaUrl = options.schemaUrl;
        tracer = createTracer(scope);
        tracers.set(key, tracer);
      }
      return tracer;
    },
    forceFlush: () => processor.forceFlush(),
    shutdown: () => processor.shutdown(),
  };
}

/** A copy with the invalid keys/values left out, as the SDK hands attributes to samplers. */
function sanitize(attributes: Attributes | undefined): Attributes {
  const out: Attributes = {};
  if (attributes == null || typeof attributes !== 'object') return out;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key) || key === '') continue;
    const value = attributes[key];
    if (!isAttributeValue(value)) continue;
    out[key] = Array.isArray(value) ? value.slice() : value;
  }
  return out;
}
