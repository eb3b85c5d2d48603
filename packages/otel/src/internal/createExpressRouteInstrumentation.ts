import { context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  isWrapped,
} from '@opentelemetry/instrumentation';
import { getEmitterContext } from './bindRequestEmitters';
import { isMeaningfulSegment, joinRoute, routeSegment } from './expressRoutePath';
import type { ServerRpcMetadata } from './instrumentHttpServer';
import { ownVersion } from './ownVersion';

/** On a request: the meaningful mount paths it is inside right now, joined. */
const kMounts = Symbol('@mem0-stack/otel.expressMounts');
const kMountLayer = Symbol('@mem0-stack/otel.expressMountLayer');

type Next = (err?: unknown) => unknown;
type Handler<This> = (this: This, req: Request, res: unknown, next: Next) => unknown;
type Request = { [kMounts]?: string };
type Layer = {
  handleRequest?: Handler<Layer>;
  handle_request?: Handler<Layer>;
  [kMountLayer]?: true;
};
type Router = { stack?: unknown; use: (...args: unknown[]) => unknown };
type Route = { path?: unknown; dispatch: Handler<Route> };
type ExpressExports = {
  Router?: { prototype?: { route?: unknown } } & Partial<Router>;
  Route?: { prototype?: Partial<Route> };
};

/**
 * The lean replacement for upstream's express instrumentation: no spans, just `http.route` for
 * the server span and the request-duration metric, and the error a route handler failed with.
 * Upstream wraps every layer (middleware, routers, routes) and walks a per-request path stack
 * in each of them; here two functions are wrapped once: `Route#dispatch`, which runs only for
 * the matched route, and `Router#use`, which marks the few layers mounted on a path so the
 * mount path (`/api` of `app.use('/api', router)`) joins the route while the request is inside.
 * Express 4 and 5 (the `router` package) alike, under `--require` and `--import`.
 *
 * @example
 * const express = createExpressRouteInstrumentation(); // before express is loaded
 * // GET /api/users/7 served by app.use('/api', router); router.get('/users/:id', …)
 * // → server span "GET /api/users/:id", http.route "/api/users/:id"
 * express.disable();
 */
export function createExpressRouteInstrumentation(): Instrumentation {
  return new ExpressRouteInstrumentation();
}

class ExpressRouteInstrumentation extends InstrumentationBase {
  constructor() {
    super('@mem0-stack/otel/express-route', ownVersion(), {});
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        'express',
        ['>=4.0.0 <6'],
        (exports: ExpressExports) => {
          const { router, route } = prototypesOf(exports);
          if (!router || !route) {
            this._diag.warn('express: Router#use or Route#dispatch not found; http.route is not recorded');
            return exports;
          }
          if (isWrapped(router.use)) this._unwrap(router, 'use');
          this._wrap(router, 'use', wrapUse);
          if (isWrapped(route.dispatch)) this._unwrap(route, 'dispatch');
          this._wrap(route, 'dispatch', wrapDispatch);
          return exports;
        },
        (exports?: ExpressExports) => {
          if (exports === undefined) return;
          const { router, route } = prototypesOf(exports);
          if (router) this._unwrap(router, 'use');
          if (route) this._unwrap(route, 'dispatch');
        },
      ),
    ];
  }
}

function prototypesOf(exports: ExpressExports): { router?: Router; route?: Route } {
  // express 5 exports the `router` package's class; express 4 its router prototype object.
  const R = exports.Router;
  const router = (typeof R?.prototype?.route === 'function' ? R.prototype : R) as Partial<Router> | undefined;
  const route = exports.Route?.prototype;
  return {
    router: typeof router?.use === 'function' ? (router as Router) : undefined,
    route: typeof route?.dispatch === 'function' ? (route as Route) : undefined,
  };
}

function wrapUse(original: Router['use']): Router['use'] {
  return function use(this: Router, ...args: unknown[]) {
    const stack = this.stack;
    const before = Array.isArray(stack) ? stack.length : 0;
    const result = original.apply(this, args);
    try {
      const segment = routeSegment(mountPath(args));
      if (isMeaningfulSegment(segment) && Array.isArray(this.stack)) {
        for (let i = before; i < this.stack.length; i++) markMount(this.stack[i] as Layer, segment);
      }
    } catch {
      // an odd argument is express's to reject, not ours
    }
    return result;
  };
}

/** The path argument of `use`, by the router's own rule: a leading non-function (or array of them). */
function mountPath(args: unknown[]): unknown {
  let arg = args[0];
  while (Array.isArray(arg) && arg.length !== 0) arg = arg[0];
  return typeof arg === 'function' ? undefined : args[0];
}

/**
 * While a request is inside this layer (a router, a mounted app, middleware on a path), its
 * path is part of the route. Only layers on a meaningful path get this, so a request pays
 * for the mounts it actually passes through, usually none or one.
 */
function markMount(layer: Layer, segment: string): void {
  if (layer === null || typeof layer !== 'object' || layer[kMountLayer]) return;
  const name = typeof layer.handleRequest === 'function' ? 'handleRequest' : 'handle_request';
  if (typeof layer[name] !== 'function') return;
  layer[kMountLayer] = true;
  // An own property, so layer.handle (a router with its stack, an app) stays as it is.
  layer[name] = function mounted(this: Layer, req, res, next) {
    const original = (Object.getPrototypeOf(this) as Layer)[name] as Handler<Layer>;
    const outer = req[kMounts];
    req[kMounts] = outer === undefined ? segment : outer + segment;
    return original.call(this, req, res, function leaveMount(err?: unknown) {
      req[kMounts] = outer;
      return next(err);
    });
  };
}

function wrapDispatch(original: Route['dispatch']): Route['dispatch'] {
  // Three parameters: express 4 skips handlers whose length is not 3.
  return function dispatch(this: Route, req, res, done) {
    let slot: ServerRpcMetadata | undefined;
    let route: string | undefined;
    let outer: string | undefined;
    try {
      slot = routeSlotOf(req);
      if (slot !== undefined) {
        outer = slot.route;
        route = joinRoute(req[kMounts], routeSegment(this.path));
        slot.route = route;
      }
    } catch {
      slot = undefined;
    }
    if (slot === undefined) return original.call(this, req, res, done);
    const s = slot;
    return original.call(this, req, res, function leaveRoute(err?: unknown) {
      if (!err || err === 'route' || err === 'router') {
        // The route passed the request on: it did not serve it, unless it answered first
        // (`res.json(x); next()` hands over to post-response middleware).
        if (s.route === route && !headersSent(res)) s.route = outer;
      } else if (s.error === undefined) {
        s.error = err;
      }
      return done(err);
    });
  };
}

function headersSent(res: unknown): boolean {
  return (res as { headersSent?: unknown } | null)?.headersSent === true;
}

function routeSlotOf(req: object): ServerRpcMetadata | undefined {
  // The request's own context first: it holds even where a callback lost the active one.
  const rpc = getRPCMetadata(getEmitterContext(req) ?? context.active());
  return rpc?.type === RPCType.HTTP ? (rpc as ServerRpcMetadata) : undefined;
}
