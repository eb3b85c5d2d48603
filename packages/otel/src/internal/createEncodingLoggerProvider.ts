import { context, diag, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import {
  type AnyValue,
  createNoopLogger,
  type Logger,
  type LoggerOptions,
  type LoggerProvider,
  type LogRecord,
} from '@opentelemetry/api-logs';
import { timeInputToHrTime } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { BatchConfig } from '../readConfig';
import { createEncodedQueue, type EncodedQueue } from './createEncodedQueue';
import type { OtlpExporter } from './createOtlpExporter';
import { countDropped } from './droppedCounter';
import {
  appendLogRecord,
  assembleLogsRequest,
  createEncodedLogBatch,
  type EncodableLogRecord,
  type EncodedLogBatch,
  type LogScope,
} from './encodeLogs';
import { type LogRecordLimits, limitLogAttributes, limitScopeAttributes } from './limitLogAttributes';

/** A record ready for the encoder, with the scope of the logger that emitted it. */
type Pending = EncodableLogRecord & { scope: LogScope };

export type EncodingLoggerProvider = LoggerProvider & {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
  /** Records encoded and waiting to be sent; stopRetrying() for process exit. */
  readonly queue: EncodedQueue<Pending>;
};

/**
 * The LoggerProvider of the default logs pipeline (one OTLP/protobuf exporter): its loggers
 * encode each record straight from the Logs API's LogRecord into the open batch, with the
 * result @opentelemetry/sdk-logs would export for it (limits, exception attributes, trace
 * context of the record's or the active context) but without building an SDK record or
 * copying attributes that are already valid. Other configurations (console, http/json, a
 * custom exporter) use the SDK's LoggerProvider.
 * @example
 * const provider = createEncodingLoggerProvider({ config: config.logs.batch, exporter, resource,
 *   limits: config.logRecordLimits });
 * logs.setGlobalLoggerProvider(provider);
 */
export function createEncodingLoggerProvider(opts: {
  config: BatchConfig;
  exporter: OtlpExporter<unknown>;
  resource: Resource;
  limits: LogRecordLimits;
}): EncodingLoggerProvider {
  const { resource, limits } = opts;
  const queue = createEncodedQueue<Pending, EncodedLogBatch>({
    signal: 'logs',
    item: 'log record',
    config: opts.config,
    exporter: opts.exporter,
    resource,
    createBatch: createEncodedLogBatch,
    append: (batch, rec) => appendLogRecord(batch, rec, resource, rec.scope),
    assemble: assembleLogsRequest,
  });
  const loggers = new Map<string, Logger>();
  let closed = false;
  // Records of one request share their span context object: validate it once.
  let lastValid: SpanContext | undefined;

  const spanContextOf = (rec: LogRecord): SpanContext | undefined => {
    // As the SDK: the record's context, else the active one (an explicit `context: undefined` is kept).
    const ctx = rec.context !== undefined || Object.hasOwn(rec, 'context') ? rec.context : context.active();
    if (!ctx) return undefined;
    const sc = trace.getSpanContext(ctx);
    if (!sc || sc === lastValid) return sc;
    if (!isSpanContextValid(sc)) return undefined;
    lastValid = sc;
    return sc;
  };

  const createLogger = (scope: LogScope): Logger => ({
    emit(rec: LogRecord): void {
      if (closed) return;
      let pending: Pending;
      try {
        const { attributes, dropped } = limitLogAttributes(rec.attributes, rec.exception, limits);
        const now = rec.timestamp === undefined || rec.observedTimestamp === undefined ? Date.now() : 0;
        pending = {
          hrTime: timeInputToHrTime(rec.timestamp ?? now),
          hrTimeObserved: timeInputToHrTime(rec.observedTimestamp ?? now),
          spanContext: spanContextOf(rec),
          severityNumber: rec.severityNumber,
          severityText: rec.severityText,
          body: rec.body,
          eventName: rec.eventName,
          attributes,
          droppedAttributesCount: dropped,
          scope,
        };
      } catch (err) {
        // a hostile record (throwing getter, odd exception) is lost and counted, not thrown into the app
        countDropped('logs', 1, `log record could not be encoded: ${(err as Error)?.message ?? err}`);
        return;
      }
      queue.add(pending);
    },
    enabled: () => !closed,
  });

  return {
    queue,
    getLogger(name: string, version?: string, options?: LoggerOptions): Logger {
      if (closed) {
        diag.warn('A shutdown LoggerProvider cannot provide a Logger');
        return createNoopLogger();
      }
      if (!name) diag.warn('Logger requested without instrumentation scope name.');
      const scope: LogScope = {
        name: name || 'unknown',
        version,
        schemaUrl: options?.schemaUrl,
        ...limitScopeAttributes(options?.attributes, limits),
      };
      const key = scopeKey(scope);
      let logger = loggers.get(key);
      if (!logger) {
        logger = createLogger(scope);
        loggers.set(key, logger);
      }
      return logger;
    },
    forceFlush: () => queue.forceFlush(),
    async shutdown() {
      if (closed) return;
      closed = true;
      await queue.shutdown();
    },
  };
}

/**
 * One logger per distinct scope, keyed as the SDK's getInstrumentationScopeKey: on the scope
 * as kept (valid, limited attributes), values tagged by type and map keys sorted, so that
 * NaN, null and Infinity (or {} and { k: undefined }) are different scopes and a reordered
 * attribute map is the same one.
 */
function scopeKey(scope: LogScope): string {
  const extra = scope as { attributes?: AnyValue; droppedAttributesCount?: number };
  return JSON.stringify([
    scope.name,
    scope.version || '',
    scope.schemaUrl || '',
    normalizeAnyValue(extra.attributes),
    extra.droppedAttributesCount ?? 0,
  ]);
}

function normalizeAnyValue(value: AnyValue): unknown {
  if (value === undefined) return ['u', null];
  if (value === null) return ['n', null];
  switch (typeof value) {
    case 'string':
      return ['s', value];
    case 'boolean':
      return ['b', value];
    case 'number':
      if (Number.isNaN(value)) return ['nan', null];
      if (value === Number.POSITIVE_INFINITY) return ['inf', null];
      if (value === Number.NEGATIVE_INFINITY) return ['-inf', null];
      if (Object.is(value, -0)) return ['n0', null];
      return ['d', value];
  }
  if (value instanceof Uint8Array) return ['bytes', Array.from(value)];
  if (Array.isArray(value)) return ['arr', value.map(normalizeAnyValue)];
  return [
    'map',
    Object.entries(value)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, normalizeAnyValue(v as AnyValue)]),
  ];
}
