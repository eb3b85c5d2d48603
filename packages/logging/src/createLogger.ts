import winston from 'winston';

import type TransportStream = require('winston-transport');

import { readEnv } from './internal/env';
import { countDropped, countRecord, ensureObservables } from './internal/metrics';
import { isForeignOtelTransport, OtelBridgeTransport, otelLogsActive } from './internal/otelBridge';
import { RecordFormat } from './internal/recordFormat';
import { resolveService, type ServiceInfo } from './internal/resolveService';
import { isError, type RedactOptions, Sanitizer } from './internal/sanitize';
import { captureStamp, STAMP } from './internal/stamp';
import {
  type Destination,
  OWN_TRANSPORT,
  StdoutTransport,
  stdoutDestination,
} from './internal/stdoutTransport';
import { CHILD_ERROR, LEVEL } from './internal/symbols';
import { warnOnce } from './internal/warn';

/** Extra fields of a log record (`logger.info('msg', fields)`). */
export type LogFields = Record<string, unknown>;

/** A real winston logger (every winston API works), plus business events and runtime level changes. */
export type Logger = winston.Logger & {
  /** Logs a business event at info level with a stable `event.name` field (also the OTel event name). */
  event(name: string, fields?: LogFields): void;
  /** Changes the level at runtime; an unknown level is ignored with a warning. */
  setLevel(level: string): void;
};

/** Options of {@link createLogger}; every one has an environment or built-in default. */
export type LoggerOptions = {
  /** Minimum level (npm levels: error, warn, info, http, verbose, debug, silly). Default `MEM0_LOG_LEVEL` or `info`. */
  level?: string;
  /** `json` (default) or `pretty` (colourised, for local development). Default `MEM0_LOG_FORMAT`. */
  format?: 'json' | 'pretty';
  /** Write lines to stdout (or `destination`). Default true (`MEM0_LOG_STDOUT=false` turns it off). */
  stdout?: boolean;
  /** Send records to the OTel Logs SDK (exported by the otel package). Default true (`MEM0_LOG_OTLP=false` turns it off). */
  otlp?: boolean;
  /** Where lines go instead of process.stdout (tests, files). */
  destination?: Destination;
  /** Overrides for service.name / service.version / deployment.environment (else OTEL_* env, package.json, NODE_ENV). */
  service?: Partial<ServiceInfo>;
  /** Redaction settings, or `false` to turn redaction off. Default: the built-in key list and value scrubbing. */
  redact?: RedactOptions;
  /** Longest string kept before it is cut and marked truncated. Default 16384. */
  maxStringLength?: number;
  /** Deepest nesting kept. Default 8. */
  maxDepth?: number;
  /** Most array items / object keys kept per level. Default 100. */
  maxItems?: number;
  /** Fields added to every record. */
  defaultMeta?: LogFields;
  /** Colour in pretty mode. Default: when the destination is a TTY. */
  colors?: boolean;
};

const NPM_LEVELS = winston.config.npm.levels;

/**
 * Creates a winston logger that writes one JSON object per line with the contract fields
 * (timestamp, level, message, service.*, deployment.environment, trace_id, span_id,
 * trace_flags, correlation_id, then event fields), redacts secrets, and bridges every
 * record once to the OTel Logs SDK with the trace context of the `log()` call.
 * @example
 * const log = createLogger({ service: { name: 'billing' } });
 * log.info('invoice paid', { invoiceId: 'inv_1', amount: 42 });
 * log.event('invoice.paid', { invoiceId: 'inv_1' });
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const env = readEnv();
  const level = pickLevel(options.level, env.level);
  const pretty = (options.format ?? env.format) === 'pretty';
  const stdoutOn = options.stdout ?? env.stdout;
  const otlpOn = options.otlp ?? env.otlp;
  const destination: Destination = options.destination ?? stdoutDestination();
  const sanitizer = new Sanitizer({
    redact: options.redact,
    maxStringLength: options.maxStringLength,
    maxDepth: options.maxDepth,
    maxItems: options.maxItems,
  });

  let logger: Logger | undefined;
  const bridge = otlpOn ? new OtelBridgeTransport() : undefined;
  const format = new RecordFormat({
    service: resolveService(options.service),
    sanitizer,
    attributes: otlpOn ? otelLogsActive : () => false,
    apiRecord: () => bridge?.direct === true,
    debugEnabled: () => !!logger && (NPM_LEVELS[logger.level] ?? 0) >= NPM_LEVELS.debug,
    pretty,
    colors:
      options.colors ??
      (pretty && ((options.destination ?? process.stdout) as { isTTY?: boolean }).isTTY === true),
  });

  const transports: TransportStream[] = [];
  if (stdoutOn) transports.push(new StdoutTransport(destination));
  if (bridge) transports.push(bridge);

  const base = winston.createLogger({
    levels: NPM_LEVELS,
    level,
    // winston only needs an object with transform(); ours does all the work in one pass.
    format: format as unknown as winston.Logform.Format,
    defaultMeta: options.defaultMeta,
    transports,
    exitOnError: false,
  });
  logger = base as Logger;
  install(logger, format);
  return logger;
}

type StreamState = { length: number; corked: number; ending: boolean; flowing?: boolean | null };
type Streamish = {
  _readableState: StreamState & { pipes: unknown; pipesCount: number };
  _writableState: StreamState;
};
type OwnTransport = TransportStream & Streamish & { [OWN_TRANSPORT]?: true; levels: Record<string, number> };
const NOOP = () => {};

function deliverable(t: unknown): t is OwnTransport {
  const x = t as OwnTransport;
  const ws = x._writableState;
  return (
    x[OWN_TRANSPORT] === true && !x.silent && !x.format && ws.length === 0 && ws.corked === 0 && !ws.ending
  );
}

/**
 * Whether a record may skip winston's Transform → pipe → Writable chain and go straight to
 * the transports. Only when that is invisible: nothing buffered or corked (order is kept),
 * every pipe target is one of our own synchronous transports, and nobody else reads the
 * logger's stream. Anything else (a user transport, cork(), pause(), a 'data' listener)
 * takes winston's normal path.
 */
function directTargets(logger: winston.Logger): unknown[] | undefined {
  const l = logger as unknown as winston.Logger & Streamish;
  const rs = l._readableState;
  const ws = l._writableState;
  if (ws.length !== 0 || ws.corked !== 0 || ws.ending || rs.length !== 0 || rs.flowing !== true)
    return undefined;
  const n = rs.pipesCount;
  // readable-stream's pipe() adds exactly one 'data' listener per destination.
  if (n === 0 || l.listenerCount('data') !== n || l.listenerCount('readable') !== 0) return undefined;
  const targets = n === 1 ? [rs.pipes] : (rs.pipes as unknown[]);
  for (const t of targets) if (!deliverable(t)) return undefined;
  return targets;
}

function install(logger: Logger, format: RecordFormat): void {
  ensureObservables();
  removeForeignOtelTransports(logger);
  // Writing after end(), or a transport added by the app failing, surfaces as an 'error'
  // event on the logger; unhandled, that would crash the app.
  logger.on('error', () => countDropped());
  if (logger.transports.length === 0) {
    // winston warns on every record when nothing is piped; with stdout and OTLP both off a
    // silent sink keeps the logger usable (levels, events) and quiet.
    logger.add(new StdoutTransport({ write: () => true }));
  }

  const levels = logger.levels;
  logger.write = function write(this: winston.Logger, info: Record<string | symbol, unknown>): boolean {
    try {
      const lvl = (info[LEVEL] ?? info.level) as string;
      const v = levels[lvl];
      // Drop disabled levels before any formatting work (plain winston formats, then drops).
      // (an unknown level falls through to winston, which reports it)
      if (v !== undefined && v > (levels[this.level] ?? -1) && !this.isLevelEnabled(lvl)) return true;
      if (this.silent) return true;
      // Stamp trace/correlation context now: winston may run the format and transports
      // later, when another request's context is active.
      info[STAMP] = captureStamp();
      if (v === undefined) return Object.getPrototypeOf(logger).write.call(this, info) as boolean;
      countRecord(lvl);
      const targets = this.format === (format as unknown) ? directTargets(this) : undefined;
      if (targets) {
        format.transform(info);
        for (const t of targets as OwnTransport[]) {
          const tl = t.level;
          if (tl === undefined || (levels[tl] ?? -1) >= v) t.log?.(info, NOOP);
        }
        return true;
      }
      return Object.getPrototypeOf(logger).write.call(this, info) as boolean;
    } catch {
      countDropped();
      return true;
    }
  } as typeof logger.write;

  const protoConfigure = logger.configure;
  logger.configure = function configure(this: winston.Logger, opts: winston.LoggerOptions): void {
    protoConfigure.call(this, opts);
    removeForeignOtelTransports(this);
  };

  const protoAdd = logger.add;
  logger.add = function add(this: Logger, transport: TransportStream): Logger {
    if (isForeignOtelTransport(transport)) {
      warnOnce(
        'add(OpenTelemetryTransportV3) ignored: this logger already bridges every record to OTel once',
      );
      return this;
    }
    return protoAdd.call(this, transport);
  };

  // winston's child() copies an Error it is given into a plain object, so the format could
  // no longer tell it was one (no `error` field, the raw stack as a top-level field at every
  // level). The same copy, plus the Error itself under CHILD_ERROR.
  logger.child = function child(this: winston.Logger, meta: object): winston.Logger {
    const parent = this;
    return Object.create(parent, {
      write: {
        value(info: Record<string | symbol, unknown>) {
          const clone: Record<string | symbol, unknown> = Object.assign({}, meta, info);
          if (isError(info)) {
            clone.stack = info.stack;
            clone.message = info.message;
            clone.cause = info.cause;
            clone[CHILD_ERROR] = info;
          }
          return parent.write(clone);
        },
      },
    }) as winston.Logger;
  } as typeof logger.child;

  logger.event = function event(this: Logger, name: string, fields?: LogFields): void {
    this.log({ ...fields, level: 'info', message: name, 'event.name': name });
  };

  logger.setLevel = function setLevel(this: Logger, next: string): void {
    if (typeof next !== 'string' || !Object.hasOwn(this.levels, next)) {
      warnOnce(`setLevel: unknown level ${JSON.stringify(next)} ignored; keeping "${this.level}"`);
      return;
    }
    this.level = next;
  };
}

/**
 * instrumentation-winston adds its own OpenTelemetryTransportV3 to every logger configured
 * after the preload; ours already bridges each record (with the right context), so a second
 * copy would duplicate every record in the collector.
 */
function removeForeignOtelTransports(logger: winston.Logger): void {
  for (const t of logger.transports.slice()) {
    if (isForeignOtelTransport(t)) logger.remove(t);
  }
}

function pickLevel(explicit: string | undefined, fromEnv: string): string {
  if (explicit === undefined) return fromEnv;
  if (Object.hasOwn(NPM_LEVELS, explicit)) return explicit;
  warnOnce(`createLogger: unknown level ${JSON.stringify(explicit)}; using "${fromEnv}"`);
  return fromEnv;
}
