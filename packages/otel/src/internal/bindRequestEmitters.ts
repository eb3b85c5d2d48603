import type { Context } from '@opentelemetry/api';
import { context } from '@opentelemetry/api';
import { getRPCMetadata } from '@opentelemetry/core';

const kCtx = Symbol('@mem0-stack/otel.requestContext');
/** The request's RPC metadata: present in its context and in every context derived from it. */
const kScope = Symbol('@mem0-stack/otel.requestScope');

/** Called once when the object emits 'close' (the server span's end), before its listeners. */
const kOnClose = Symbol('@mem0-stack/otel.onClose');

/** `_events`: EventEmitter's own listener table (null-prototype object, one key per event). */
type Bindable = {
  [kCtx]?: Context;
  [kScope]?: unknown;
  [kOnClose]?: (() => void) | undefined;
  _events?: Record<string | symbol, unknown>;
};
type Emit = (this: Bindable, event: string | symbol, ...args: unknown[]) => boolean;

let installed = false;

/**
 * Events of `req`/`res` (a body arriving, 'finish', 'close') come from socket callbacks,
 * outside the request's context, so their listeners (body parsers, on-finished loggers) would
 * lose the trace. The context manager's `bind(ctx, emitter)` fixes that by patching eight
 * methods on every request and response object and wrapping every listener; here `emit` is
 * patched once on the two prototypes and a request costs one symbol property per object:
 * an event is emitted inside the request's context when it arrives from outside it.
 *
 * An event emitted from within the request's own context tree (a child span active when the
 * handler calls `req.read()` or `res.end()`) keeps that context, as a plain emitter would: the
 * RPC metadata object of the request, which every context derived from it carries, tells the
 * two apart at the cost of one lookup.
 */
export function installRequestEmitterBinding(): void {
  if (installed) return;
  installed = true;
  const http = require('node:http') as typeof import('node:http');
  for (const proto of [
    http.IncomingMessage.prototype as unknown as { emit: Emit },
    http.ServerResponse.prototype as unknown as { emit: Emit },
  ]) {
    const original = proto.emit;
    proto.emit = function emit(this: Bindable, event: string | symbol) {
      if (event === 'close') {
        const onClose = this[kOnClose];
        if (onClose !== undefined) {
          this[kOnClose] = undefined;
          onClose();
        }
      }
      const ctx = this[kCtx];
      // Streams emit many events nobody listens to ('resume', 'prefinish', …): no context
      // switch for those.
      if (ctx !== undefined && this._events?.[event] !== undefined) {
        const active = context.active();
        if (active !== ctx) {
          const scope = this[kScope];
          if (scope === undefined || getRPCMetadata(active) !== scope) {
            // biome-ignore lint/complexity/noArguments: forwards the event and its arguments untouched
            return context.with(ctx, emitWith, undefined, original, this, arguments);
          }
        }
      }
      // biome-ignore lint/complexity/noArguments: forwards the event and its arguments untouched
      return original.apply(this, arguments as unknown as Parameters<Emit>);
    } as Emit;
  }
}

// No thisArg for context.with: it would bind a fresh function per event.
function emitWith(original: Emit, self: Bindable, args: IArguments): boolean {
  return original.apply(self, args as unknown as Parameters<Emit>);
}

/**
 * Makes events of `emitter` (a request or response) reach their listeners in `ctx`.
 * @example setEmitterContext(req, trace.setSpan(context.active(), span));
 */
export function setEmitterContext(emitter: object, ctx: Context): void {
  const e = emitter as Bindable;
  e[kCtx] = ctx;
  e[kScope] = getRPCMetadata(ctx);
}

/**
 * Runs `fn` once, when `emitter` (a request or response) emits 'close', before its listeners.
 * Unlike `once('close', fn)` it allocates no listener wrapper and adds no listener, so the
 * close event, which nobody else may listen to, needs no context switch either. `fn` must not
 * throw (the caller catches its own failures).
 * @example setCloseHook(res, () => span.end());
 */
export function setCloseHook(emitter: object, fn: () => void): void {
  (emitter as Bindable)[kOnClose] = fn;
}

/**
 * The context {@link setEmitterContext} gave `emitter`, if any.
 * @example const ctx = getEmitterContext(req) ?? context.active();
 */
export function getEmitterContext(emitter: object): Context | undefined {
  return (emitter as Bindable)[kCtx];
}
