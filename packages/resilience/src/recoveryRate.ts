import { tallies } from './internal/telemetry';

/**
 * Process-wide recovery counts since start (or the last reset).
 * @example const { recovered, exhausted } = recoveryStats();
 */
export type RecoveryStats = {
  /** Calls that met a retryable failure and then succeeded on a retry. */
  recovered: number;
  /** Calls that met a retryable failure and still failed (attempts, budget, deadline…). */
  exhausted: number;
  /** recovered / (recovered + exhausted); 1 when there was nothing to recover. */
  rate: number;
};

/**
 * Share of recoverable failures that the retry policies recovered automatically:
 * `recovered / (recovered + exhausted)` across every retry policy in the process. Returns 1 when
 * no recoverable failure has happened yet. The same figures are exported as the
 * `resilience.recovered` and `resilience.exhausted` counters.
 * @example
 * app.get('/internal/recovery', (_req, res) => res.json({ recoveryRate: recoveryRate() }));
 */
export function recoveryRate(): number {
  const total = tallies.recovered + tallies.exhausted;
  return total === 0 ? 1 : tallies.recovered / total;
}

/**
 * {@link recoveryRate} with its numerator and denominator.
 * @example if (recoveryStats().exhausted > 100) alert();
 */
export function recoveryStats(): RecoveryStats {
  return { recovered: tallies.recovered, exhausted: tallies.exhausted, rate: recoveryRate() };
}

/**
 * Resets the counts (tests, or a per-interval report).
 * @example resetRecoveryStats();
 */
export function resetRecoveryStats(): void {
  tallies.recovered = 0;
  tallies.exhausted = 0;
}
