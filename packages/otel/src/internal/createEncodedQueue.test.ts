import { resourceFromAttributes } from '@opentelemetry/resources';
import type { BatchConfig } from '../readConfig';
import { createEncodedQueue } from './createEncodedQueue';
import type { ExportOutcome, OtlpExporter } from './createOtlpExporter';
import { droppedTotals } from './droppedCounter';

type Item = { n: number; bad?: boolean };
type Batch = { count: number; items: number[] };

const resource = resourceFromAttributes({ 'service.name': 'queue-test' });
const config = (over: Partial<BatchConfig> = {}): BatchConfig => ({
  maxQueueSize: 100,
  maxExportBatchSize: 100,
  scheduledDelayMillis: 60_000,
  exportTimeoutMillis: 5_000,
  ...over,
});
const ok = async (): Promise<ExportOutcome> => ({ ok: true, rejected: 0 });

function setup(encodeOn: 'add' | 'seal', cfg: BatchConfig, answer: () => Promise<ExportOutcome> = ok) {
  const sent: number[][] = [];
  let encoded = 0;
  const exporter: OtlpExporter<unknown> = {
    signal: 'traces',
    export: async () => ({ ok: false, error: new Error('not used') }),
    sendEncoded(body: Uint8Array) {
      sent.push(JSON.parse(Buffer.from(body).toString('utf8')) as number[]);
      return answer();
    },
    stopRetrying() {},
    abort() {},
    async shutdown() {},
  };
  const queue = createEncodedQueue<Item, Batch>({
    signal: 'traces',
    item: 'span',
    config: cfg,
    exporter,
    resource,
    createBatch: () => ({ count: 0, items: [] }),
    append(batch, item) {
      encoded++;
      if (item.bad) throw new Error('unencodable');
      batch.items.push(item.n);
      batch.count++;
    },
    assemble: (batch) => Buffer.from(JSON.stringify(batch.items)),
    encodeOn,
  });
  const add = (n: number, from = 0) => {
    for (let i = 0; i < n; i++) queue.add({ n: from + i });
  };
  return { queue, sent, add, encoded: () => encoded };
}

describe.each(['add', 'seal'] as const)('createEncodedQueue, encodeOn: %s', (encodeOn) => {
  it('sends every item in order on flush, in batches of the export batch size', async () => {
    const { queue, sent, add } = setup(encodeOn, config({ maxExportBatchSize: 4 }));
    add(10);
    await queue.forceFlush();
    expect(sent).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(queue.queued).toBe(0);
  });

  it('bounds the queue while the collector is stalled, counting items not yet encoded', async () => {
    let release!: () => void;
    const stalled = new Promise<ExportOutcome>((r) => {
      release = () => r({ ok: true, rejected: 0 });
    });
    const { queue, sent, add } = setup(
      encodeOn,
      config({ maxQueueSize: 6, maxExportBatchSize: 2 }),
      () => stalled,
    );
    const before = droppedTotals().traces;
    add(2); // a full batch: sent at once, and the collector does not answer
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(1);
    add(30, 2);
    expect(queue.queued).toBe(6);
    expect(droppedTotals().traces - before).toBe(26);
    release();
    await queue.forceFlush();
    expect(sent.flat()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(queue.queued).toBe(0);
  });

  it('an item that cannot be encoded is dropped and counted; the others still go out', async () => {
    const { queue, sent, add } = setup(encodeOn, config());
    const before = droppedTotals().traces;
    add(1);
    queue.add({ n: 99, bad: true });
    add(1, 1);
    await queue.forceFlush();
    expect(droppedTotals().traces - before).toBe(1);
    expect(sent).toEqual([[0, 1]]);
    expect(queue.queued).toBe(0);
  });

  it('sends on the schedule delay without a flush', async () => {
    const { sent, add } = setup(encodeOn, config({ scheduledDelayMillis: 20 }));
    add(3);
    expect(sent).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(sent).toEqual([[0, 1, 2]]);
  });

  it('shutdown sends what is queued, then ignores later items', async () => {
    const { queue, sent, add } = setup(encodeOn, config());
    add(3);
    await queue.shutdown();
    expect(sent).toEqual([[0, 1, 2]]);
    add(3);
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toHaveLength(1);
  });
});

describe('createEncodedQueue: when items are encoded', () => {
  it("'add' encodes each item as it arrives", () => {
    const { add, encoded } = setup('add', config({ maxExportBatchSize: 4 }));
    add(3);
    expect(encoded()).toBe(3);
  });

  it("'seal' encodes a batch's items together when the batch is sealed (full, or flushed)", async () => {
    const { queue, add, encoded } = setup('seal', config({ maxExportBatchSize: 4 }));
    add(3);
    expect(encoded()).toBe(0);
    add(1, 3);
    expect(encoded()).toBe(4);
    add(2, 4);
    expect(encoded()).toBe(4);
    await queue.forceFlush();
    expect(encoded()).toBe(6);
  });
});
