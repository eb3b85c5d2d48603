import type { Diag } from './createDiag';

export type ProcessHookTargets = {
  diag: Diag;
  timeoutMillis: number;
  /** Anything queued that a flush would send? */
  hasPending(): boolean;
  /** Send what is queued (the app keeps running). */
  flush(opts: { exiting: boolean }): Promise<void>;
  /** Final flush and stop (the process is about to end). */
  shutdown(): Promise<void>;
  stopRetrying(): void;
  /** Cancel exports still in flight after the deadline, so nothing holds the process. */
  abort(): void;
};

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
// Flushes on 'beforeExit' per process. Each flush that sends something revives the event loop,
// so 'beforeExit' comes again: an app whose own 'beforeExit' handler records a span or a log
// line every time would otherwise be kept alive forever (flush, record, flush, ...).
const MAX_EXIT_FLUSHES = 3;

/** Resolves true when `p` did not settle within `ms`. Never rejects. */
export function withDeadline(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(true), ms);
    t.unref();
    p.then(
      () => {
        clearTimeout(t);
        resolve(false);
      },
      () => {
        clearTimeout(t);
        resolve(false);
      },
    );
  });
}

/**
 * SIGTERM/SIGINT: flush within the deadline. If no one else listens for that signal, shut
 * down and re-raise it, so the process ends exactly as it would have without us (the
 * upstream register swallows SIGTERM and the process never exits). If the application has
 * its own handler, it owns the exit: we only flush.
 * beforeExit: flush what is queued, so short scripts lose nothing and still exit at once.
 */
export function installProcessHooks(t: ProcessHookTargets): () => void {
  let signalled = false;
  let exitFlushing = false;
  let exitFlushes = 0;

  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const sig of SIGNALS) {
    const handler = () => {
      const others = () =>
        Math.max(0, process.listeners(sig).filter((l) => l !== handler).length - signalExitListeners());
      if (signalled) {
        // A second Ctrl-C while flushing: stop waiting.
        if (others() === 0) reRaise(sig, handler);
        return;
      }
      signalled = true;
      t.stopRetrying();
      const alone = others() === 0;
      const work = alone ? t.shutdown() : t.flush({ exiting: false });
      void withDeadline(work, t.timeoutMillis).then((late) => {
        if (late) {
          t.diag.warn(
            `telemetry flush did not finish within ${t.timeoutMillis} ms after ${sig}; giving up on it.`,
          );
          t.abort();
        }
        signalled = false;
        // Decided when the signal arrived: an app handler registered with process.once() has
        // removed itself by now, yet it still owns the exit (it may be draining).
        if (alone) reRaise(sig, handler);
      });
    };
    handlers.set(sig, handler);
    process.on(sig, handler);
  }

  const onBeforeExit = () => {
    if (exitFlushing) return;
    if (exitFlushes > 0 && (!t.hasPending() || exitFlushes >= MAX_EXIT_FLUSHES)) return;
    exitFlushing = true;
    exitFlushes++;
    t.stopRetrying();
    void withDeadline(t.flush({ exiting: true }), t.timeoutMillis).then((late) => {
      exitFlushing = false;
      if (late) {
        t.diag.warn(
          `telemetry flush at exit did not finish within ${t.timeoutMillis} ms; dropping the rest.`,
        );
        t.abort();
      }
    });
  };
  process.on('beforeExit', onBeforeExit);

  return () => {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
    process.removeListener('beforeExit', onBeforeExit);
  };
}

/**
 * SIGTERM/SIGINT listeners of signal-exit (v3 and v4; loaded by execa, write-file-atomic,
 * proper-lockfile, ora…), one per loaded copy, each counted on its shared emitter. Like ours,
 * they exit the process only when no other listener is left, so counting them as the app's
 * would leave both waiting for the other and the process would never end.
 */
function signalExitListeners(): number {
  const v3 = (process as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__?.count;
  const v4 = (globalThis as { [k: symbol]: { count?: unknown } | undefined })[
    Symbol.for('signal-exit emitter')
  ]?.count;
  return (typeof v3 === 'number' ? v3 : 0) + (typeof v4 === 'number' ? v4 : 0);
}

function reRaise(sig: NodeJS.Signals, handler: () => void): void {
  process.removeListener(sig, handler);
  process.kill(process.pid, sig);
}
