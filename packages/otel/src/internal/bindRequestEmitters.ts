import type { Context } from '@opentelemetry/api';
import { context } from '@opentelemetry/api';

const kCtx = Symbol('@mem0-stack/otel.requestContext');
const kBound = Symbol('@mem0-stack/otel.boundListeners');
const ADD = ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener'] as const;
const REMOVE = ['removeListener', 'off'] as const;

type Listener = (...args: unknown[]) => unknown;
/** event, listener as added, the bound wrapper actually registered; flattened triples. */
type Bound = Array<string | symbol | Listener>;
type Bindable = {
  [kCtx]?: Context;
  [kBound]?: Bound;
};
type EmitterProto = Record<string, unknown>;

let installed = false;
let adding = false;

/**
 * Listeners that a request handler adds to `req`/`res` (body parsers' 'data'/'end',
 * 'finish' loggers) run from socket callbacks, outside the request's context, unless bound.
 * The context manager's `bind(ctx, emitter)` does that by patching eight methods on every
 * request and response object (eight closures and a hidden-class change per object, per
 * request). Here the methods are patched once on the prototypes, and a request costs one
 * symbol property per object; listeners are only wrapped when one is actually added. The
 * wrappers are remembered in one flat array per object (a request adds about ten): a Map of
 * WeakMaps per object cost more to build and collect than the listeners themselves.
 */
export function installRequestEmitterBinding(): void {
  if (installed) return;
  installed = true;
  const http = require('node:http') as typeof import('node:http');
  for (const proto of [
    http.IncomingMessage.prototype as unknown as EmitterProto,
    http.ServerResponse.prototype as unknown as EmitterProto,
  ]) {
    for (const name of ADD) {
      const original = proto[name] as (this: Bindable, event: string | symbol, l: Listener) => unknown;
      proto[name] = function (this: Bindable, event: string | symbol, listener: Listener) {
        const ctx = this[kCtx];
        // `once` registers through `on`: wrap only at the outermost call.
        if (ctx === undefined || adding || typeof listener !== 'function')
          return original.call(this, event, listener);
        const bound = function (this: unknown, ...args: unknown[]) {
          return context.with(ctx, listener, this, ...args);
        };
        const list = this[kBound];
        if (list === undefined) this[kBound] = [event, listener, bound];
        else list.push(event, listener, bound);
        adding = true;
        try {
          return original.call(this, event, bound);
        } finally {
          adding = false;
        }
      };
    }
    for (const name of REMOVE) {
      const original = proto[name] as (this: Bindable, event: string | symbol, l: Listener) => unknown;
      proto[name] = function (this: Bindable, event: string | symbol, listener: Listener) {
        const list = this[kBound];
        if (list !== undefined) {
          // The most recent registration first, as EventEmitter removes the last added copy.
          for (let i = list.length - 3; i >= 0; i -= 3) {
            if (list[i + 1] === listener && list[i] === event) {
              const bound = list[i + 2] as Listener;
              list.splice(i, 3);
              return original.call(this, event, bound);
            }
          }
        }
        return original.call(this, event, listener);
      };
    }
  }
}

/** Makes listeners added to `emitter` from now on run in `ctx`. */
export function setEmitterContext(emitter: object, ctx: Context): void {
  (emitter as Bindable)[kCtx] = ctx;
}
