import {
  type Histogram,
  type MeterProvider,
  metrics as metricsApi,
  type ObservableCounter,
} from '@opentelemetry/api';

// A singleton behind a getter in the CommonJS build; read it once.
const metrics = metricsApi;

const METER = '@mem0-stack/logging';

// log.records is counted in plain integers and reported by an observable callback, so a
// log call costs one increment instead of an attribute-hashing Counter.add().
const recordCounts = new Map<string, number>();
let droppedCount = 0;
let observedProvider: MeterProvider | undefined;
let recordsInstrument: ObservableCounter | undefined;
let droppedInstrument: ObservableCounter | undefined;
let durationHistogram: Histogram | undefined;
let histogramProvider: MeterProvider | undefined;

/** Registers the log.records / telemetry.dropped observables with the current global MeterProvider (once per provider). */
export function ensureObservables(): void {
  // The MeterProvider may be registered after the first log line (preload loaded late, tests),
  // and the metrics API has no proxy, so re-register when the global provider changes.
  const provider = metrics.getMeterProvider();
  if (provider === observedProvider) return;
  observedProvider = provider;
  const meter = provider.getMeter(METER);
  recordsInstrument = meter.createObservableCounter('log.records', {
    description: 'Log records written, by level',
    unit: '{record}',
  });
  recordsInstrument.addCallback((result) => {
    for (const [level, n] of recordCounts) result.observe(n, { level });
  });
  droppedInstrument = meter.createObservableCounter('telemetry.dropped', {
    description: 'Telemetry items dropped, by signal',
    unit: '{item}',
  });
  droppedInstrument.addCallback((result) => {
    if (droppedCount > 0) result.observe(droppedCount, { signal: 'logs' });
  });
}

/** Counts one record; cheap enough for the hot path. */
export function countRecord(level: string): void {
  recordCounts.set(level, (recordCounts.get(level) ?? 0) + 1);
  ensureObservables();
}

/** Counts a log line that could not be written (stdout closed, broken pipe, serializer bug). */
export function countDropped(): void {
  droppedCount++;
  ensureObservables();
}

/** Records per level since start (for tests and diagnostics). */
export function recordCountsSnapshot(): Record<string, number> {
  return Object.fromEntries(recordCounts);
}

/** Records `operation.duration{operation}` in milliseconds. */
export function recordOperationDuration(ms: number, attributes: Record<string, string>): void {
  const provider = metrics.getMeterProvider();
  if (!durationHistogram || provider !== histogramProvider) {
    histogramProvider = provider;
    durationHistogram = provider.getMeter(METER).createHistogram('operation.duration', {
      description: 'Duration of operations measured with timed()/startTimer()',
      unit: 'ms',
    });
  }
  durationHistogram.record(ms, attributes);
}
