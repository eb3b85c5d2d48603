import { type Context, context } from '@opentelemetry/api';
import type { CuratedInstrumentation } from '../readConfig';
import { isOwnRequest } from './asOwnRequest';
import { createPgInstrumentation } from './createPgInstrumentation';
import { instrumentHttpServer } from './instrumentHttpServer';
import { redisStatement } from './redisStatement';

/** What activating an entry returns: something that can be switched off again. */
export type Activated = { disable(): void };

export type CatalogEntry = {
  name: CuratedInstrumentation;
  /** Module names whose first `require` activates this instrumentation. */
  triggers: string[];
  /** Packages that must be installed for the instrumentation to matter (none for built-ins). */
  installed?: string[];
  create(ctx: InstrumentationContext): Activated;
  /** What MEM0_OTEL_SPAN_DETAIL changes for it, as the doctor reports it. */
  detail?: Record<InstrumentationContext['spanDetail'], string>;
};

export type InstrumentationContext = {
  ignorePaths: readonly string[];
  samplerReadsAttributes: boolean;
  spanDetail: 'lean' | 'full';
};

/** True for /health, /health/live, /health?x=1 when /health is ignored. */
export function isIgnoredPath(url: string | undefined, ignorePaths: readonly string[]): boolean {
  if (!url) return false;
  let end = url.length;
  const q = url.indexOf('?');
  if (q !== -1) end = q;
  const h = url.indexOf('#');
  if (h !== -1 && h < end) end = h;
  for (const p of ignorePaths) {
    if (url.startsWith(p) && (end === p.length || (end > p.length && url.charCodeAt(p.length) === 47)))
      return true;
  }
  return false;
}

/**
 * The curated set. Each instrumentation package is required only when its target module
 * is first loaded (or, under --import, when the target is installed), so an app that never
 * touches pg never pays for the pg instrumentation.
 */
export const CATALOG: readonly CatalogEntry[] = [
  {
    name: 'http',
    triggers: ['http', 'node:http', 'https', 'node:https'],
    create: ({ ignorePaths, samplerReadsAttributes }) => {
      // Incoming requests: our lean server instrumentation (the per-request hot path).
      // Outgoing requests: the upstream instrumentation, unchanged.
      const unpatchServer = instrumentHttpServer({ ignorePaths, samplerReadsAttributes });
      const { HttpInstrumentation } =
        require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
      const client = new HttpInstrumentation({
        disableIncomingRequestInstrumentation: true,
        ignoreOutgoingRequestHook: isOwnRequest,
      });
      return {
        disable() {
          unpatchServer();
          client.disable();
        },
      };
    },
  },
  {
    name: 'undici',
    // fetch is built in; activation is triggered by the first request (see activateInstrumentations).
    triggers: ['undici'],
    create: () => {
      const { UndiciInstrumentation } =
        require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
      return new UndiciInstrumentation();
    },
  },
  {
    name: 'express',
    triggers: ['express'],
    installed: ['express'],
    detail: {
      lean: 'http.route only, no express spans',
      full: 'upstream: a span per middleware, router and handler',
    },
    create: ({ spanDetail }) => {
      // Lean: no express spans, only the route (server span name, http.route, the duration
      // metric) and a route handler's error. A span per middleware or handler mostly measures
      // microseconds, costs as much to record and export as a query's, and upstream's
      // instrumentation wraps and walks every layer on every request even for ignored ones.
      if (spanDetail === 'lean') {
        const { createExpressRouteInstrumentation } =
          require('./createExpressRouteInstrumentation') as typeof import('./createExpressRouteInstrumentation');
        return createExpressRouteInstrumentation();
      }
      const { ExpressInstrumentation } =
        require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
      return new ExpressInstrumentation();
    },
  },
  {
    name: 'pg',
    triggers: ['pg', 'pg-pool'],
    installed: ['pg'],
    detail: {
      lean: 'no pool checkout spans; pool metrics read at collection',
      full: 'a span per pool checkout too; pool metrics updated on every pool event',
    },
    create: ({ spanDetail }) =>
      // Bound values never leave the process; db.query.text is sanitised again at export.
      // Lean: no span per pool checkout (`pool.query` makes one per query), and the pool
      // metrics (db.client.connection.*) read at collection instead of on every pool event;
      // they still show waiting and exhaustion. Full: upstream's behaviour for both.
      createPgInstrumentation(
        { enhancedDatabaseReporting: false, ignoreConnectSpans: spanDetail === 'lean' },
        spanDetail === 'lean' ? 'observed' : 'per-event',
      ),
  },
  {
    name: 'redis',
    triggers: ['redis', '@redis/client', '@node-redis/client'],
    installed: ['redis', '@redis/client', '@node-redis/client'],
    create: () => {
      const { RedisInstrumentation } =
        require('@opentelemetry/instrumentation-redis') as typeof import('@opentelemetry/instrumentation-redis');
      const inst = new RedisInstrumentation({ dbStatementSerializer: redisStatement });
      connectOutsideSpan((inst as unknown as { instrumentationV4_V5?: ConnectPatcher }).instrumentationV4_V5);
      return inst;
    },
  },
  {
    name: 'winston',
    triggers: ['winston'],
    installed: ['winston'],
    create: () => {
      const { WinstonInstrumentation } =
        require('@opentelemetry/instrumentation-winston') as typeof import('@opentelemetry/instrumentation-winston');
      // Log sending on: plain winston loggers reach OTLP. @mem0-stack/logging removes the
      // transport this adds from its own loggers and installs its own bridge instead.
      return new WinstonInstrumentation({ disableLogSending: false, disableLogCorrelation: false });
    },
  },
  {
    name: 'runtime-node',
    triggers: [],
    create: () => {
      const { RuntimeNodeInstrumentation } =
        require('@opentelemetry/instrumentation-runtime-node') as typeof import('@opentelemetry/instrumentation-runtime-node');
      const inst = new RuntimeNodeInstrumentation({ monitoringPrecision: 5000 });
      // Its constructor binds the meter before its collectors exist, so they get no instruments
      // (upstream's registerInstrumentations rebinds afterwards): rebind once they do.
      inst.setMeterProvider(
        (require('@opentelemetry/api') as typeof import('@opentelemetry/api')).metrics.getMeterProvider(),
      );
      return inst;
    },
  },
];

type ConnectFn = (this: unknown, ...args: unknown[]) => unknown;
type ConnectPatcher = { _getPatchedClientConnect?: () => (original: ConnectFn) => ConnectFn };

/**
 * Upstream's node-redis `connect` opens the socket inside the `redis-connect` span's context, so
 * everything the socket later calls back (pub/sub message listeners, 'error'/'reconnecting'
 * handlers, the reconnects themselves) ran in that long-ended span's trace for the life of
 * the client. The span is kept; the connection is opened in the caller's own context, as it
 * would be without instrumentation. Left alone if upstream's internals differ.
 */
function connectOutsideSpan(v4v5: ConnectPatcher | undefined): void {
  const get = v4v5?._getPatchedClientConnect;
  if (v4v5 === undefined || typeof get !== 'function') return;
  v4v5._getPatchedClientConnect = function (this: unknown) {
    const wrap = get.call(this);
    return (original) => {
      // Upstream calls `original` synchronously inside its patched connect.
      let caller: Context | undefined;
      const patched = wrap(function (this: unknown, ...args: unknown[]) {
        return caller === undefined
          ? original.apply(this, args)
          : context.with(caller, original, this, ...args);
      });
      return function connect(this: unknown, ...args: unknown[]) {
        const outer = caller;
        caller = context.active();
        try {
          return patched.apply(this, args);
        } finally {
          caller = outer;
        }
      };
    };
  };
}
