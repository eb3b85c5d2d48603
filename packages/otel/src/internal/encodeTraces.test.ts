import { context, type SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  appendSpan,
  assembleTraceRequest,
  createEncodedBatch,
  encodeTraceRequest,
  releaseEncodedBatch,
} from './encodeTraces';

/** A context whose parent is a remote, sampled span carrying `traceState`. */
function remoteParent(traceState: string) {
  return trace.setSpanContext(context.active(), {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState(traceState),
  });
}

async function makeSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'enc-test',
      'process.pid': 4242,
      'host.name': 'héllo',
    }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const a = provider.getTracer('scope-a', '1.2.3');
  const b = provider.getTracer('scope-b');
  const remote = remoteParent('vendor=abc,other=x');
  for (let i = 0; i < 50; i++) {
    const s = a.startSpan(
      i % 2 ? 'GET /users/:id' : 'ünïcödé span ✓',
      {
        kind: (i % 5) as SpanKind,
        attributes: {
          'http.request.method': 'GET',
          'url.path': `/users/${i}`,
          'server.port': 8080,
          'network.peer.port': 40000 + i,
          big: 2 ** 40 + i,
          negative: -5 - i,
          'very.negative': -(2 ** 45),
          ratio: 0.25 + i,
          ok: i % 3 === 0,
          tags: ['x', 'y', `z${i}`],
          nums: [1, 2.5, -3],
          long: 'L'.repeat(300 + i),
          utf: 'ß∂ƒ©˙∆˚¬…æ',
        },
        links:
          i % 7 === 0 ? [{ context: trace.getSpanContext(remote)!, attributes: { 'link.attr': i } }] : [],
      },
      i % 4 === 0 ? remote : undefined,
    );
    if (i % 6 === 0) s.addEvent('exception', { 'exception.message': `boom ${i}`, 'exception.type': 'Error' });
    if (i % 10 === 0) s.setStatus({ code: SpanStatusCode.ERROR, message: 'it broke' });
    if (i % 11 === 0) s.setStatus({ code: SpanStatusCode.OK });
    s.end();
  }
  for (let i = 0; i < 5; i++) b.startSpan(`b${i}`).end();
  await provider.forceFlush();
  return exporter.getFinishedSpans();
}

describe('encodeTraceRequest', () => {
  it('produces exactly the bytes of the upstream protobuf serializer', async () => {
    const spans = await makeSpans();
    expect(spans.length).toBe(55);
    const upstream = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
    // Twice: the second run goes through the cached key/value encodings.
    for (let round = 0; round < 2; round++) {
      const ours = Buffer.from(encodeTraceRequest(spans));
      expect(ours.length).toBe(upstream.length);
      expect(Buffer.compare(ours, upstream)).toBe(0);
    }
  });

  it('returns a fresh buffer each call', async () => {
    const spans = await makeSpans();
    const first = encodeTraceRequest(spans.slice(0, 5));
    const copy = Buffer.from(first);
    encodeTraceRequest(spans.slice(5, 20));
    expect(Buffer.compare(Buffer.from(first), copy)).toBe(0);
  });

  it('grows past its initial buffer for large batches', async () => {
    const spans = await makeSpans();
    const many = Array.from({ length: 40 }, () => spans).flat();
    const upstream = Buffer.from(ProtobufTraceSerializer.serializeRequest(many) as Uint8Array);
    expect(upstream.length).toBeGreaterThan(64 * 1024);
    expect(Buffer.compare(Buffer.from(encodeTraceRequest(many)), upstream)).toBe(0);
  });

  it('encodes span by span (as spans end) into the same bytes', async () => {
    const spans = await makeSpans();
    const batch = createEncodedBatch();
    for (const s of spans) appendSpan(batch, s);
    expect(batch.count).toBe(spans.length);
    const upstream = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
    expect(Buffer.compare(Buffer.from(assembleTraceRequest(batch)), upstream)).toBe(0);
  });

  it("reuses a released batch's buffers without touching the request already assembled from it", async () => {
    const spans = await makeSpans();
    const many = Array.from({ length: 40 }, () => spans).flat();
    const first = createEncodedBatch();
    for (const s of many) appendSpan(first, s);
    const body = assembleTraceRequest(first);
    const kept = Buffer.from(body);
    releaseEncodedBatch(first);
    expect(first.groups.size).toBe(0);
    // The next batch writes into the pooled section buffer: other spans, same scope.
    const second = createEncodedBatch();
    const fewer = spans.slice(1);
    for (const s of fewer) appendSpan(second, s);
    const upstream = Buffer.from(ProtobufTraceSerializer.serializeRequest(fewer) as Uint8Array);
    expect(Buffer.compare(Buffer.from(assembleTraceRequest(second)), upstream)).toBe(0);
    expect(Buffer.compare(Buffer.from(body), kept)).toBe(0);
  });

  it('keeps every byte of a span that ends at the edge of its section buffer (long trace state, long status message)', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'edge' }),
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    // Take whatever sections earlier tests pooled: every batch below starts on a fresh 16 KiB one.
    const drain = createEncodedBatch();
    for (let i = 0; i < 8; i++) {
      const s = provider.getTracer(`drain-${i}`).startSpan('d');
      s.end();
      appendSpan(drain, s as unknown as ReadableSpan);
    }
    const tracer = provider.getTracer('edge');
    const remote = remoteParent(`vendor=${'v'.repeat(130)}`);
    const failures: string[] = [];
    // A padding span moves the probe span's start across the last bytes of the 16 KiB section.
    for (let pad = 15_600; pad < 16_300; pad++) {
      exporter.reset();
      tracer.startSpan('pad', { attributes: { p: 'x'.repeat(pad) } }).end();
      tracer.startSpan('child of a remote parent', {}, remote).end();
      const failed = tracer.startSpan('failed');
      failed.setStatus({ code: SpanStatusCode.ERROR, message: 'm'.repeat(200) });
      failed.end();
      const spans = exporter.getFinishedSpans();
      const upstream = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
      const batch = createEncodedBatch();
      try {
        for (const s of spans) appendSpan(batch, s);
        const ours = Buffer.from(assembleTraceRequest(batch));
        if (Buffer.compare(ours, upstream) !== 0) failures.push(`pad ${pad}: bytes differ`);
      } catch (err) {
        failures.push(`pad ${pad}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
