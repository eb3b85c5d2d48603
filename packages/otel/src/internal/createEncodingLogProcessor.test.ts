import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import type { BatchConfig } from '../readConfig';
import { createEncodingLogProcessor } from './createEncodingLogProcessor';
import type { ExportOutcome, OtlpExporter } from './createOtlpExporter';
import { droppedTotals } from './droppedCounter';

/** Counts the LogRecord fields (ScopeLogs.log_records) of a request body, walking the framing. */
function recordCount(body: Buffer): number {
  const read = (b: Buffer, at: number): [number, number] => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const byte = b[at++] as number;
      v += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) return [v, at];
    }
  };
  /** The length-delimited fields with `field` of the message in b[from, to). */
  const fields = (b: Buffer, from: number, to: number, field: number): Array<[number, number]> => {
    const out: Array<[number, number]> = [];
    for (let at = from; at < to; ) {
      const [tag, p] = read(b, at);
      const wire = tag & 7;
      if (wire === 2) {
        const [len, q] = read(b, p);
        if (tag >>> 3 === field) out.push([q, q + len]);
        at = q + len;
      } else if (wire === 0) at = read(b, p)[1];
      else at = p + (wire === 1 ? 8 : 4);
    }
    return out;
  };
  let n = 0;
  for (const [rs, re] of fields(body, 0, body.length, 1))
    for (const [ss, se] of fields(body, rs, re, 2)) n += fields(body, ss, se, 2).length;
  return n;
}

function exporter(answer: (body: Buffer) => Promise<ExportOutcome>): OtlpExporter<unknown> & {
  bodies: Buffer[];
} {
  const bodies: Buffer[] = [];
  return {
    signal: 'logs',
    bodies,
    export: async () => ({ ok: false, error: new Error('not used') }),
    sendEncoded(body: Uint8Array) {
      const b = Buffer.from(body);
      bodies.push(b);
      return answer(b);
    },
    stopRetrying() {},
    abort() {},
    async shutdown() {},
  };
}

const resource = resourceFromAttributes({ 'service.name': 'queue-test' });
const config = (over: Partial<BatchConfig> = {}): BatchConfig => ({
  maxQueueSize: 100,
  maxExportBatchSize: 100,
  scheduledDelayMillis: 60_000,
  exportTimeoutMillis: 5_000,
  ...over,
});
const ok = async (): Promise<ExportOutcome> => ({ ok: true, rejected: 0 });

function setup(cfg: BatchConfig, answer: (body: Buffer) => Promise<ExportOutcome> = ok) {
  const exp = exporter(answer);
  const processor = createEncodingLogProcessor({ config: cfg, exporter: exp, resource });
  const provider = new LoggerProvider({ resource, processors: [processor] });
  const logger = provider.getLogger('queue-test');
  const emit = (n: number) => {
    for (let i = 0; i < n; i++) logger.emit({ body: `record ${i}`, attributes: { i } });
  };
  return { exp, processor, provider, emit };
}

describe('createEncodingLogProcessor', () => {
  it('sends every record on flush, in batches of OTEL_BLRP_MAX_EXPORT_BATCH_SIZE', async () => {
    const { exp, processor, provider, emit } = setup(config({ maxExportBatchSize: 4 }));
    emit(10);
    await provider.forceFlush();
    expect(exp.bodies.map(recordCount)).toEqual([4, 4, 2]);
    expect(processor.queued).toBe(0);
  });

  it('bounds the queue while the collector is stalled: excess records are dropped and counted', async () => {
    let release!: () => void;
    const stalled = new Promise<ExportOutcome>((r) => {
      release = () => r({ ok: true, rejected: 0 });
    });
    const { exp, processor, provider, emit } = setup(
      config({ maxQueueSize: 6, maxExportBatchSize: 2 }),
      () => stalled,
    );
    const before = droppedTotals().logs;
    emit(2); // a full batch: sent at once and stalls
    await new Promise((r) => setImmediate(r));
    expect(exp.bodies).toHaveLength(1);
    emit(30);
    expect(processor.queued).toBe(6);
    expect(droppedTotals().logs - before).toBe(26);
    release();
    await provider.forceFlush();
    expect(exp.bodies.map(recordCount).reduce((a, b) => a + b, 0)).toBe(6);
    expect(processor.queued).toBe(0);
  });

  it('counts the records of a failed export as dropped', async () => {
    const { provider, emit } = setup(config(), async () => ({ ok: false, error: new Error('HTTP 503') }));
    const before = droppedTotals().logs;
    emit(7);
    await provider.forceFlush();
    expect(droppedTotals().logs - before).toBe(7);
  });

  it('counts records the collector rejected (partial success)', async () => {
    const { provider, emit } = setup(config(), async () => ({ ok: true, rejected: 2 }));
    const before = droppedTotals().logs;
    emit(5);
    await provider.forceFlush();
    expect(droppedTotals().logs - before).toBe(2);
  });

  it('a record that cannot be encoded is dropped and counted; the others still go out', async () => {
    const { exp, provider, emit } = setup(config());
    const logger = provider.getLogger('queue-test');
    const before = droppedTotals().logs;
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    emit(1);
    logger.emit({ body: circular as never });
    emit(1);
    await provider.forceFlush();
    expect(droppedTotals().logs - before).toBe(1);
    expect(exp.bodies.map(recordCount)).toEqual([2]);
  });

  it('sends on the schedule delay without a flush', async () => {
    const { exp, emit } = setup(config({ scheduledDelayMillis: 20 }));
    emit(3);
    expect(exp.bodies).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(exp.bodies.map(recordCount)).toEqual([3]);
  });

  it('shutdown sends what is queued, then ignores later records', async () => {
    const { exp, provider, emit } = setup(config());
    emit(3);
    await provider.shutdown();
    expect(exp.bodies.map(recordCount)).toEqual([3]);
    emit(3);
    await new Promise((r) => setTimeout(r, 20));
    expect(exp.bodies).toHaveLength(1);
  });
});
