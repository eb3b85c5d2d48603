import { metrics, trace } from '@opentelemetry/api';
import { logError, recordError, wasRecorded } from './recordError';

/** Options of {@link installProcessHandlers}. */
export type ProcessHandlerOptions = {
  /**
   * Flushes telemetry before exit, e.g. the otel package's `shutdown`. The global tracer and
   * meter providers are force-flushed as well when they support it. Called only before a fatal
   * exit: after a logged rejection the process carries on, so only the providers are flushed.
   */
  flush?: () => unknown;
  /** Longest wait for the flush before exiting anyway. Default 5000 ms. */
  flushTimeoutMs?: number;
  /** Exit after an uncaught exception (the process state is unknown). Default true. */
  exitOnUncaughtException?: boolean;
  /** Exit after an unhandled rejection too (Node's own default). Default false: log and carry on. */
  exitOnUnhandledRejection?: boolean;
  /** Exit code. Default 1. */
  exitCode?: number;
  /** How to exit (tests). Default `process.exit`. */
  exit?: (code: number) => void;
};

type Flushable = { forceFlush?: () => Promise<unknown>; getDelegate?: () => unknown };

function flushProvider(p: unknown): Promise<unknown> | undefined {
  const provider = p as Flushable | undefined;
  const target = (typeof provider?.getDelegate === 'function' ? provider.getDelegate() : provider) as
    | Flushable
    | undefined;
  return typeof target?.forceFlush === 'function' ? target.forceFlush() : undefined;
}

async function flushAll(
  flush: (() => unknown) | undefined,
  timeoutMs: number,
  keepAlive: boolean,
): Promise<void> {
  const work = [
    (async () => flush?.())(),
    (async () => flushProvider(trace.getTracerProvider()))(),
    (async () => flushProvider(metrics.getMeterProvider()))(),
  ].map((p) => p.catch(() => undefined));
  let timer: NodeJS.Timeout | undefined;
  // Before a fatal exit the timer must hold the loop open: with a flush that never settles the
  // loop would drain and the process end on its own, skipping our exit. Otherwise (a logged
  // rejection) it must not delay a process that is finishing normally.
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    if (!keepAlive) timer.unref();
  });
  await Promise.race([Promise.all(work), deadline]);
  clearTimeout(timer);
}

const ACTIVE = Symbol.for('@mem0-stack/errors.processHandlers');

/**
 * Installs `uncaughtException` and `unhandledRejection` handlers that record the classified
 * error (log line, span, `app.errors`), flush telemetry (bounded by `flushTimeoutMs`) and,
 * for uncaught exceptions, exit with a non-zero code. Returns a function that removes them.
 * Calling it again replaces the handlers of the earlier call.
 * @example
 * import { shutdown } from '@mem0-stack/otel';
 * installProcessHandlers({ flush: shutdown });
 */
export function installProcessHandlers(options: ProcessHandlerOptions = {}): () => void {
  const timeoutMs = options.flushTimeoutMs ?? 5000;
  const exitCode = options.exitCode ?? 1;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let exiting = false;

  const fatal = (err: unknown, origin: string): void => {
    if (exiting) {
      // A second failure while flushing: do not wait any longer.
      exit(exitCode);
      return;
    }
    exiting = true;
    // Even if something ends the process before exit() runs, it must not end with 0.
    process.exitCode = exitCode;
    const fields = { 'error.origin': origin, 'error.fatal': true };
    // Recorded where it happened (counted, on its span), then rethrown: recordError would skip
    // it, but the exit still needs its own line.
    if (wasRecorded(err)) logError(err, { fields });
    else recordError(err, { fields });
    void flushAll(options.flush, timeoutMs, true).finally(() => exit(exitCode));
  };

  const onUncaught = (err: unknown, origin: string): void => {
    if (options.exitOnUncaughtException === false) {
      recordError(err, { fields: { 'error.origin': origin } });
      return;
    }
    fatal(err, origin);
  };
  const onRejection = (reason: unknown): void => {
    if (options.exitOnUnhandledRejection) {
      fatal(reason, 'unhandledRejection');
      return;
    }
    recordError(reason, { fields: { 'error.origin': 'unhandledRejection' } });
    // Not options.flush: it may shut the SDK down (otel's shutdown), and the process goes on.
    void flushAll(undefined, timeoutMs, false);
  };

  // A second call replaces the first (kept on `process`, so duplicate copies of this package
  // agree): two sets of handlers would log and count every failure twice and race to exit.
  const holder = process as unknown as Record<symbol, (() => void) | undefined>;
  holder[ACTIVE]?.();
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  const uninstall = () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
    if (holder[ACTIVE] === uninstall) holder[ACTIVE] = undefined;
  };
  holder[ACTIVE] = uninstall;
  return uninstall;
}
