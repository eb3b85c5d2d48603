import type { HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { createFastHistogram, createFastHistogramProducer } from './fastHistogram';

const points = async (producer: ReturnType<typeof createFastHistogramProducer>, name: string) => {
  const { resourceMetrics } = await producer.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name) as HistogramMetricData | undefined;
  return metric;
};

describe('fast histogram', () => {
  const h = createFastHistogram({
    name: 'test.duration',
    description: 'test',
    unit: 's',
    boundaries: [0.1, 1],
    scope: { name: 'test-scope', version: '1' },
  });
  const cumulative = createFastHistogramProducer('cumulative');
  const delta = createFastHistogramProducer('delta');

  it('aggregates per attribute set with inclusive upper bounds, like the SDK', async () => {
    const a = () => ({ route: '/a' });
    h.record(0.05, 'a', a);
    h.record(0.1, 'a', a); // on the boundary: first bucket
    h.record(0.5, 'a', a);
    h.record(3, 'a', a);
    h.record(0.2, 'b', () => ({ route: '/b' }));
    const m = await points(cumulative, 'test.duration');
    expect(m?.aggregationTemporality).toBe(1);
    expect(m?.dataPointType).toBe(0);
    const pa = m?.dataPoints.find((p) => p.attributes.route === '/a');
    expect(pa?.value).toEqual({
      buckets: { boundaries: [0.1, 1], counts: [2, 1, 1] },
      sum: 3.65,
      count: 4,
      min: 0.05,
      max: 3,
    });
    expect(m?.dataPoints.find((p) => p.attributes.route === '/b')?.value.count).toBe(1);
    await delta.collect(); // first delta collection: everything so far
  });

  it('delta producers report only what changed since their last collection', async () => {
    h.record(0.5, 'a', () => ({ route: '/a' }));
    const m = await points(delta, 'test.duration');
    expect(m?.aggregationTemporality).toBe(0);
    expect(m?.dataPoints).toHaveLength(1);
    const v = m?.dataPoints[0]?.value;
    expect(v?.buckets).toEqual({ boundaries: [0.1, 1], counts: [0, 1, 0] });
    expect(v?.count).toBe(1);
    // cumulative minus previous: equal up to floating-point rounding
    expect(v?.sum).toBeCloseTo(0.5, 12);
    expect(v?.min).toBeUndefined();
    // and cumulative still sees the total
    const c = await points(cumulative, 'test.duration');
    expect(c?.dataPoints.find((p) => p.attributes.route === '/a')?.value.count).toBe(5);
  });
});
