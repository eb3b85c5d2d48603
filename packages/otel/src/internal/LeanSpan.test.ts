import type { Attributes, Context, SpanContext, Tracer } from '@opentelemetry/api';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { suppressTracing, TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { createLeanTracerProvider } from './createLeanTracerProvider';

const resource = resourceFromAttributes({ 'service.name': 'lean-test' });
const limits = {
  attributeValueLengthLimit: 10,
  attributeCountLimit: 6,
  eventCountLimit: 3,
  linkCountLimit: 2,
  attributePerEventCountLimit: 2,
  attributePerLinkCountLimit: 2,
};

/** Collects ended spans synchronously (the SDK's SimpleSpanProcessor exports asynchronously). */
function collector(): { processor: SpanProcessor; spans: ReadableSpan[] } {
  const spans: ReadableSpan[] = [];
  const processor: SpanProcessor = {
    onStart() {},
    onEnd(span) {
      if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) spans.push(span);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  return { processor, spans };
}

function pair(sampler?: Sampler): Array<{ label: string; tracer: Tracer; spans: () => ReadableSpan[] }> {
  const sdkOut = collector();
  const sdk = new TracerProvider({
    resource,
    sampler:
      sampler ?? new ParentBasedSampler({ root: { shouldSample: () => ({ decision: 2 }) } as Sampler }),
    spanLimits: limits,
    spanProcessors: [sdkOut.processor],
  });
  const leanOut = collector();
  const lean = createLeanTracerProvider({
    resource,
    limits,
    processors: [leanOut.processor],
    ...(sampler ? { sampler } : {}),
  });
  return [
    { label: 'sdk', tracer: sdk.getTracer('scope', '1.2.3'), spans: () => sdkOut.spans },
    { label: 'lean', tracer: lean.getTracer('scope', '1.2.3'), spans: () => leanOut.spans },
  ];
}

/** Everything an exporter reads of a span, minus ids and clock readings. */
function shape(s: ReadableSpan) {
  return {
    name: s.name,
    kind: s.kind,
    attributes: s.attributes,
    events: s.events.map((e) => ({
      name: e.name,
      attributes: e.attributes,
      droppedAttributesCount: e.droppedAttributesCount,
    })),
    links: s.links,
    status: s.status,
    droppedAttributesCount: s.droppedAttributesCount,
    droppedEventsCount: s.droppedEventsCount,
    droppedLinksCount: s.droppedLinksCount,
    ended: s.ended,
    flags: s.spanContext().traceFlags,
    traceState: s.spanContext().traceState?.serialize(),
    parent: s.parentSpanContext?.spanId,
    scope: s.instrumentationScope,
    resource: s.resource.attributes,
  };
}

const remoteParent = (flags: number): Context =>
  trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: flags,
    traceState: new TraceState('vendor=1'),
    isRemote: true,
  });

const linkCtx: SpanContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: 1,
};

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

describe('LeanSpan matches the SDK span', () => {
  test('attributes: validation, count and length limits, overwrite, arrays', () => {
    const out = pair().map(({ tracer, spans }) => {
      const span = tracer.startSpan(
        'op',
        { kind: SpanKind.SERVER, attributes: { a: 'short', bad: { x: 1 } as never, empty: '' } },
        ROOT_CONTEXT,
      );
      span.setAttribute('long', 'abcdefghijklmnop');
      span.setAttribute('', 'no key');
      span.setAttribute('mixed', [1, 'two'] as never);
      span.setAttribute('list', ['abcdefghijklmno', null, 'x'] as never);
      span.setAttribute('a', 'overwritten');
      span.setAttribute('n', 42);
      span.setAttribute('undef', undefined);
      span.setAttributes({ b: true, c: 1.5, d: 'over the limit' });
      span.setAttribute('a', 'again');
      span.end();
      return spans().map(shape);
    });
    expect(out[1]).toEqual(out[0]);
    expect(out[1]?.[0]?.droppedAttributesCount).toBeGreaterThan(0);
  });

  test('events, links, status, exceptions, name, and nothing changes after end', () => {
    const out = pair().map(({ tracer, spans }) => {
      const span = tracer.startSpan(
        'op',
        { links: [{ context: linkCtx, attributes: { a: 1, b: 2, c: 3 } }] },
        ROOT_CONTEXT,
      );
      span.addEvent('e1', { k: 'abcdefghijklmno', j: 1, i: 2 });
      span.addEvent('e2', Date.now());
      span.addEvent('e3', { bad: {} as never });
      span.addEvent('e4');
      span.addLink({ context: linkCtx });
      span.addLinks([{ context: linkCtx, attributes: { z: 'z' } }]);
      span.setStatus({ code: SpanStatusCode.UNSET });
      span.setStatus({ code: SpanStatusCode.ERROR, message: 42 as never });
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
      span.recordException(Object.assign(new Error('bad'), { code: 'E_BAD' }));
      span.recordException('plain string');
      span.recordException({} as Error);
      span.updateName('renamed');
      span.end();
      span.setAttribute('late', 1);
      span.updateName('late');
      span.setStatus({ code: SpanStatusCode.OK });
      span.end();
      return spans().map((s) => {
        const sh = shape(s);
        // The stack is the only per-implementation difference: who called recordException.
        for (const e of sh.events) delete (e.attributes as Attributes | undefined)?.['exception.stacktrace'];
        return sh;
      });
    });
    expect(out[1]).toEqual(out[0]);
    expect(out[1]?.[0]?.name).toBe('renamed');
    expect(out[1]?.[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
  });

  test('status OK is final', () => {
    const out = pair().map(({ tracer, spans }) => {
      const span = tracer.startSpan('op', {}, ROOT_CONTEXT);
      span.setStatus({ code: SpanStatusCode.OK });
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'ignored' });
      span.end();
      return spans().map(shape);
    });
    expect(out[1]).toEqual(out[0]);
  });

  test('parents: remote sampled, remote not sampled, root option, suppressed tracing', () => {
    const out = pair().map(({ tracer, spans }) => {
      const child = tracer.startSpan('child', {}, remoteParent(TraceFlags.SAMPLED));
      const unsampled = tracer.startSpan('unsampled', {}, remoteParent(TraceFlags.NONE));
      const root = tracer.startSpan('root', { root: true }, remoteParent(TraceFlags.SAMPLED));
      const quiet = tracer.startSpan('quiet', {}, suppressTracing(ROOT_CONTEXT));
      for (const s of [child, unsampled, root, quiet]) s.end();
      return {
        child: child.spanContext().traceId,
        unsampled: [
          unsampled.isRecording(),
          unsampled.spanContext().traceFlags,
          unsampled.spanContext().traceId,
        ],
        rootIsNewTrace: root.spanContext().traceId !== '0af7651916cd43dd8448eb211c80319c',
        quiet: [quiet.isRecording(), quiet.spanContext().traceId],
        exported: spans().map(shape),
      };
    });
    expect(out[1]).toEqual(out[0]);
    expect(out[1]?.child).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(out[1]?.exported.map((s) => s.name)).toEqual(['child', 'root']);
  });

  test('a custom sampler: its decision, attributes and trace state are applied', () => {
    const sampler: Sampler = {
      shouldSample: (_ctx, _traceId, name) =>
        name === 'drop'
          ? { decision: SamplingDecision.NOT_RECORD }
          : name === 'record'
            ? { decision: SamplingDecision.RECORD }
            : {
                decision: SamplingDecision.RECORD_AND_SAMPLED,
                attributes: { 'sampler.added': 'yes' },
                traceState: new TraceState('s=1'),
              },
      toString: () => 'test',
    };
    const out = pair(sampler).map(({ tracer, spans }) => {
      const drop = tracer.startSpan('drop', {}, ROOT_CONTEXT);
      const record = tracer.startSpan('record', {}, ROOT_CONTEXT);
      const keep = tracer.startSpan('keep', { attributes: { own: 1 } }, ROOT_CONTEXT);
      for (const s of [drop, record, keep]) s.end();
      return {
        recording: [drop.isRecording(), record.isRecording(), keep.isRecording()],
        exported: spans().map(shape),
      };
    });
    expect(out[1]).toEqual(out[0]);
    expect(out[1]?.exported.find((s) => s.name === 'keep')?.attributes).toEqual({
      own: 1,
      'sampler.added': 'yes',
    });
  });

  test('AlwaysOff: a non-recording span that still carries ids for propagation', () => {
    const out = pair(new AlwaysOffSampler()).map(({ tracer, spans }) => {
      const s = tracer.startSpan('off', {}, ROOT_CONTEXT);
      s.end();
      return {
        recording: s.isRecording(),
        valid: /^[0-9a-f]{32}$/.test(s.spanContext().traceId),
        n: spans().length,
      };
    });
    expect(out[1]).toEqual(out[0]);
  });

  test('startActiveSpan, every overload, makes the span active and returns the callback value', () => {
    const out = pair().map(({ tracer }) => {
      const seen: boolean[] = [];
      const r2 = tracer.startActiveSpan('a', (span) => {
        seen.push(trace.getActiveSpan() === span);
        span.end();
        return 2;
      });
      const r3 = tracer.startActiveSpan('b', { kind: SpanKind.CLIENT }, (span) => {
        seen.push(trace.getActiveSpan() === span);
        span.end();
        return 3;
      });
      const r4 = tracer.startActiveSpan('c', {}, remoteParent(TraceFlags.SAMPLED), (span) => {
        seen.push(span.spanContext().traceId === '0af7651916cd43dd8448eb211c80319c');
        span.end();
        return 4;
      });
      return { seen, values: [r2, r3, r4] };
    });
    expect(out[1]).toEqual(out[0]);
    expect(out[1]?.seen).toEqual([true, true, true]);
  });
});

describe('LeanSpan times', () => {
  test('measured times: start near the wall clock, end after start, duration consistent', async () => {
    const [, lean] = pair();
    const before = Date.now();
    const span = lean?.tracer.startSpan('t', {}, ROOT_CONTEXT);
    await new Promise((r) => setTimeout(r, 20));
    span?.end();
    const s = lean?.spans()[0] as ReadableSpan;
    const startMs = s.startTime[0] * 1000 + s.startTime[1] / 1e6;
    const endMs = s.endTime[0] * 1000 + s.endTime[1] / 1e6;
    expect(Math.abs(startMs - before)).toBeLessThan(50);
    expect(endMs - startMs).toBeGreaterThanOrEqual(15);
    expect(s.duration[0] * 1000 + s.duration[1] / 1e6).toBeCloseTo(endMs - startMs, 3);
    for (const t of [s.startTime, s.endTime, s.duration]) {
      expect(Number.isInteger(t[1]) && t[1] >= 0 && t[1] < 1e9).toBe(true);
    }
  });

  test('explicit HrTime start and end are kept exactly; an end before the start is clamped', () => {
    const out = pair().map(({ tracer, spans }) => {
      tracer
        .startSpan('hr', { startTime: [1_700_000_000, 123_456_789] }, ROOT_CONTEXT)
        .end([1_700_000_001, 5]);
      tracer.startSpan('backwards', { startTime: [1_700_000_010, 0] }, ROOT_CONTEXT).end([1_700_000_000, 0]);
      tracer
        .startSpan('date', { startTime: new Date(1_700_000_000_500) }, ROOT_CONTEXT)
        .end(new Date(1_700_000_001_000));
      return spans().map((s) => ({ name: s.name, start: s.startTime, end: s.endTime, duration: s.duration }));
    });
    expect(out[1]).toEqual(out[0]);
    expect(out[1]?.[0]).toEqual({
      name: 'hr',
      start: [1_700_000_000, 123_456_789],
      end: [1_700_000_001, 5],
      duration: [0, 876_543_216],
    });
  });
});
