import type { HrTime, Span, Tracer } from '@opentelemetry/api';
import { ROOT_CONTEXT, TraceFlags } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { type ReadableSpan, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createLeanTracerProvider } from './createLeanTracerProvider';
import { appendSpan, assembleTraceRequest, createEncodedBatch, encodeTraceRequest } from './encodeTraces';

// Conformance of the lean tracer (LeanSpan, createLeanTracerProvider) and of the hand-written
// OTLP encoder with the OpenTelemetry SDK span and @opentelemetry/otlp-transformer.

const resource = resourceFromAttributes({ 'service.name': 'conformance' });
const limits = {
  attributeValueLengthLimit: 4096,
  attributeCountLimit: 2,
  eventCountLimit: 8,
  linkCountLimit: 8,
  attributePerEventCountLimit: 8,
  attributePerLinkCountLimit: 8,
};

type Seen = { ending: Array<{ endTime: HrTime; duration: HrTime }>; ended: ReadableSpan[] };

function recorder(): { processor: SpanProcessor; seen: Seen } {
  const seen: Seen = { ending: [], ended: [] };
  const processor = {
    onStart() {},
    onEnding(span: Span) {
      const s = span as unknown as ReadableSpan;
      seen.ending.push({ endTime: [...s.endTime] as HrTime, duration: [...s.duration] as HrTime });
    },
    onEnd(span: ReadableSpan) {
      seen.ended.push(span);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  } as SpanProcessor;
  return { processor, seen };
}

function pair(): Array<{ label: string; tracer: Tracer; seen: Seen }> {
  const sdk = recorder();
  const lean = recorder();
  return [
    {
      label: 'sdk',
      tracer: new TracerProvider({ resource, spanLimits: limits, spanProcessors: [sdk.processor] }).getTracer(
        's',
      ),
      seen: sdk.seen,
    },
    {
      label: 'lean',
      tracer: createLeanTracerProvider({ resource, limits, processors: [lean.processor] }).getTracer('s'),
      seen: lean.seen,
    },
  ];
}

describe('lean tracer conformance with the SDK span', () => {
  test('attribute keys named like Object.prototype members count toward attributeCountLimit', () => {
    const out = pair().map(({ tracer, seen }) => {
      const span = tracer.startSpan('op', {}, ROOT_CONTEXT);
      span.setAttribute('constructor', 'c');
      span.setAttribute('a', 1);
      span.setAttribute('b', 2); // over the limit of 2
      span.setAttribute('toString', 't'); // over the limit of 2
      span.end();
      const s = seen.ended[0] as ReadableSpan;
      return { attributes: { ...s.attributes }, dropped: s.droppedAttributesCount };
    });
    expect(out[1]).toEqual(out[0]);
    expect(out[1]).toEqual({ attributes: { constructor: 'c', a: 1 }, dropped: 2 });
  });

  test('onEnding sees the end time and duration already set, as with the SDK span', () => {
    const out = pair().map(({ tracer, seen }) => {
      tracer.startSpan('op', { startTime: [1_700_000_000, 0] }, ROOT_CONTEXT).end([1_700_000_001, 500]);
      return seen.ending;
    });
    expect(out[1]).toEqual(out[0]);
    expect(out[1]).toEqual([{ endTime: [1_700_000_001, 500], duration: [1, 500] }]);
  });

  test('an HrTime end slightly before an HrTime start is clamped to the start (no negative duration)', () => {
    const out = pair().map(({ tracer, seen }) => {
      // 100 ns apart: below the precision of epoch milliseconds held in a double (~240 ns).
      tracer.startSpan('op', { startTime: [1_700_000_000, 500] }, ROOT_CONTEXT).end([1_700_000_000, 400]);
      const s = seen.ended[0] as ReadableSpan;
      return { start: s.startTime, end: s.endTime, duration: s.duration };
    });
    expect(out[1]).toEqual(out[0]);
    expect(out[1]?.duration).toEqual([0, 0]);
  });
});

describe('encoder conformance with the upstream ProtobufTraceSerializer', () => {
  test('a link whose ids are not 16/8 bytes long does not corrupt the request', () => {
    const ended: ReadableSpan[] = [];
    const provider = createLeanTracerProvider({
      resource,
      limits,
      processors: [
        {
          onStart() {},
          onEnd: (s: ReadableSpan) => ended.push(s),
          forceFlush: async () => {},
          shutdown: async () => {},
        } as SpanProcessor,
      ],
    });
    const tracer = provider.getTracer('s');
    // The SDK (and the API) take a link's span context as given: no id validation.
    tracer
      .startSpan(
        'linked',
        {
          links: [
            { context: { traceId: 'abcd', spanId: '12', traceFlags: TraceFlags.SAMPLED } },
            { context: { traceId: '', spanId: '', traceFlags: TraceFlags.NONE }, attributes: { a: 1 } },
          ],
        },
        ROOT_CONTEXT,
      )
      .end();
    tracer.startSpan('next', {}, ROOT_CONTEXT).end();
    const upstream = Buffer.from(ProtobufTraceSerializer.serializeRequest(ended) as Uint8Array);
    expect(Buffer.from(encodeTraceRequest(ended)).equals(upstream)).toBe(true);
    const batch = createEncodedBatch();
    for (const s of ended) appendSpan(batch, s);
    expect(Buffer.from(assembleTraceRequest(batch)).equals(upstream)).toBe(true);
  });
});
