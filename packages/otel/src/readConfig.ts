import { createEnvReader, quoteValue } from './internal/createEnvReader';
import { REDACTED, redactUrl } from './internal/redactUrl';

/**
 * The three OpenTelemetry signals.
 * @example const s: Signal = 'traces';
 */
export type Signal = 'traces' | 'metrics' | 'logs';
/**
 * Where a signal goes: OTLP over HTTP, the console, or nowhere.
 * @example readConfig({ OTEL_TRACES_EXPORTER: 'otlp,console' }).config.traces.exporters; // ['otlp', 'console']
 */
export type ExporterKind = 'otlp' | 'console' | 'none';
/**
 * OTLP/HTTP encodings supported (gRPC is not bundled).
 * @example readConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).config.traces.otlp.protocol; // 'http/json'
 */
export type OtlpProtocol = 'http/protobuf' | 'http/json';
/**
 * OTEL_LOG_LEVEL values (lower-case).
 * @example readConfig({ OTEL_LOG_LEVEL: 'NONE' }).config.logLevel; // 'none'
 */
export type LogLevel = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';
/**
 * OTEL_TRACES_SAMPLER values.
 * @example readConfig({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }).config.sampler;
 */
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';
/**
 * Names of the curated instrumentations (for OTEL_NODE_ENABLED/DISABLED_INSTRUMENTATIONS).
 * @example const off: CuratedInstrumentation[] = ['winston'];
 */
export type CuratedInstrumentation =
  | 'http'
  | 'undici'
  | 'express'
  | 'pg'
  | 'redis'
  | 'winston'
  | 'runtime-node';

/**
 * Resolved OTLP settings for one signal.
 * @example readConfig().config.traces.otlp.url; // 'http://localhost:4318/v1/traces'
 */
export type OtlpSignalConfig = {
  url: string;
  headers: Record<string, string>;
  timeoutMillis: number;
  compression: 'gzip' | 'none';
  protocol: OtlpProtocol;
};

/**
 * Batch processor settings (OTEL_BSP_* for spans, OTEL_BLRP_* for log records).
 * @example readConfig().config.traces.batch.maxQueueSize; // 2048
 */
export type BatchConfig = {
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
  maxQueueSize: number;
  maxExportBatchSize: number;
};

/**
 * The effective configuration, after validation and defaults.
 * @example const { config } = readConfig(); if (config.disabled) console.log('telemetry off');
 */
export type OtelConfig = {
  disabled: boolean;
  serviceName: string | undefined;
  resourceAttributes: Record<string, string>;
  resourceDetectors: string[];
  logLevel: LogLevel;
  /** True when OTEL_LOG_LEVEL was set explicitly (upstream diagnostics are then forwarded at that level). */
  logLevelExplicit: boolean;
  propagators: string[];
  sampler: { name: SamplerName; ratio: number };
  traces: { exporters: ExporterKind[]; otlp: OtlpSignalConfig; batch: BatchConfig };
  metrics: {
    exporters: ExporterKind[];
    otlp: OtlpSignalConfig;
    exportIntervalMillis: number;
    exportTimeoutMillis: number;
    temporality: 'cumulative' | 'delta' | 'lowmemory';
  };
  logs: { exporters: ExporterKind[]; otlp: OtlpSignalConfig; batch: BatchConfig };
  spanLimits: {
    attributeValueLengthLimit: number;
    attributeCountLimit: number;
    eventCountLimit: number;
    linkCountLimit: number;
  };
  logRecordLimits: { attributeValueLengthLimit: number; attributeCountLimit: number };
  instrumentations: {
    /** `curated` (default) or `all` (the whole upstream auto-instrumentations bundle). */
    mode: 'curated' | 'all';
    enabled: CuratedInstrumentation[];
  };
  /** URL paths never traced (health and metrics endpoints). */
  ignorePaths: string[];
  /**
   * `lean` (default): no express spans (the server span still gets the route) and none per
   * pg connection checkout (every query still gets one; pool metrics stay).
   * `full`: upstream's defaults, which add a span per express middleware, router and route
   * handler and per pg pool checkout.
   */
  spanDetail: 'lean' | 'full';
  /**
   * `lean` (default): the preload's own span implementation (the SDK's semantics at a fraction
   * of its cost per span). `sdk`: @opentelemetry/sdk-trace's TracerProvider and spans.
   */
  tracer: 'lean' | 'sdk';
  shutdownTimeoutMillis: number;
};

/**
 * What {@link readConfig} returns.
 * @example const { config, warnings }: ReadConfigResult = readConfig(process.env);
 */
export type ReadConfigResult = { config: OtelConfig; warnings: string[] };

/**
 * The curated instrumentation names, in load order.
 * @example CURATED_INSTRUMENTATIONS.includes('pg'); // true
 */
export const CURATED_INSTRUMENTATIONS: readonly CuratedInstrumentation[] = [
  'http',
  'undici',
  'express',
  'pg',
  'redis',
  'winston',
  'runtime-node',
];

/**
 * URL paths (and their sub-paths) that are never traced.
 * @example DEFAULT_IGNORE_PATHS.includes('/healthz'); // true
 */
export const DEFAULT_IGNORE_PATHS: readonly string[] = [
  '/health',
  '/healthz',
  '/ready',
  '/readyz',
  '/livez',
  '/metrics',
];

const DEFAULT_ENDPOINT = 'http://localhost:4318';
// Node's timers hold at most 2^31-1 ms: a longer delay fires after 1 ms instead (a metrics
// export every millisecond for OTEL_METRIC_EXPORT_INTERVAL=3000000000), so such values are
// rejected like any other invalid one.
const MAX_TIMER_MS = 2_147_483_647;
/** Range of a timeout or interval in ms. */
const TIMER_MS = { min: 1, max: MAX_TIMER_MS };
const LOG_LEVELS: readonly LogLevel[] = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'];
const SAMPLERS: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];
const KNOWN_PROPAGATORS = ['tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'none'];
const KNOWN_DETECTORS = [
  'env',
  'host',
  'os',
  'process',
  'serviceinstance',
  'container',
  'alibaba',
  'aws',
  'azure',
  'gcp',
  'all',
  'none',
];
const SIGNAL_ENV: Record<Signal, string> = { traces: 'TRACES', metrics: 'METRICS', logs: 'LOGS' };
const SIGNAL_PATH: Record<Signal, string> = { traces: 'v1/traces', metrics: 'v1/metrics', logs: 'v1/logs' };

/**
 * Reads and validates the OpenTelemetry environment (plus a few `MEM0_OTEL_*` settings).
 * Never throws: each invalid value yields one warning naming the variable and the default
 * used, and the default is applied.
 * @example
 * const { config, warnings } = readConfig(process.env);
 * for (const w of warnings) console.warn(w);
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): ReadConfigResult {
  const r = createEnvReader(env);

  const disabled = r.bool('OTEL_SDK_DISABLED', false);
  const logLevelRaw = r.raw('OTEL_LOG_LEVEL');
  const logLevel = r.oneOf('OTEL_LOG_LEVEL', LOG_LEVELS, 'info');

  const resourceAttributes = r.keyValues('OTEL_RESOURCE_ATTRIBUTES') ?? {};
  const serviceName = r.raw('OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'];

  const detectorList = r.list('OTEL_NODE_RESOURCE_DETECTORS')?.map((d) => d.toLowerCase()) ?? [
    'env',
    'host',
    'os',
    'process',
    'serviceinstance',
  ];
  const unknownDetectors = detectorList.filter((d) => !KNOWN_DETECTORS.includes(d));
  if (unknownDetectors.length > 0) {
    r.warn(
      `OTEL_NODE_RESOURCE_DETECTORS names unknown detector(s) ${unknownDetectors.map(quoteValue).join(', ')}; ignoring ${unknownDetectors.length === 1 ? 'it' : 'them'} (known: ${KNOWN_DETECTORS.join(', ')}).`,
    );
  }
  const resourceDetectors = detectorList.filter((d) => KNOWN_DETECTORS.includes(d));

  const propagatorList = r.list('OTEL_PROPAGATORS')?.map((p) => p.toLowerCase()) ?? [
    'tracecontext',
    'baggage',
  ];
  const unknownPropagators = propagatorList.filter((p) => !KNOWN_PROPAGATORS.includes(p));
  if (unknownPropagators.length > 0) {
    r.warn(
      `OTEL_PROPAGATORS names unsupported propagator(s) ${unknownPropagators.map(quoteValue).join(', ')}; ignoring ${unknownPropagators.length === 1 ? 'it' : 'them'} (supported: ${KNOWN_PROPAGATORS.join(', ')}).`,
    );
  }
  const propagators = propagatorList.filter((p) => KNOWN_PROPAGATORS.includes(p));

  const samplerName = r.oneOf('OTEL_TRACES_SAMPLER', SAMPLERS, 'parentbased_always_on');
  const ratio = samplerName.endsWith('traceidratio') ? r.ratio('OTEL_TRACES_SAMPLER_ARG', 1) : 1;

  const otlp = (signal: Signal): OtlpSignalConfig => {
    const S = SIGNAL_ENV[signal];
    const specificName = `OTEL_EXPORTER_OTLP_${S}_ENDPOINT`;
    let url: string | undefined;
    const specificRaw = r.raw(specificName);
    if (specificRaw !== undefined) {
      url = r.url(specificName);
      if (url === undefined)
        r.warn(`${specificName}=${shownEndpoint(specificRaw)} is not an http(s) URL; ignoring it.`);
    }
    if (url === undefined) {
      const baseRaw = r.raw('OTEL_EXPORTER_OTLP_ENDPOINT');
      let base = DEFAULT_ENDPOINT;
      if (baseRaw !== undefined) {
        const ok = r.url('OTEL_EXPORTER_OTLP_ENDPOINT');
        if (ok === undefined) {
          r.warn(
            `OTEL_EXPORTER_OTLP_ENDPOINT=${shownEndpoint(baseRaw)} is not an http(s) URL; using the default ${DEFAULT_ENDPOINT}.`,
          );
        } else base = ok;
      }
      const u = new URL(base);
      u.pathname = `${u.pathname.endsWith('/') ? u.pathname : `${u.pathname}/`}${SIGNAL_PATH[signal]}`;
      url = u.toString();
    }
    const headers = {
      ...(r.keyValues('OTEL_EXPORTER_OTLP_HEADERS', { secret: true, header: true }) ?? {}),
      ...(r.keyValues(`OTEL_EXPORTER_OTLP_${S}_HEADERS`, { secret: true, header: true }) ?? {}),
    };
    const timeoutMillis = r.int(
      `OTEL_EXPORTER_OTLP_${S}_TIMEOUT`,
      r.int('OTEL_EXPORTER_OTLP_TIMEOUT', 10_000, TIMER_MS),
      TIMER_MS,
    );
    const compression = r.oneOf(
      `OTEL_EXPORTER_OTLP_${S}_COMPRESSION`,
      ['gzip', 'none'] as const,
      r.oneOf('OTEL_EXPORTER_OTLP_COMPRESSION', ['gzip', 'none'] as const, 'none'),
    );
    const protocol = readProtocol(
      `OTEL_EXPORTER_OTLP_${S}_PROTOCOL`,
      readProtocol('OTEL_EXPORTER_OTLP_PROTOCOL'),
    );
    return { url, headers, timeoutMillis, compression, protocol };
  };

  function readProtocol(name: string, fallback: OtlpProtocol = 'http/protobuf'): OtlpProtocol {
    const v = r.raw(name);
    if (v === undefined) return fallback;
    const l = v.toLowerCase();
    if (l === 'http/protobuf' || l === 'http/json') return l;
    if (l === 'grpc') {
      r.warn(`${name}=grpc is not supported by @mem0-stack/otel (OTLP/HTTP only); using ${fallback}.`);
    } else {
      r.warn(
        `${name}=${quoteValue(v)} is not one of http/protobuf, http/json; using the default ${fallback}.`,
      );
    }
    return fallback;
  }

  const exporters = (signal: Signal): ExporterKind[] => {
    const name = `OTEL_${SIGNAL_ENV[signal]}_EXPORTER`;
    const list = r.list(name);
    if (list === undefined) return ['otlp'];
    const known: ExporterKind[] = [];
    const unknown: string[] = [];
    for (const e of list) {
      const l = e.toLowerCase();
      if (l === 'otlp' || l === 'console' || l === 'none') {
        if (!known.includes(l)) known.push(l);
      } else unknown.push(e);
    }
    if (unknown.length > 0) {
      r.warn(
        `${name} names unsupported exporter(s) ${unknown.map(quoteValue).join(', ')} (supported: otlp, console, none); ${known.length > 0 ? `using ${known.join(',')}` : 'using the default otlp'}.`,
      );
    }
    if (known.length === 0) return ['otlp'];
    // `none` anywhere in the list wins, as the spec says.
    return known.includes('none') ? [] : known;
  };

  const batch = (prefix: 'OTEL_BSP' | 'OTEL_BLRP', delay: number): BatchConfig => {
    const maxQueueSize = r.int(`${prefix}_MAX_QUEUE_SIZE`, 2048, { min: 1 });
    let maxExportBatchSize = r.int(`${prefix}_MAX_EXPORT_BATCH_SIZE`, 512, { min: 1 });
    if (maxExportBatchSize > maxQueueSize) {
      r.warn(
        `${prefix}_MAX_EXPORT_BATCH_SIZE=${maxExportBatchSize} is larger than ${prefix}_MAX_QUEUE_SIZE=${maxQueueSize}; using ${maxQueueSize}.`,
      );
      maxExportBatchSize = maxQueueSize;
    }
    return {
      scheduledDelayMillis: r.int(`${prefix}_SCHEDULE_DELAY`, delay, { max: MAX_TIMER_MS }),
      exportTimeoutMillis: r.int(`${prefix}_EXPORT_TIMEOUT`, 30_000, TIMER_MS),
      maxQueueSize,
      maxExportBatchSize,
    };
  };

  const attrLength = r.int('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', 4096, { min: 1 });
  const attrCount = r.int('OTEL_ATTRIBUTE_COUNT_LIMIT', 128, { min: 1 });

  const mode = r.oneOf('MEM0_OTEL_INSTRUMENTATIONS', ['curated', 'all'] as const, 'curated');
  const enabledList = r.list('OTEL_NODE_ENABLED_INSTRUMENTATIONS');
  const disabledList = r.list('OTEL_NODE_DISABLED_INSTRUMENTATIONS') ?? [];
  if (mode === 'curated') {
    const unknown = [...(enabledList ?? []), ...disabledList].filter(
      (n) => !CURATED_INSTRUMENTATIONS.includes(normaliseInstrumentationName(n) as CuratedInstrumentation),
    );
    if (unknown.length > 0) {
      r.warn(
        `OTEL_NODE_ENABLED_INSTRUMENTATIONS/OTEL_NODE_DISABLED_INSTRUMENTATIONS name unknown instrumentation(s) ${unknown.map(quoteValue).join(', ')}; ignoring ${unknown.length === 1 ? 'it' : 'them'} (curated: ${CURATED_INSTRUMENTATIONS.join(', ')}; set MEM0_OTEL_INSTRUMENTATIONS=all for the full upstream set).`,
      );
    }
  }
  const enabledNames = enabledList?.map(normaliseInstrumentationName);
  const disabledNames = disabledList.map(normaliseInstrumentationName);
  const enabled = CURATED_INSTRUMENTATIONS.filter(
    (n) => (enabledNames === undefined || enabledNames.includes(n)) && !disabledNames.includes(n),
  );

  const extraIgnore = r.list('MEM0_OTEL_IGNORE_PATHS') ?? [];
  const badIgnore = extraIgnore.filter((p) => !p.startsWith('/'));
  if (badIgnore.length > 0) {
    r.warn(
      `MEM0_OTEL_IGNORE_PATHS entries must start with "/"; ignoring ${badIgnore.map(quoteValue).join(', ')}.`,
    );
  }

  const config: OtelConfig = {
    disabled,
    serviceName,
    resourceAttributes,
    resourceDetectors,
    logLevel,
    logLevelExplicit: logLevelRaw !== undefined && logLevel === logLevelRaw.toLowerCase(),
    propagators,
    sampler: { name: samplerName, ratio },
    traces: { exporters: exporters('traces'), otlp: otlp('traces'), batch: batch('OTEL_BSP', 5000) },
    metrics: {
      exporters: exporters('metrics'),
      otlp: otlp('metrics'),
      exportIntervalMillis: r.int('OTEL_METRIC_EXPORT_INTERVAL', 60_000, TIMER_MS),
      exportTimeoutMillis: r.int('OTEL_METRIC_EXPORT_TIMEOUT', 30_000, TIMER_MS),
      temporality: r.oneOf(
        'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
        ['cumulative', 'delta', 'lowmemory'] as const,
        'cumulative',
      ),
    },
    logs: { exporters: exporters('logs'), otlp: otlp('logs'), batch: batch('OTEL_BLRP', 1000) },
    spanLimits: {
      attributeValueLengthLimit: r.int('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', attrLength, { min: 1 }),
      attributeCountLimit: r.int('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', attrCount, { min: 1 }),
      eventCountLimit: r.int('OTEL_SPAN_EVENT_COUNT_LIMIT', 128, { min: 0 }),
      linkCountLimit: r.int('OTEL_SPAN_LINK_COUNT_LIMIT', 128, { min: 0 }),
    },
    logRecordLimits: {
      attributeValueLengthLimit: r.int('OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT', attrLength, { min: 1 }),
      attributeCountLimit: r.int('OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT', attrCount, { min: 1 }),
    },
    instrumentations: { mode, enabled },
    ignorePaths: [...DEFAULT_IGNORE_PATHS, ...extraIgnore.filter((p) => p.startsWith('/'))],
    spanDetail: r.oneOf('MEM0_OTEL_SPAN_DETAIL', ['lean', 'full'] as const, 'lean'),
    tracer: r.oneOf('MEM0_OTEL_TRACER', ['lean', 'sdk'] as const, 'lean'),
    shutdownTimeoutMillis: r.int('MEM0_OTEL_SHUTDOWN_TIMEOUT_MS', 3000, { min: 0, max: 600_000 }),
  };
  return { config, warnings: r.warnings };
}

/**
 * A rejected endpoint as a warning shows it: it is not a valid URL, so its user info cannot be
 * found by parsing (a password may hold '/', '?' or '#'). Everything between the scheme and the
 * last '@' is redacted, then query values.
 */
function shownEndpoint(value: string): string {
  const at = value.lastIndexOf('@');
  const scheme = value.indexOf('://');
  const start = scheme === -1 ? 0 : scheme + 3;
  const s = at >= start ? `${value.slice(0, start)}${REDACTED}:${REDACTED}${value.slice(at)}` : value;
  return quoteValue(redactUrl(s));
}

/** Accepts `pg`, `@opentelemetry/instrumentation-pg` and `instrumentation-pg` alike. */
export function normaliseInstrumentationName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^@opentelemetry\//, '')
    .replace(/^instrumentation-/, '');
}
