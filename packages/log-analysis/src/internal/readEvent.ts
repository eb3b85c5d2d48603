import { type CompiledFields, ERROR_LEVELS, F, normalizeLevel } from './fields';

/** What kind of resilience signal a record carries, if any. */
export type ResilienceKind =
  | 'retry'
  | 'recovered'
  | 'exhausted'
  | 'breaker_open'
  | 'breaker_half_open'
  | 'breaker_closed';

/**
 * One log record, read through the field table. Only what the analyses use is extracted;
 * `raw` keeps the rest for `trace` output.
 */
export type LogEvent = {
  raw: Record<string, unknown>;
  /** Epoch milliseconds, NaN when the record has no readable timestamp. */
  ts: number;
  level: string;
  message: string;
  service: string | undefined;
  traceId: string | undefined;
  spanId: string | undefined;
  correlationId: string | undefined;
  eventName: string | undefined;
  /** Set on request log lines (method + status + duration). */
  request: { method: string; route: string; status: number; durationMs: number } | undefined;
  /** Set on timed() records (operation + duration). */
  timed: { operation: string; durationMs: number; failed: boolean } | undefined;
  /** Set on error records: classified ones (error.code/category) and error-level lines. */
  error:
    | {
        code: string;
        category: string;
        severity: string;
        unclassified: boolean;
        structured: boolean;
        /** error.message when present (more specific than the log message). */
        message: string | undefined;
      }
    | undefined;
  resilience: ResilienceKind | undefined;
  breaker: string | undefined;
  cache: 'hit' | 'miss' | undefined;
};

const GAUGE_STATES = ['closed', 'half-open', 'open', 'isolated'];

/** Maps a breaker's new state to an event; `isolated` (forced open) counts as open. */
function breakerTransition(v: unknown): ResilienceKind | undefined {
  const s = typeof v === 'number' ? GAUGE_STATES[v] : typeof v === 'string' ? v.toLowerCase() : undefined;
  if (s === 'open' || s === 'isolated') return 'breaker_open';
  if (s === 'half-open' || s === 'half_open' || s === 'halfopen') return 'breaker_half_open';
  if (s === 'closed' || s === 'close') return 'breaker_closed';
  return undefined;
}

const FAILED_OUTCOMES = new Set(['error', 'failed', 'failure', 'fail', 'timeout', 'rejected', 'aborted']);

let lastSecond = '';
let lastSecondMs = Number.NaN;

/**
 * Parses a timestamp: ISO strings, epoch numbers in s/ms/µs/ns (by magnitude), and
 * numeric strings (Loki's nanosecond strings).
 */
export function parseTimestamp(v: unknown): number {
  if (typeof v === 'string') {
    // Fast path for the contract's `YYYY-MM-DDTHH:MM:SS.sssZ`: consecutive lines share the
    // second, so Date.parse runs once per second of logs instead of once per line.
    if (v.length === 24 && v.charCodeAt(23) === 90 && v.charCodeAt(19) === 46) {
      const sec = v.slice(0, 19);
      if (sec !== lastSecond) {
        lastSecondMs = Date.parse(`${sec}Z`);
        lastSecond = sec;
      }
      const a = v.charCodeAt(20) - 48;
      const b = v.charCodeAt(21) - 48;
      const c = v.charCodeAt(22) - 48;
      if (a >= 0 && a <= 9 && b >= 0 && b <= 9 && c >= 0 && c <= 9)
        return lastSecondMs + a * 100 + b * 10 + c;
    }
    const c = v.charCodeAt(0);
    if (c >= 48 && c <= 57 && v.length >= 10 && /^\d+(\.\d+)?$/.test(v)) return fromEpoch(Number(v));
    return parseIsoUtc(v);
  }
  if (typeof v === 'number') return fromEpoch(v);
  return Number.NaN;
}

const ZONELESS = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * Date.parse, except that a date-time without a zone is UTC (as a date alone already is), not
 * the zone of the machine running the analysis: results are printed in UTC and must not
 * depend on where they are computed.
 */
export function parseIsoUtc(v: string): number {
  return Date.parse(ZONELESS.test(v) ? `${v}Z` : v);
}

/** Largest |epoch ms| a Date can hold; beyond it toISOString() throws. */
const MAX_DATE_MS = 8.64e15;

function fromEpoch(n: number): number {
  if (!Number.isFinite(n)) return Number.NaN;
  const ms = n > 1e17 ? n / 1e6 : n > 1e14 ? n / 1e3 : n > 1e11 ? n : n * 1000; // ns, µs, ms, s
  // An absurd number (1e25) is no timestamp: NaN like other unreadable ones, instead of a
  // value that crashes every result when it is formatted as a date.
  return Math.abs(ms) <= MAX_DATE_MS ? ms : Number.NaN;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.length > 0) return Number(v);
  return Number.NaN;
}

/** String form of any JSON value; objects are stringified (String() could throw on {"toString":1}). */
function toStr(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function toBool(v: unknown): boolean {
  return v === true || v === 'true' || v === 1 || v === '1';
}

/**
 * Compiles a reader that turns a parsed JSON object into a LogEvent.
 * @example const read = createEventReader(compileFields()); read({ level: 'info', message: 'x' })
 */
export function createEventReader(f: CompiledFields): (raw: Record<string, unknown>) => LogEvent {
  const extract = f.extract;
  const eventKind = f.eventKind;
  return (raw) => {
    const x = extract(raw);
    const level = normalizeLevel(x[F.level]);
    const msgVal = x[F.message];
    const message = typeof msgVal === 'string' ? msgVal : msgVal === undefined ? '' : JSON.stringify(msgVal);
    const eventName = toStr(x[F.eventName]);

    let request: LogEvent['request'];
    let timed: LogEvent['timed'];
    const duration = toNumber(x[F.durationMs]);
    if (Number.isFinite(duration)) {
      const status = toNumber(x[F.status]);
      const method = x[F.method];
      if (Number.isFinite(status) && status >= 100 && status < 600 && method !== undefined) {
        const route = toStr(x[F.route]) ?? '(unmatched)';
        request = { method: toStr(method)!.toUpperCase(), route, status, durationMs: duration };
      } else {
        const op = x[F.operation];
        if (op !== undefined) {
          const outcome = x[F.outcome];
          const failed =
            (typeof outcome === 'string' && FAILED_OUTCOMES.has(outcome.toLowerCase())) ||
            outcome === false ||
            ERROR_LEVELS.has(level);
          timed = { operation: toStr(op)!, durationMs: duration, failed };
        }
      }
    }

    let resilience: ResilienceKind | undefined;
    let breaker: string | undefined;
    let cache: LogEvent['cache'];
    const name = eventName ?? message;
    const kind = name.length > 0 && name.length < 80 ? eventKind(name) : undefined;
    if (kind !== undefined) {
      switch (kind) {
        case 'recovered':
        case 'exhausted':
        case 'retry':
          resilience = kind;
          break;
        case 'breakerOpen':
          resilience = 'breaker_open';
          break;
        case 'breakerHalfOpen':
          resilience = 'breaker_half_open';
          break;
        case 'breakerClosed':
          resilience = 'breaker_closed';
          break;
        case 'breakerStateChange':
          resilience = breakerTransition(x[F.breakerState]);
          break;
        case 'cacheHit':
          cache = 'hit';
          break;
        case 'cacheMiss':
          cache = 'miss';
          break;
      }
    } else if (x[F.breakerState] !== undefined) {
      // A transition logged without an event name (resilience's `circuit breaker "x" opened`).
      resilience = breakerTransition(x[F.breakerState]);
    }
    if (resilience?.startsWith('breaker')) breaker = toStr(x[F.breakerName]) ?? '(default)';
    if (cache === undefined) {
      const cr = x[F.cacheResult];
      if (cr === 'hit' || cr === 'miss') cache = cr;
    }

    // A classified error carries error.category (recordError, problem responses) or the
    // unclassified flag. A bare error.code is not enough: breaker transitions carry the code
    // of their cause, and a logged Node error nests its errno code (ECONNREFUSED) there.
    let error: LogEvent['error'];
    const code = x[F.errorCode];
    const category = x[F.errorCategory];
    const unclassified = toBool(x[F.unclassified]) || code === 'UNCLASSIFIED';
    if (category !== undefined || unclassified) {
      error = {
        code: toStr(code) ?? '(none)',
        category: toStr(category) ?? '(none)',
        severity: toStr(x[F.errorSeverity]) ?? '(none)',
        unclassified,
        structured: true,
        message: toStr(x[F.errorMessage]),
      };
    } else if (ERROR_LEVELS.has(level) && request === undefined && resilience === undefined) {
      // Request lines and resilience events have their own sections; counting their error
      // level here too would count one failure twice.
      error = {
        code: toStr(code) ?? '(none)',
        category: '(none)',
        severity: '(none)',
        unclassified: false,
        structured: false,
        message: toStr(x[F.errorMessage]),
      };
    }

    return {
      raw,
      ts: parseTimestamp(x[F.timestamp]),
      level,
      message,
      service: toStr(x[F.service]),
      traceId: toStr(x[F.traceId]),
      spanId: toStr(x[F.spanId]),
      correlationId: toStr(x[F.correlationId]),
      eventName,
      request,
      timed,
      error,
      resilience,
      breaker,
      cache,
    };
  };
}
