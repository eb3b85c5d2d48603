import { type LogRecord, SeverityNumber } from '@opentelemetry/api-logs';
import type { ServiceInfo } from './resolveService';
import { isError, KEY_CACHE_MAX_LENGTH, plainJson, put, quote, type Sanitizer } from './sanitize';
import { captureStamp, STAMP, type Stamp } from './stamp';
import { CHILD_ERROR, LEVEL, MESSAGE, SPLAT } from './symbols';

/**
 * The record handed to the OTel bridge, built in the same pass as the JSON line: redacted
 * attributes plus what upstream's emitLogRecord reads (`message` → body, the LEVEL symbol →
 * severity, the winston-context symbol → trace context, `error` → exception attributes,
 * `otel.event.name` → event name).
 */
export const OTEL_RECORD = Symbol.for('@mem0-stack/logging.otelRecord');
/**
 * The Logs API LogRecord itself, built instead of OTEL_RECORD when upstream's emitLogRecord
 * would turn OTEL_RECORD into exactly it: an npm level and no field from which upstream
 * derives an exception (`err`, `error`, a string `stack`). The bridge emits it as is, sparing
 * upstream's copy of every attribute.
 */
export const OTEL_API_RECORD = Symbol.for('@mem0-stack/logging.otelApiRecord');
const OTEL_CONTEXT_SYMBOL = Symbol.for('opentelemetry.js.contrib.winston.context');
const OTEL_EVENT_NAME = 'otel.event.name';

/** upstream's mapping (winston-transport utils: otel names, then npm levels) for the npm levels. */
const NPM_SEVERITY: Record<string, SeverityNumber> = {
  error: SeverityNumber.ERROR,
  warn: SeverityNumber.WARN,
  info: SeverityNumber.INFO,
  http: SeverityNumber.DEBUG3,
  verbose: SeverityNumber.DEBUG2,
  debug: SeverityNumber.DEBUG,
  silly: SeverityNumber.TRACE,
};

/** Keys owned by the record contract; an event field with one of these names is dropped so a line never has duplicate keys. */
const RESERVED = new Set([
  'timestamp',
  'level',
  'message',
  'service.name',
  'service.version',
  'deployment.environment',
  'trace_id',
  'span_id',
  'trace_flags',
  'correlation_id',
]);

const HEX = '0123456789abcdef';
const flagsText = (f: number) => `"${HEX[(f >> 4) & 15]}${HEX[f & 15]}"`;

type Info = Record<string | symbol, unknown>;
type KeyInfo = { frag: string; sensitive: boolean; reserved: boolean };

export type RecordFormatOptions = {
  service: ServiceInfo;
  sanitizer: Sanitizer;
  /** Also produce the OTel record (only when the bridge is on and an SDK is registered). */
  attributes: () => boolean;
  /** Whether the OTel record may be the Logs API record itself (OTEL_API_RECORD) when upstream would build the same. */
  apiRecord?: () => boolean;
  /** Whether debug is currently enabled (Error stacks are only written then). */
  debugEnabled: () => boolean;
  pretty: boolean;
  colors: boolean;
};

/**
 * The one winston format of our loggers: stamps, redacts and serialises a record into a
 * single JSON line in one pass (winston's `combine(timestamp(), json())` walks the record
 * several times and serialises with safe-stable-stringify). Never throws.
 */
export class RecordFormat {
  readonly options = {};
  private readonly s: Sanitizer;
  private readonly serviceFrag: string;
  private readonly keys = new Map<string, KeyInfo>();
  private readonly levelFrags = new Map<string, string>();
  private readonly censorJson: string;
  // toISOString costs about a microsecond; records in the same second share the prefix.
  private isoSecond = -1;
  private isoPrefix = '';

  constructor(private readonly o: RecordFormatOptions) {
    this.s = o.sanitizer;
    this.serviceFrag = `,"service.name":${JSON.stringify(o.service.name)},"service.version":${JSON.stringify(o.service.version)},"deployment.environment":${JSON.stringify(o.service.environment)}`;
    this.censorJson = JSON.stringify(this.s.censor);
  }

  transform(info: Info): Info {
    try {
      const line = this.jsonLine(info);
      info[MESSAGE] = this.o.pretty ? prettyLine(line, this.o.colors) : line;
    } catch (err) {
      // Last resort: a record that cannot be serialised still produces a valid line that says so.
      info[MESSAGE] = JSON.stringify({
        timestamp: new Date().toISOString(),
        level: typeof info[LEVEL] === 'string' ? info[LEVEL] : 'error',
        message: '[unserializable log record]',
        'log.error': String((err as Error)?.message ?? err).slice(0, 200),
      });
    }
    return info;
  }

  /** One cached lookup per field name: its JSON prefix, whether it is redacted or reserved. */
  private keyInfo(key: string): KeyInfo {
    let k = this.keys.get(key);
    if (k === undefined) {
      k = {
        frag: `,${JSON.stringify(key)}:`,
        sensitive: this.s.isSensitiveKey(key),
        reserved: RESERVED.has(key),
      };
      if (this.keys.size < 4096 && key.length <= KEY_CACHE_MAX_LENGTH) this.keys.set(key, k);
    }
    return k;
  }

  private iso(ms: number): string {
    const sec = Math.floor(ms / 1000);
    if (sec !== this.isoSecond) {
      const full = new Date(ms).toISOString();
      // a six-digit year (beyond 9999) has a longer prefix; just don't cache those
      if (full.length !== 24) return full;
      this.isoSecond = sec;
      this.isoPrefix = full.slice(0, 20);
    }
    const frac = ms - sec * 1000;
    return `${this.isoPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
  }

  private levelFrag(level: string): string {
    let f = this.levelFrags.get(level);
    if (f === undefined) {
      f = JSON.stringify(level);
      this.levelFrags.set(level, f);
    }
    return f;
  }

  jsonLine(info: Info): string {
    const s = this.s;
    const stamp = (info[STAMP] as Stamp | undefined) ?? captureStamp();
    const level = String(info[LEVEL] ?? info.level ?? 'info');
    s.includeStack = this.o.debugEnabled();
    const attrs: Record<string | symbol, unknown> | undefined = this.o.attributes() ? {} : undefined;
    // winston hands over the caller's object as is (logger.info({ message }), logger.log(info)):
    // the OTel record of an earlier pass over the same object must not be sent for this one.
    if (info[OTEL_API_RECORD] !== undefined) info[OTEL_API_RECORD] = undefined;
    if (info[OTEL_RECORD] !== undefined) info[OTEL_RECORD] = undefined;

    let error: Error | undefined;
    let rawMessage: unknown = info.message;
    if (isError(info)) error = info as unknown as Error;
    else if (isError(info[CHILD_ERROR])) error = info[CHILD_ERROR];
    else if (isError(rawMessage)) {
      error = rawMessage;
      rawMessage = rawMessage.message;
    } else {
      const splat = info[SPLAT];
      if (Array.isArray(splat)) {
        for (const x of splat) {
          if (isError(x)) {
            error = x;
            break;
          }
        }
        // logger.error('failed', err): winston appends err.message to the message; it is
        // already in `error.message`, so keep the caller's message as written.
        const suffix = error ? ` ${error.message}` : '';
        if (suffix.length > 1 && typeof rawMessage === 'string' && rawMessage.endsWith(suffix)) {
          rawMessage = rawMessage.slice(0, -suffix.length);
        }
      }
    }
    let message: string;
    if (typeof rawMessage === 'string') message = s.string(rawMessage);
    else if (rawMessage === undefined || rawMessage === null) message = '';
    else if (typeof rawMessage === 'object') message = s.json(rawMessage) ?? '';
    else message = s.string(String(rawMessage));

    let out = `{"timestamp":"${this.iso(stamp.time)}","level":${this.levelFrag(level)},"message":${quote(message)}${this.serviceFrag}`;
    if (stamp.traceId) {
      out += `,"trace_id":"${stamp.traceId}","span_id":"${stamp.spanId}","trace_flags":${flagsText(stamp.traceFlags)}`;
    } else {
      out += ',"trace_id":null,"span_id":null,"trace_flags":null';
    }
    // The id is either a trace id or a validated [A-Za-z0-9._-] id, so no escaping is needed.
    out += stamp.correlationId ? `,"correlation_id":"${stamp.correlationId}"` : ',"correlation_id":null';
    if (attrs && stamp.correlationId) attrs.correlation_id = stamp.correlationId;

    let hasErrorKey = false;
    // Fields from which upstream's emitLogRecord derives an exception (see OTEL_API_RECORD).
    let exceptionField = false;
    for (const key in info) {
      const k = this.keyInfo(key);
      if (k.reserved) continue;
      let v: unknown;
      try {
        v = info[key];
      } catch {
        // a throwing getter (an Error logged directly is the record itself): drop the field, not the record
        continue;
      }
      if (v === undefined) continue;
      // winston copies an Error argument's stack/cause onto the record; they belong in `error`.
      if (error && (key === 'stack' || key === 'cause')) continue;
      if (key === 'error') hasErrorKey = true;
      if (key === 'err' || key === 'error' || (key === 'stack' && typeof v === 'string'))
        exceptionField = true;
      let frag: string;
      let av: unknown;
      if (k.sensitive) {
        av = s.censor;
        frag = this.censorJson;
      } else {
        switch (typeof v) {
          case 'string':
            av = s.string(v);
            frag = quote(av as string);
            break;
          case 'number':
            if (Number.isFinite(v)) {
              av = v;
              frag = `${v}`;
            } else {
              av = String(v);
              frag = `"${av}"`;
            }
            break;
          case 'boolean':
            av = v;
            frag = v ? 'true' : 'false';
            break;
          default:
            if (attrs) {
              // the bridge needs the sanitised value itself; serialise that same tree
              av = s.value(v);
              if (av === undefined) continue;
              frag = plainJson(av);
              // upstream takes exception.type from `name`; the sanitised Error calls it `type`
              if ((key === 'err' || key === 'error') && isError(v) && av !== null && typeof av === 'object')
                av = { ...(av as Record<string, unknown>), name: (av as { type?: unknown }).type };
            } else {
              const j = s.json(v);
              if (j === undefined) continue;
              frag = j;
            }
        }
      }
      out += k.frag + frag;
      if (attrs) put(attrs, key, av);
    }
    let errorValue: Record<string, unknown> | undefined;
    if (error && !hasErrorKey) {
      errorValue = s.error(error);
      out += `,"error":${plainJson(errorValue)}`;
    }
    out += '}';
    if (attrs) {
      const eventName = attrs['event.name'];
      const severityNumber = NPM_SEVERITY[level];
      if (!exceptionField && !errorValue && severityNumber !== undefined && this.o.apiRecord?.()) {
        // What upstream's emitLogRecord would emit for this record, built directly: the
        // attributes without `otel.event.name` (taken out as the event name, as upstream does).
        const name = typeof eventName === 'string' ? eventName : attrs[OTEL_EVENT_NAME];
        if (Object.hasOwn(attrs, OTEL_EVENT_NAME)) delete attrs[OTEL_EVENT_NAME];
        const record: LogRecord = {
          severityNumber,
          severityText: level,
          body: message,
          attributes: attrs as Record<string, never>,
          context: stamp.ctx,
          eventName: typeof name === 'string' ? name : undefined,
          timestamp: stamp.time,
        };
        info[OTEL_API_RECORD] = record;
        return out;
      }
      if (typeof eventName === 'string') attrs[OTEL_EVENT_NAME] = eventName;
      if (errorValue) {
        attrs.error = {
          name: errorValue.type,
          message: errorValue.message,
          stack: errorValue.stack,
          code: errorValue.code,
        };
      }
      attrs.message = message;
      attrs[LEVEL] = level;
      attrs[OTEL_CONTEXT_SYMBOL] = stamp.ctx;
      info[OTEL_RECORD] = attrs;
    }
    return out;
  }
}

const COLORS: Record<string, string> = {
  error: '\x1b[31m',
  warn: '\x1b[33m',
  info: '\x1b[32m',
  http: '\x1b[36m',
  verbose: '\x1b[36m',
  debug: '\x1b[34m',
  silly: '\x1b[35m',
};
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
const HEADER_KEYS = new Set([...RESERVED]);

/** Escapes control characters (newlines, ANSI ESC) so a pretty line is still one line and cannot repaint the terminal. */
function escapeControl(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Human-readable rendering for local development (MEM0_LOG_FORMAT=pretty); built from the redacted JSON line. */
function prettyLine(jsonLine: string, colors: boolean): string {
  const r = JSON.parse(jsonLine) as Record<string, unknown>;
  const level = String(r.level);
  const time = String(r.timestamp).slice(11, 23);
  const lvl = level.toUpperCase().padEnd(5);
  let out = colors ? `${DIM}${time}${RESET} ${COLORS[level] ?? ''}${lvl}${RESET} ` : `${time} ${lvl} `;
  out += escapeControl(String(r.message));
  const extras: string[] = [];
  for (const [k, v] of Object.entries(r)) {
    if (HEADER_KEYS.has(k)) continue;
    extras.push(
      `${escapeControl(k)}=${typeof v === 'string' ? escapeControl(JSON.stringify(v)) : JSON.stringify(v)}`,
    );
  }
  if (typeof r.correlation_id === 'string') extras.push(`cid=${r.correlation_id.slice(0, 8)}`);
  if (extras.length > 0) out += colors ? ` ${DIM}${extras.join(' ')}${RESET}` : ` ${extras.join(' ')}`;
  return out;
}
