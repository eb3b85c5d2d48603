// Metrics, span events and logs for the policies. Nothing here runs on a successful call's
// path: only retries, give-ups, rejections and breaker transitions are recorded. Instruments
// are created on first use and re-created if the global MeterProvider changes (an SDK started
// after the first policy was built). Telemetry failures are swallowed: they never fail a call.
import { getLogger } from '@mem0-stack/logging';
import {
  type Attributes,
  type Counter,
  type MeterProvider,
  metrics,
  type ObservableGauge,
  type ObservableResult,
  trace,
} from '@opentelemetry/api';

const METER = '@mem0-stack/resilience';

type Instruments = {
  retryAttempts: Counter;
  recovered: Counter;
  exhausted: Counter;
  transitions: Counter;
  rejected: Counter;
  circuitState: ObservableGauge;
};

/** What the circuit-state gauge reads. */
export interface ObservedBreaker {
  readonly name: string;
  stateValue(): number;
}

let provider: MeterProvider | undefined;
let inst: Instruments | undefined;
const breakers = new Set<WeakRef<ObservedBreaker>>();

function observeBreakers(result: ObservableResult): void {
  for (const ref of breakers) {
    const b = ref.deref();
    if (b === undefined) {
      breakers.delete(ref);
      continue;
    }
    result.observe(b.stateValue(), { 'resilience.name': b.name });
  }
}

function instruments(): Instruments | undefined {
  try {
    const p = metrics.getMeterProvider();
    if (inst !== undefined && p === provider) return inst;
    const meter = p.getMeter(METER);
    const circuitState = meter.createObservableGauge('resilience.circuit.state', {
      description: 'Circuit breaker state per breaker: 0 closed, 1 half-open, 2 open, 3 isolated',
      unit: '{state}',
    });
    circuitState.addCallback(observeBreakers);
    inst = {
      retryAttempts: meter.createCounter('resilience.retry.attempts', {
        description: 'Retries made (the first attempt is not counted)',
        unit: '{attempt}',
      }),
      recovered: meter.createCounter('resilience.recovered', {
        description: 'Calls that succeeded after at least one retry',
        unit: '{call}',
      }),
      exhausted: meter.createCounter('resilience.exhausted', {
        description: 'Calls that met a retryable failure and still failed',
        unit: '{call}',
      }),
      transitions: meter.createCounter('resilience.circuit.transitions', {
        description: 'Circuit breaker state changes',
        unit: '{transition}',
      }),
      rejected: meter.createCounter('resilience.rejected', {
        description: 'Calls refused or cut short by a policy, by reason',
        unit: '{call}',
      }),
      circuitState,
    };
    provider = p;
    return inst;
  } catch {
    return undefined;
  }
}

function addSpanEvent(name: string, attrs: Attributes): void {
  try {
    // The active span may already have ended (a breaker transition settles after the request
    // that caused it); adding to it would only make the SDK warn.
    const span = trace.getActiveSpan();
    if (span?.isRecording()) span.addEvent(name, attrs);
  } catch {
    // Telemetry never fails a call.
  }
}

// Process-wide tallies behind recoveryRate(); plain numbers, readable without an SDK.
export const tallies = { recovered: 0, exhausted: 0 };

/** Registers a breaker with the `resilience.circuit.state` gauge. */
export function observeBreaker(b: ObservedBreaker): void {
  breakers.add(new WeakRef(b));
  instruments();
  // A breaker built at import time may predate the SDK: look again once the process has
  // finished starting up, so the gauge lands on the real MeterProvider.
  setTimeout(instruments, 0).unref();
}

export function recordRetry(name: string, attempt: number, delayMs: number, code: string): void {
  instruments()?.retryAttempts.add(1, { 'resilience.name': name });
  addSpanEvent('resilience.retry', {
    'resilience.name': name,
    'resilience.attempt': attempt,
    'resilience.delay_ms': Math.round(delayMs),
    'error.code': code,
  });
}

export function recordRecovered(name: string, attempts: number): void {
  tallies.recovered++;
  instruments()?.recovered.add(1, { 'resilience.name': name });
  addSpanEvent('resilience.recovered', { 'resilience.name': name, 'resilience.attempts': attempts });
  // A log line too, so `mem0-logs errors` can compute the recovery rate from logs alone.
  logAt('info', `"${name}" recovered after ${attempts} attempts`, {
    'event.name': 'resilience.recovered',
    'resilience.name': name,
    'resilience.attempts': attempts,
  });
}

export function recordExhausted(name: string, attempts: number, reason: string, code: string): void {
  tallies.exhausted++;
  instruments()?.exhausted.add(1, { 'resilience.name': name, reason });
  addSpanEvent('resilience.exhausted', {
    'resilience.name': name,
    'resilience.attempts': attempts,
    reason,
    'error.code': code,
  });
  logAt('warn', `"${name}" gave up after ${attempts} attempts (${reason})`, {
    'event.name': 'resilience.exhausted',
    'resilience.name': name,
    'resilience.attempts': attempts,
    reason,
    'error.code': code,
  });
}

export function recordFallback(name: string, code: string): void {
  addSpanEvent('resilience.fallback', { 'resilience.name': name, 'error.code': code });
}

export function recordRejected(name: string, reason: string): void {
  instruments()?.rejected.add(1, { 'resilience.name': name, reason });
}

export function recordTransition(
  name: string,
  from: string,
  to: string,
  cause: { code?: string; message?: string } | undefined,
  logger: LoggerLike | undefined,
): void {
  instruments()?.transitions.add(1, {
    'resilience.name': name,
    'resilience.circuit.from': from,
    'resilience.circuit.to': to,
  });
  addSpanEvent('resilience.circuit.transition', {
    'resilience.name': name,
    'resilience.circuit.from': from,
    'resilience.circuit.to': to,
    ...(cause?.code ? { 'error.code': cause.code } : {}),
  });
  try {
    const log = logger ?? getLogger();
    const fields = {
      'resilience.name': name,
      'resilience.circuit.from': from,
      'resilience.circuit.to': to,
      ...(cause?.code ? { 'error.code': cause.code } : {}),
    };
    if (to === 'open') log.warn(`circuit breaker "${name}" opened`, fields);
    else if (to === 'closed') log.info(`circuit breaker "${name}" closed`, fields);
    else log.debug(`circuit breaker "${name}" is ${to}`, fields);
  } catch {
    // Logging never fails a call.
  }
}

function logAt(level: 'info' | 'warn', message: string, fields: Record<string, unknown>): void {
  try {
    getLogger()[level](message, fields);
  } catch {
    // Logging never fails a call.
  }
}

/** A warn line through `logger` or the process logger; never throws. */
export function logWarn(
  logger: LoggerLike | undefined,
  message: string,
  fields: Record<string, unknown>,
): void {
  try {
    (logger ?? getLogger()).warn(message, fields);
  } catch {
    // Logging never fails a call.
  }
}

/** The subset of a winston logger the policies use. */
export type LoggerLike = {
  warn(message: string, fields?: Record<string, unknown>): unknown;
  info(message: string, fields?: Record<string, unknown>): unknown;
  debug(message: string, fields?: Record<string, unknown>): unknown;
};
