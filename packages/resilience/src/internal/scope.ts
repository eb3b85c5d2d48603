import type { ExecuteContext } from '../types';

export type AbortListener = (reason: unknown) => void;

const noop = (): void => {};

/**
 * The per-call cancellation token behind `ExecuteContext`. It is a plain object until someone
 * reads `signal`: only then is an AbortController created. Policies talk to each other through
 * `addListener`, which costs an array push, not an AbortController and an event listener.
 */
export class Scope implements ExecuteContext {
  attempt = 1;
  idempotent: boolean | undefined;
  aborted = false;
  reason: unknown = undefined;
  /**
   * False for a root that nothing can abort (no caller signal, no deadline): children skip
   * registering on it, which keeps the common path free of listener bookkeeping.
   */
  cancellable: boolean;
  private ctrl: AbortController | undefined = undefined;
  private external: AbortSignal | undefined;
  private listeners: AbortListener[] | undefined = undefined;
  private externalListener: (() => void) | undefined = undefined;

  constructor(external?: AbortSignal, idempotent?: boolean) {
    this.idempotent = idempotent;
    this.external = external;
    this.cancellable = external !== undefined;
    if (external !== undefined) {
      if (external.aborted) {
        this.aborted = true;
        this.reason = external.reason;
      } else {
        this.externalListener = () => this.abort(external.reason);
        external.addEventListener('abort', this.externalListener, { once: true });
      }
    }
  }

  get signal(): AbortSignal {
    const c = this.ctrl;
    if (c !== undefined) return c.signal;
    // A root fed by the caller's signal aborts only when that signal does: hand it out as is.
    if (this.external !== undefined) return this.external;
    const created = new AbortController();
    this.ctrl = created;
    if (this.aborted) created.abort(this.reason);
    return created.signal;
  }

  onAbort(listener: AbortListener): () => void {
    if (this.aborted) {
      listener(this.reason);
      return noop;
    }
    let called = false;
    const once: AbortListener = (r) => {
      if (called) return;
      called = true;
      listener(r);
    };
    this.addListener(once);
    return () => this.removeListener(once);
  }

  addListener(listener: AbortListener): void {
    if (this.listeners === undefined) this.listeners = [listener];
    else this.listeners.push(listener);
  }

  removeListener(listener: AbortListener): void {
    const ls = this.listeners;
    if (ls === undefined) return;
    const i = ls.lastIndexOf(listener);
    if (i >= 0) ls.splice(i, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.onAborted(reason);
    const c = this.ctrl;
    if (c !== undefined) c.abort(reason);
    const ls = this.listeners;
    this.listeners = undefined;
    if (ls !== undefined) {
      for (const l of ls) {
        try {
          l(reason);
        } catch {
          // A listener that throws must not stop the others (or the abort itself).
        }
      }
    }
  }

  /** Subclass hook, runs before listeners. */
  protected onAborted(_reason: unknown): void {}

  /** Detaches from the caller's signal once the call is over. */
  dispose(): void {
    const l = this.externalListener;
    if (l !== undefined && this.external !== undefined) {
      this.external.removeEventListener('abort', l);
      this.externalListener = undefined;
    }
    this.listeners = undefined;
  }
}

/** A scope that follows its parent's aborts (and may abort on its own, e.g. at a deadline). */
export class ChildScope extends Scope {
  private parentListener: AbortListener | undefined = undefined;

  constructor(readonly parent: Scope) {
    super(undefined, parent.idempotent);
    this.attempt = parent.attempt;
    this.cancellable = true;
    if (parent.aborted) {
      this.abort(parent.reason);
    } else if (parent.cancellable) {
      const l: AbortListener = (r) => this.abort(r);
      this.parentListener = l;
      parent.addListener(l);
    }
  }

  /** Stops following the parent. */
  detach(): void {
    const l = this.parentListener;
    if (l !== undefined) {
      this.parentListener = undefined;
      this.parent.removeListener(l);
    }
  }
}

/**
 * Rejects as soon as `scope` aborts, even if `p` never settles (a callee that ignores its
 * signal). Only used on cancellable scopes, so the common path pays nothing.
 */
export function raceAbort<T>(p: PromiseLike<T>, scope: Scope): Promise<T> {
  if (scope.aborted) return Promise.reject(scope.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort: AbortListener = (r) => reject(r);
    scope.addListener(onAbort);
    p.then(
      (v) => {
        scope.removeListener(onAbort);
        resolve(v);
      },
      (e) => {
        scope.removeListener(onAbort);
        reject(e);
      },
    );
  });
}

/** Runs `fn`, turning a synchronous throw into a rejection. */
export function invoke<T>(fn: (s: Scope) => PromiseLike<T> | T, scope: Scope): Promise<T> {
  try {
    const r = fn(scope);
    return r instanceof Promise ? r : Promise.resolve(r);
  } catch (err) {
    return Promise.reject(err);
  }
}
