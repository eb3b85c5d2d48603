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
      return new RedisInstrumentation({ dbStatementSerializer: redisStatement });
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
