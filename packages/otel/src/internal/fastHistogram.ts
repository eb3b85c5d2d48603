import type { Attributes, HrTime } from '@opentelemetry/api';
import type { CollectionResult, MetricProducer } from '@opentelemetry/sdk-metrics';

/**
 * A pre-aggregated explicit-bucket histogram for the request path. The SDK histogram hashes
 * (sorts + JSON-encodes) the attribute set on every record, ~6 µs per HTTP request here;
 * this one is keyed by a string the caller already has, so a record is one Map lookup and
 * a few additions. Data reaches the exporters through a MetricProducer attached to the
 * SDK's readers, with the same shape the SDK would emit.
 */
type Cell = {
  attributes: Attributes;
  counts: number[];
  sum: number;
  count: number;
  min: number;
  max: number;
};

export type FastHistogram = {
  readonly name: string;
  record(value: number, key: string, attributes: () => Attributes): void;
};

type Series = {
  name: string;
  description: string;
  unit: string;
  boundaries: number[];
  scope: { name: string; version?: string };
  cells: Map<string, Cell>;
};

const MAX_SERIES_CELLS = 2000;
const series: Series[] = [];
const startTime: HrTime = toHrTime(Date.now());
let enabled = false;
let onFirstRecord: (() => void) | undefined;

function toHrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

/** Turned on by the metrics pipeline when its readers carry the producer (else callers use the SDK). */
export function enableFastHistograms(firstRecord: () => void): void {
  enabled = true;
  onFirstRecord = firstRecord;
}

export function fastHistogramsEnabled(): boolean {
  return enabled;
}

export function createFastHistogram(opts: {
  name: string;
  description: string;
  unit: string;
  boundaries: number[];
  scope: { name: string; version?: string };
}): FastHistogram {
  const s: Series = { ...opts, cells: new Map() };
  series.push(s);
  const bounds = opts.boundaries;
  return {
    name: opts.name,
    record(value, key, attributes) {
      if (onFirstRecord) {
        const f = onFirstRecord;
        onFirstRecord = undefined;
        f();
      }
      let cell = s.cells.get(key);
      if (cell === undefined) {
        // Past the cap new attribute sets share one overflow cell, as the SDK's cardinality limit does.
        const overflow = s.cells.size >= MAX_SERIES_CELLS;
        const k = overflow ? '\u0000overflow' : key;
        cell = s.cells.get(k);
        if (cell === undefined) {
          cell = {
            attributes: overflow ? { 'otel.metric.overflow': true } : attributes(),
            counts: new Array(bounds.length + 1).fill(0),
            sum: 0,
            count: 0,
            min: Number.POSITIVE_INFINITY,
            max: Number.NEGATIVE_INFINITY,
          };
          s.cells.set(k, cell);
        }
      }
      let i = 0;
      while (i < bounds.length && value > (bounds[i] as number)) i++;
      cell.counts[i] = (cell.counts[i] as number) + 1;
      cell.sum += value;
      cell.count++;
      if (value < cell.min) cell.min = value;
      if (value > cell.max) cell.max = value;
    },
  };
}

/**
 * One producer per reader: cumulative, or delta (each collection reports what changed since
 * this reader's previous one).
 */
export function createFastHistogramProducer(temporality: 'cumulative' | 'delta'): MetricProducer {
  const previous = new Map<Cell, { counts: number[]; sum: number; count: number }>();
  let lastCollect: HrTime = startTime;
  return {
    async collect(): Promise<CollectionResult> {
      const now = toHrTime(Date.now());
      const byScope = new Map<string, { scope: Series['scope']; metrics: unknown[] }>();
      for (const s of series) {
        if (s.cells.size === 0) continue;
        const dataPoints = [];
        for (const cell of s.cells.values()) {
          let counts = cell.counts.slice();
          let sum = cell.sum;
          let count = cell.count;
          if (temporality === 'delta') {
            const prev = previous.get(cell);
            previous.set(cell, { counts, sum, count });
            if (prev) {
              counts = counts.map((c, i) => c - (prev.counts[i] ?? 0));
              sum -= prev.sum;
              count -= prev.count;
            }
            if (count === 0) continue;
          }
          dataPoints.push({
            attributes: cell.attributes,
            startTime: temporality === 'delta' ? lastCollect : startTime,
            endTime: now,
            value: {
              buckets: { boundaries: s.boundaries, counts },
              sum,
              count,
              // Lifetime extremes are exact for cumulative points only; delta points omit them.
              ...(temporality === 'cumulative' ? { min: cell.min, max: cell.max } : {}),
            },
          });
        }
        if (dataPoints.length === 0) continue;
        const key = `${s.scope.name}@${s.scope.version ?? ''}`;
        let entry = byScope.get(key);
        if (!entry) {
          entry = { scope: s.scope, metrics: [] };
          byScope.set(key, entry);
        }
        entry.metrics.push({
          descriptor: { name: s.name, description: s.description, unit: s.unit, valueType: 1 },
          // AggregationTemporality: DELTA = 0, CUMULATIVE = 1; DataPointType.HISTOGRAM = 0
          aggregationTemporality: temporality === 'delta' ? 0 : 1,
          dataPointType: 0,
          dataPoints,
        });
      }
      lastCollect = now;
      return {
        resourceMetrics: { resource: undefined, scopeMetrics: [...byScope.values()] },
        errors: [],
      } as unknown as CollectionResult;
    },
  };
}
