import type { ExecuteContext } from '../types';
import { Scope } from './scope';

/** Whether the call behind `ctx` has been aborted, without creating an AbortController. */
export function isAborted(ctx: ExecuteContext): boolean {
  return ctx instanceof Scope ? ctx.aborted : ctx.signal.aborted;
}

/** The abort reason of `ctx`. */
export function abortReason(ctx: ExecuteContext): unknown {
  return ctx instanceof Scope ? ctx.reason : ctx.signal.reason;
}

/** `ctx.onAbort`, falling back to the signal for contexts from foreign policies. */
export function onAbort(ctx: ExecuteContext, listener: (reason: unknown) => void): () => void {
  if (typeof (ctx as Partial<ExecuteContext>).onAbort === 'function') return ctx.onAbort(listener);
  const signal = ctx.signal;
  const l = () => listener(signal.reason);
  signal.addEventListener('abort', l, { once: true });
  return () => signal.removeEventListener('abort', l);
}
