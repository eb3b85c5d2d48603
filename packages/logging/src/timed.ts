import type { LogFields, Logger } from './createLogger';
import { getLogger } from './getLogger';
import { recordOperationDuration } from './internal/metrics';

/** Options of {@link timed} and {@link startTimer}. */
export type TimedOptions = {
  /** Logger to write to. Default: {@link getLogger}(). */
  logger?: Logger;
  /** Level of a successful, not-slow operation. Default `info`. */
  level?: string;
  /** Operations taking at least this long are logged at `slowLevel` with `slow: true`. */
  slowThresholdMs?: number;
  /** Level of slow operations. Default `warn`. */
  slowLevel?: string;
  /** Level of failed operations. Default `error`. */
  errorLevel?: string;
};

/** A running measurement from {@link startTimer}. */
export type OperationTimer = {
  /** Ends the measurement as a success; logs and records it once. Returns the duration in ms. */
  done(fields?: LogFields): number;
  /** Ends the measurement as a failure; logs and records it once. Returns the duration in ms. */
  fail(error: unknown, fields?: LogFields): number;
};

/**
 * Starts timing an operation; call `done()` or `fail(err)` when it ends. Logs one record
 * with `operation`, `duration_ms` and `outcome`, and records the OTel histogram
 * `operation.duration{operation,outcome}` (ms).
 * @example
 * const t = startTimer('import.batch', { rows: 500 }, { slowThresholdMs: 2000 });
 * try { await load(); t.done(); } catch (e) { t.fail(e); throw e; }
 */
export function startTimer(name: string, fields?: LogFields, options: TimedOptions = {}): OperationTimer {
  const start = performance.now();
  let ended = -1;
  const end = (outcome: 'success' | 'error', error: unknown, extra?: LogFields): number => {
    if (ended >= 0) return ended;
    const ms = performance.now() - start;
    ended = ms;
    try {
      recordOperationDuration(ms, { operation: name, outcome });
      const slow = options.slowThresholdMs !== undefined && ms >= options.slowThresholdMs;
      const level =
        outcome === 'error'
          ? (options.errorLevel ?? 'error')
          : slow
            ? (options.slowLevel ?? 'warn')
            : (options.level ?? 'info');
      const record: Record<string, unknown> = {
        ...fields,
        ...extra,
        level,
        message: outcome === 'error' ? `${name} failed` : `${name} completed`,
        operation: name,
        duration_ms: Math.round(ms * 1000) / 1000,
        outcome,
      };
      if (slow) record.slow = true;
      if (outcome === 'error') record.error = error;
      (options.logger ?? getLogger()).log(record as { level: string; message: string });
    } catch {
      // measuring must never break the measured operation
    }
    return ms;
  };
  return {
    done: (extra) => end('success', undefined, extra),
    fail: (error, extra) => end('error', error, extra),
  };
}

/**
 * Runs `fn` (sync or async), logs its duration and outcome, records
 * `operation.duration{operation}`, and returns (or rethrows) its result unchanged.
 * @example const user = await timed('db.load_user', () => repo.find(id), { userId: id });
 */
export async function timed<T>(
  name: string,
  fn: () => Promise<T> | T,
  fields?: LogFields,
  options?: TimedOptions,
): Promise<T> {
  const timer = startTimer(name, fields, options);
  try {
    const result = await fn();
    timer.done();
    return result;
  } catch (err) {
    timer.fail(err);
    throw err;
  }
}
