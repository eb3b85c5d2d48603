import type { MeterProvider as ApiMeterProvider, Meter, MeterOptions } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type {
  AggregationTemporality,
  IMetricReader,
  InstrumentType,
  MeterProvider,
  PushMetricExporter,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { OtelConfig } from '../readConfig';
import type { Diag } from './createDiag';
import { createOtlpExporter } from './createOtlpExporter';
import { countDropped } from './droppedCounter';
import { installFastAttributeHash } from './fastAttributeHash';
import { createFastHistogramProducer, enableFastHistograms } from './fastHistogram';

/** The global provider shim, with the flush/shutdown apps call before exiting (as on the SDK's). */
export type FlushableProvider<P> = P & { forceFlush(): Promise<void>; shutdown(): Promise<void> };

export type MetricsPipeline = {
  /** Registered as the global MeterProvider; the SDK loads on the first getMeter(). */
  readonly provider: FlushableProvider<ApiMeterProvider>;
  /** The SDK provider once something asked for a meter. */
  real(): MeterProvider | undefined;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
  stopRetrying(): void;
};

// Values of sdk-metrics' enums, inlined so choosing a temporality does not load the SDK.
const CUMULATIVE = 1 as AggregationTemporality;
const DELTA = 0 as AggregationTemporality;
const COUNTER = 'COUNTER';
const HISTOGRAM = 'HISTOGRAM';
const OBSERVABLE_COUNTER = 'OBSERVABLE_COUNTER';
const GAUGE = 'GAUGE';
const OBSERVABLE_GAUGE = 'OBSERVABLE_GAUGE';

function temporalitySelector(pref: OtelConfig['metrics']['temporality']) {
  return (type: InstrumentType): AggregationTemporality => {
    const t = type as unknown as string;
    if (pref === 'delta') {
      return t === COUNTER ||
        t === HISTOGRAM ||
        t === OBSERVABLE_COUNTER ||
        t === GAUGE ||
        t === OBSERVABLE_GAUGE
        ? DELTA
        : CUMULATIVE;
    }
    if (pref === 'lowmemory') return t === COUNTER || t === HISTOGRAM ? DELTA : CUMULATIVE;
    return CUMULATIVE;
  };
}

function countPoints(rm: ResourceMetrics): number {
  let n = 0;
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += m.dataPoints.length;
  return n;
}

export function createMetricsPipeline(
  config: OtelConfig,
  resource: Resource,
  diag: Diag,
  extra: { reader?: IMetricReader } = {},
): MetricsPipeline {
  let real: MeterProvider | undefined;
  const stoppers: Array<() => void> = [];

  const build = (): MeterProvider => {
    const sdk = require('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');
    // Before any instrument exists: each series map takes the hash function when it is built.
    const hashing = installFastAttributeHash();
    diag.debug(
      hashing === 'unsupported'
        ? 'metrics: attribute hashing left to the SDK (its internals are not the expected ones)'
        : 'metrics: attribute hashing memoised',
    );
    const readers: IMetricReader[] = [];
    if (extra.reader) readers.push(extra.reader);
    let exportTimeoutMillis = config.metrics.exportTimeoutMillis;
    if (exportTimeoutMillis > config.metrics.exportIntervalMillis) {
      diag.warnOnce(
        'metric-timeout',
        `OTEL_METRIC_EXPORT_TIMEOUT (${exportTimeoutMillis}) is longer than OTEL_METRIC_EXPORT_INTERVAL (${config.metrics.exportIntervalMillis}); using ${config.metrics.exportIntervalMillis}.`,
      );
      exportTimeoutMillis = config.metrics.exportIntervalMillis;
    }
    for (const kind of extra.reader ? [] : config.metrics.exporters) {
      let exporter: PushMetricExporter;
      if (kind === 'otlp') {
        const otlp = createOtlpExporter<ResourceMetrics>('metrics', config.metrics.otlp);
        stoppers.push(() => otlp.stopRetrying());
        const select = temporalitySelector(config.metrics.temporality);
        exporter = {
          export(rm: ResourceMetrics, done: (r: ExportResult) => void) {
            otlp.export(rm).then((o) => {
              if (o.ok) {
                if (o.rejected > 0) countDropped('metrics', o.rejected, 'collector rejected part of a batch');
                done({ code: 0 });
              } else {
                countDropped('metrics', countPoints(rm), `export failed: ${o.error.message}`);
                done({ code: 1, error: o.error });
              }
            });
          },
          forceFlush: async () => {},
          shutdown: () => otlp.shutdown(),
          selectAggregationTemporality: select,
        };
      } else if (kind === 'console') {
        exporter = new sdk.ConsoleMetricExporter();
      } else continue;
      const histogramDelta =
        kind === 'otlp' && config.metrics.temporality !== 'cumulative' ? 'delta' : 'cumulative';
      readers.push(
        new sdk.PeriodicExportingMetricReader({
          exporter,
          exportIntervalMillis: config.metrics.exportIntervalMillis,
          exportTimeoutMillis,
          metricProducers: [createFastHistogramProducer(histogramDelta)],
        }),
      );
    }
    return new sdk.MeterProvider({ resource, readers });
  };

  const forceFlush = async () => {
    await real?.forceFlush();
  };
  const shutdown = async () => {
    for (const s of stoppers) s();
    await real?.shutdown();
  };
  const provider: FlushableProvider<ApiMeterProvider> = {
    getMeter(name: string, version?: string, options?: MeterOptions): Meter {
      real ??= build();
      return real.getMeter(name, version, options);
    },
    forceFlush,
    shutdown,
  };
  // Our readers carry the fast-histogram producer; a caller-supplied reader does not, so the
  // request-path histograms then go through the SDK instead.
  if (!extra.reader && config.metrics.exporters.length > 0) {
    enableFastHistograms(() => provider.getMeter('@mem0-stack/otel'));
  }

  return {
    provider,
    real: () => real,
    forceFlush,
    shutdown,
    stopRetrying() {
      for (const s of stoppers) s();
    },
  };
}
