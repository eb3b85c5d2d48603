import { format } from 'node:util';
import type { Attributes, DiagLogger } from '@opentelemetry/api';
import { context, DiagLogLevel, metrics, diag as otelDiag, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, Sampler, SpanExporter } from '@opentelemetry/sdk-trace';
import { type ActiveInstrumentations, activateInstrumentations } from './internal/activateInstrumentations';
import { adaptExporter } from './internal/adaptExporter';
import { buildResource } from './internal/buildResource';
import { createDiag, type Diag } from './internal/createDiag';
import { createLogsPipeline, type LogsPipeline } from './internal/createLogsPipeline';
import { createMetricsPipeline, type MetricsPipeline } from './internal/createMetricsPipeline';
import { allOtlpExporters } from './internal/createOtlpExporter';
import { createPropagator } from './internal/createPropagator';
import { createTracesPipeline, type TracesPipeline } from './internal/createTracesPipeline';
import { droppedTotals, schedulePrimeDropped, setDroppedDiag } from './internal/droppedCounter';
import { formatStartupLine } from './internal/formatStartupLine';
import { installProcessHooks, withDeadline } from './internal/installProcessHooks';
import { warnPreloaded } from './internal/warnPreloaded';
import { type LogLevel, type OtelConfig, readConfig, type Signal } from './readConfig';

/**
 * Options for {@link start}. Everything else comes from the OTEL_* environment.
 * @example start({ serviceName: 'billing', resourceAttributes: { 'team.name': 'payments' } });
 */
export type StartOptions = {
  /** Overrides OTEL_SERVICE_NAME and the package.json fallback. */
  serviceName?: string;
  /** Extra resource attributes (win over OTEL_RESOURCE_ATTRIBUTES). */
  resourceAttributes?: Attributes;
  /** Environment to read instead of process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * `lazy` loads each instrumentation when its module is first required (what the
   * `--require` preload does); `eager` loads those whose module is installed right away.
   * Default `eager`.
   */
  instrumentationLoading?: 'lazy' | 'eager';
  /** Flush on SIGTERM/SIGINT/beforeExit (default true). */
  handleProcessExit?: boolean;
  /** Print the startup line on stderr (default true; OTEL_LOG_LEVEL=none silences it anyway). */
  printStartupLine?: boolean;
  /** Send spans here instead of the configured exporters (tests, custom backends). */
  spanExporter?: SpanExporter;
  /** Send log records here instead of the configured exporters. */
  logRecordExporter?: LogRecordExporter;
  /** Read metrics with this reader instead of the configured exporters. */
  metricReader?: IMetricReader;
  /** Overrides OTEL_TRACES_SAMPLER. */
  sampler?: Sampler;
};

/**
 * A running SDK, as returned by {@link start}.
 * @example const sdk: OtelSdk = start(); console.log(sdk.instrumentations().active);
 */
export type OtelSdk = {
  readonly config: OtelConfig;
  readonly serviceName: string;
  /** False when OTEL_SDK_DISABLED=true or start failed. */
  readonly enabled: boolean;
  /** Instrumentations armed by configuration and those actually loaded so far. */
  instrumentations(): { enabled: string[]; active: string[] };
  /** Telemetry items lost so far, per signal (also exported as `telemetry.dropped`). */
  dropped(): Record<Signal, number>;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
};

// Kept on a global so the bundled preload and the package index (two module copies when an
// app uses --require and also imports shutdown()) see the same running SDK.
const SDK_KEY = Symbol.for('@mem0-stack/otel.sdk');
const holder = globalThis as { [SDK_KEY]?: OtelSdk };

const DIAG_LEVEL: Record<LogLevel, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/**
 * Starts OpenTelemetry: traces, metrics and logs over OTLP/HTTP with the curated
 * instrumentations, configured from the OTEL_* environment. Safe to call twice (the second
 * call returns the running SDK) and never throws: a failure to start is reported on stderr
 * and the application runs without telemetry.
 * @example
 * import { start } from '@mem0-stack/otel';
 * const otel = start({ serviceName: 'billing' });
 * // ... later
 * await otel.shutdown();
 */
export function start(options: StartOptions = {}): OtelSdk {
  const running = holder[SDK_KEY];
  if (running) return running;
  const { config, warnings } = readConfig(options.env ?? process.env);
  const diag = createDiag(config.logLevel);
  for (const w of warnings) diag.warn(w);
  let sdk: OtelSdk;
  try {
    sdk = config.disabled ? disabledSdk(config, diag) : startSdk(config, diag, options);
  } catch (err) {
    diag.error(
      `could not start (${(err as Error)?.message ?? err}); the application continues without telemetry.`,
    );
    sdk = disabledSdk(config, diag);
  }
  holder[SDK_KEY] = sdk;
  return sdk;
}

/**
 * Flushes and stops the SDK started by {@link start}. Resolves within the configured
 * shutdown deadline (MEM0_OTEL_SHUTDOWN_TIMEOUT_MS, default 3000) even if the collector hangs.
 * @example
 * process.on('SIGUSR2', () => void shutdown());
 */
export async function shutdown(): Promise<void> {
  await holder[SDK_KEY]?.shutdown();
}

/**
 * Sends everything queued now (spans, log records, metrics).
 * @example
 * await forceFlush(); // before a serverless handler returns
 */
export async function forceFlush(): Promise<void> {
  await holder[SDK_KEY]?.forceFlush();
}

/**
 * The SDK started by {@link start}, if any.
 * @example
 * if (!getSdk()?.enabled) console.warn('telemetry is off');
 */
export function getSdk(): OtelSdk | undefined {
  return holder[SDK_KEY];
}

function disabledSdk(config: OtelConfig, diag: Diag): OtelSdk {
  if (config.disabled) diag.info('OTEL_SDK_DISABLED=true: telemetry is off.');
  return {
    config,
    serviceName: config.serviceName ?? 'unknown_service',
    enabled: false,
    instrumentations: () => ({ enabled: [], active: [] }),
    dropped: droppedTotals,
    forceFlush: async () => {},
    shutdown: async () => {},
  };
}

function installDiagBridge(config: OtelConfig, diag: Diag): void {
  const forward =
    (level: 'error' | 'warn' | 'info' | 'debug') =>
    (message: string, ...args: unknown[]) => {
      // Reported (once, rate-limited) by our own drop counter / config validation instead.
      // At shutdown the same failure arrives again as a serialised exception (`{"stack": …}`).
      if (
        typeof message === 'string' &&
        message.includes('PeriodicExportingMetricReader: metrics export failed')
      )
        return;
      if (/^Unknown value .* for OTEL_/.test(message)) return;
      let text = args.length > 0 ? format(message, ...args) : message;
      if (text.length > 1000) text = `${text.slice(0, 1000)}…`;
      diag[level](`[otel] ${text}`);
    };
  const logger: DiagLogger = {
    error: forward('error'),
    warn: forward('warn'),
    info: forward('info'),
    debug: forward('debug'),
    verbose: forward('debug'),
  };
  otelDiag.setLogger(logger, {
    logLevel: config.logLevelExplicit ? DIAG_LEVEL[config.logLevel] : DiagLogLevel.WARN,
    suppressOverrideMessage: true,
  });
}

function startSdk(config: OtelConfig, diag: Diag, options: StartOptions): OtelSdk {
  installDiagBridge(config, diag);
  setDroppedDiag(diag);
  const resource = buildResource(config, diag, {
    serviceName: options.serviceName,
    attributes: options.resourceAttributes,
  });
  const serviceName = String(resource.attributes['service.name']);

  const contextManager = new AsyncLocalStorageContextManager();
  contextManager.enable();
  if (!context.setGlobalContextManager(contextManager)) {
    diag.warn('another context manager is already registered; keeping it.');
  }
  const propagator = createPropagator(config.propagators, diag);
  if (propagator) propagation.setGlobalPropagator(propagator);

  const traces: TracesPipeline = createTracesPipeline(config, resource, {
    exporter: options.spanExporter ? adaptExporter<ReadableSpan>(options.spanExporter) : undefined,
    sampler: options.sampler,
  });
  if (!trace.setGlobalTracerProvider(traces.provider)) {
    diag.warn('another OpenTelemetry SDK already registered a tracer provider; its configuration wins.');
  }

  let meter: MetricsPipeline | undefined;
  if (config.metrics.exporters.length > 0 || options.metricReader) {
    meter = createMetricsPipeline(config, resource, diag, { reader: options.metricReader });
    metrics.setGlobalMeterProvider(meter.provider);
    schedulePrimeDropped(Math.min(1_000, config.metrics.exportIntervalMillis / 2));
  }

  let logging: LogsPipeline | undefined;
  if (config.logs.exporters.length > 0 || options.logRecordExporter) {
    const exp = options.logRecordExporter;
    logging = createLogsPipeline(config, resource, {
      exporter: exp
        ? adaptExporter<ReadableLogRecord>({
            export: (items: ReadableLogRecord[], done: (r: ExportResult) => void) => exp.export(items, done),
            shutdown: () => exp.shutdown(),
          })
        : undefined,
    });
    logs.setGlobalLoggerProvider(logging.provider);
  }

  warnPreloaded(diag, config.instrumentations.enabled);
  const instrumentations: ActiveInstrumentations = activateInstrumentations(
    config,
    diag,
    options.instrumentationLoading ?? 'eager',
    { customSampler: options.sampler !== undefined },
  );

  let metricsFlushedAtExit = false;
  const stopRetrying = () => {
    for (const e of allOtlpExporters()) e.stopRetrying();
  };
  const abort = () => {
    for (const e of allOtlpExporters()) e.abort();
  };
  const flush = async (opts: { exiting: boolean } = { exiting: false }) => {
    const work: Promise<unknown>[] = [traces.provider.forceFlush()];
    if (logging) work.push(logging.forceFlush());
    if (meter && (!opts.exiting || !metricsFlushedAtExit)) {
      if (opts.exiting) metricsFlushedAtExit = true;
      work.push(meter.forceFlush());
    }
    await Promise.allSettled(work);
  };
  let stopping: Promise<void> | undefined;
  let uninstallHooks: (() => void) | undefined;
  const stop = () => {
    stopping ??= (async () => {
      stopRetrying();
      const work = Promise.allSettled([traces.provider.shutdown(), logging?.shutdown(), meter?.shutdown()]);
      if (await withDeadline(work, config.shutdownTimeoutMillis)) {
        diag.warn(
          `shutdown did not finish within ${config.shutdownTimeoutMillis} ms; dropping what was left.`,
        );
        abort();
      }
      // Only now: while a signal's flush runs, our listener must stay, or another listener that
      // exits when it is alone (signal-exit) would end the process before the flush.
      uninstallHooks?.();
    })();
    return stopping;
  };

  if (options.handleProcessExit !== false) {
    uninstallHooks = installProcessHooks({
      diag,
      timeoutMillis: config.shutdownTimeoutMillis,
      hasPending: () => traces.queued() > 0 || (logging?.processors() ?? []).some((p) => p.queued > 0),
      flush,
      shutdown: stop,
      stopRetrying,
      abort,
    });
  }

  if (options.printStartupLine !== false) {
    diag.info(formatStartupLine(config, serviceName, instrumentations.enabled));
  }

  return {
    config,
    serviceName,
    enabled: true,
    instrumentations: () => ({ enabled: instrumentations.enabled, active: instrumentations.active() }),
    dropped: droppedTotals,
    forceFlush: () => flush(),
    shutdown: stop,
  };
}
