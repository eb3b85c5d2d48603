import type { Counter } from '@opentelemetry/api';
import { metrics } from '@opentelemetry/api';
import type { Signal } from '../readConfig';
import type { Diag } from './createDiag';

const totals: Record<Signal, number> = { traces: 0, metrics: 0, logs: 0 };
const lastWarn: Record<Signal, number> = { traces: 0, metrics: 0, logs: 0 };
const sinceWarn: Record<Signal, number> = { traces: 0, metrics: 0, logs: 0 };
const WARN_EVERY_MS = 60_000;
let counter: Counter | undefined;
let diag: Diag | undefined;

export function setDroppedDiag(d: Diag): void {
  diag = d;
}

function droppedCounter(): Counter {
  counter ??= metrics.getMeter('@mem0-stack/otel').createCounter('telemetry.dropped', {
    description:
      'Telemetry items (spans, metric data points, log records) lost before reaching the collector',
    unit: '{item}',
  });
  return counter;
}

let primed = false;
let primeArmed = false;

/**
 * Exports `telemetry.dropped` at 0 for every signal from the start, once the meter provider is
 * global: a series that exists before the first loss lets `increase()`-based alerts and the
 * dashboard see the first drop instead of a series appearing out of nowhere.
 */
function primeDropped(): void {
  primed = true;
  try {
    // A counter made before the provider was global came from the no-op meter: make it again.
    counter = undefined;
    const c = droppedCounter();
    for (const signal of ['traces', 'metrics', 'logs'] as const) c.add(0, { signal });
  } catch {
    // counting must never throw into start-up
  }
}

/**
 * Primes `telemetry.dropped` after `delayMs` (an unref'd timer), or at the first loss if that
 * comes sooner. Not at once: priming builds the metrics SDK, and a script that ends within the
 * delay would then pay for it and send a metrics export at exit only to report zero losses
 * (it doubled the preload's `node -e 0` cost). A service is up long before its first export.
 */
export function schedulePrimeDropped(delayMs: number): void {
  primeArmed = true;
  primed = false;
  setTimeout(() => {
    if (!primed) primeDropped();
  }, delayMs).unref();
}

/**
 * Counts telemetry that will never reach the collector (queue full, export failed,
 * collector rejected part of a batch) in `telemetry.dropped{signal}`, and warns at most
 * once a minute per signal so an outage does not flood stderr.
 */
export function countDropped(signal: Signal, n: number, reason: string): void {
  if (n <= 0) return;
  totals[signal] += n;
  sinceWarn[signal] += n;
  // The zero series go out with the first loss: the same export, so no series starts above 0.
  if (primeArmed && !primed) primeDropped();
  try {
    droppedCounter().add(n, { signal });
  } catch {
    // counting must never throw into the export path
  }
  const now = Date.now();
  if (now - lastWarn[signal] >= WARN_EVERY_MS) {
    const n = sinceWarn[signal];
    const plural = signal === 'traces' ? 'spans' : signal === 'logs' ? 'log records' : 'metric data points';
    const what = n === 1 ? plural.replace(/s$/, '') : plural;
    diag?.warn(
      lastWarn[signal] === 0
        ? `dropping ${plural} (${reason}); the app is unaffected, losses are counted in telemetry.dropped{signal="${signal}"}.`
        : `dropped ${n} more ${what} in the last minute (${reason}); counted in telemetry.dropped{signal="${signal}"}.`,
    );
    lastWarn[signal] = now;
    sinceWarn[signal] = 0;
  }
}

/** Totals since start, per signal (also exported as the `telemetry.dropped` metric). */
export function droppedTotals(): Record<Signal, number> {
  return { ...totals };
}
