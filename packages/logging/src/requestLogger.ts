import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { isValidCorrelationId, newCorrelationId, runInScope } from './correlation';
import type { Logger } from './createLogger';
import { getLogger } from './getLogger';

/** The parts of an express request we read; plain `http` requests fit too. */
export type RequestLike = IncomingMessage & {
  route?: { path?: unknown };
  baseUrl?: string;
  originalUrl?: string;
};

/** Options of {@link requestLogger} and {@link wrapHttpHandler}. */
export type RequestLoggerOptions = {
  /** Logger to write to. Default: {@link getLogger}(). */
  logger?: Logger;
  /** Paths (exact strings or patterns) not logged. Default: /health, /healthz, /ready, /readyz, /live, /livez, /ping. */
  ignorePaths?: ReadonlyArray<string | RegExp>;
  /** Custom skip decision (replaces `ignorePaths`). Skipped requests still get a correlation id and headers. */
  skip?: (req: RequestLike) => boolean;
  /** Route template for a request when the framework has none (plain http). Default: the path with id-like segments replaced by `:id`. */
  route?: (req: RequestLike) => string | undefined;
  /** Accept a valid incoming x-correlation-id / x-request-id when no span is active. Default true. */
  trustIncomingId?: boolean;
};

const DEFAULT_IGNORE = ['/health', '/healthz', '/ready', '/readyz', '/live', '/livez', '/ping'];

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function pathOf(req: RequestLike): string {
  const url = req.originalUrl ?? req.url ?? '/';
  const q = url.indexOf('?');
  return q >= 0 ? url.slice(0, q) : url;
}

const ID_SEGMENT =
  /^(?:\d+|[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9_-]{24,})$/i;

/**
 * A low-cardinality stand-in for a route template when there is no router: numeric,
 * hex, UUID and long opaque segments become `:id` (`/users/42/orders` → `/users/:id/orders`).
 * @example templatePath('/users/42?x=1') // '/users/:id'
 */
export function templatePath(path: string): string {
  const q = path.indexOf('?');
  const p = q >= 0 ? path.slice(0, q) : path;
  return p
    .split('/')
    .map((seg) => (seg && ID_SEGMENT.test(seg) ? ':id' : seg))
    .join('/');
}

function routeTemplate(route: RequestLike['route'], baseUrl: string | undefined): string | undefined {
  const path = route?.path;
  if (path === undefined || path === null) return undefined;
  return `${baseUrl ?? ''}${typeof path === 'string' ? path : String(path)}`;
}

/** The route template captured when express matched the route (see {@link trackRoute}). */
const MATCHED_ROUTE = Symbol('@mem0-stack/logging.matchedRoute');
type TrackedRequest = RequestLike & { [MATCHED_ROUTE]?: string };

function expressRoute(req: RequestLike): string | undefined {
  return (req as TrackedRequest)[MATCHED_ROUTE] ?? routeTemplate(req.route, req.baseUrl);
}

/**
 * Express restores `req.baseUrl` when a mounted router hands an error (or an unmatched
 * request) back to the app, but leaves `req.route` set: read at completion, a route of
 * `app.use('/users', router)` answered by an app-level error handler would be `/:id`.
 * So the template is taken when the router sets `req.route`, with the baseUrl of that moment.
 */
function trackRoute(req: RequestLike): void {
  try {
    let current = req.route;
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => current,
      set(value: RequestLike['route']) {
        current = value;
        const t = routeTemplate(value, req.baseUrl);
        if (t !== undefined) (req as TrackedRequest)[MATCHED_ROUTE] = t;
      },
    });
  } catch {
    // a non-extensible request: fall back to reading req.route at completion
  }
}

function chunkSize(chunk: unknown, encoding: unknown): number {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0;
  if (typeof chunk === 'string')
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (ArrayBuffer.isView(chunk)) return chunk.byteLength;
  return 0;
}

type Settings = Required<Pick<RequestLoggerOptions, 'trustIncomingId'>> & {
  logger: Logger | undefined;
  skip: (req: RequestLike) => boolean;
  route: (req: RequestLike) => string | undefined;
};

function settings(
  options: RequestLoggerOptions,
  fallbackRoute: (req: RequestLike) => string | undefined,
): Settings {
  const ignore = options.ignorePaths ?? DEFAULT_IGNORE;
  return {
    logger: options.logger,
    trustIncomingId: options.trustIncomingId ?? true,
    skip:
      options.skip ??
      ((req) => {
        const p = pathOf(req);
        return ignore.some((m) => (typeof m === 'string' ? p === m || p === `${m}/` : m.test(p)));
      }),
    route: options.route ?? fallbackRoute,
  };
}

/**
 * Opens the correlation scope, sets response headers, and logs one line when the response
 * completes. `run` continues the request inside the scope.
 */
function begin(req: RequestLike, res: ServerResponse, s: Settings, run: () => void): void {
  const start = performance.now();
  const ctx = context.active();
  const span = trace.getSpan(ctx);
  const sc = span?.spanContext();
  const traced = sc !== undefined && isSpanContextValid(sc);
  const incoming = headerValue(req, 'x-correlation-id') ?? headerValue(req, 'x-request-id');
  const incomingValid = s.trustIncomingId && isValidCorrelationId(incoming);
  const id = traced ? sc.traceId : incomingValid ? (incoming as string) : newCorrelationId();

  try {
    if (!res.headersSent) {
      res.setHeader('x-correlation-id', id);
      if (traced) {
        res.setHeader('traceresponse', `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags & 1 ? '01' : '00'}`);
      }
    }
  } catch {
    // headers are a courtesy; never fail the request over them
  }

  if (!s.skip(req)) {
    let bytes = 0;
    const write = res.write;
    const end = res.end;
    res.write = function countedWrite(this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      bytes += chunkSize(chunk, rest[0]);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof res.write;
    res.end = function countedEnd(this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
      bytes += chunkSize(chunk, rest[0]);
      return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
    } as typeof res.end;

    let logged = false;
    const finish = (): void => {
      if (logged) return;
      logged = true;
      res.removeListener('finish', finish);
      res.removeListener('close', finish);
      try {
        const status = res.statusCode;
        const aborted = !res.writableFinished;
        // Node sends no body for HEAD, 1xx, 204 and 304, whatever was passed to write()/end().
        if (req.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200))
          bytes = 0;
        const route = s.route(req);
        const level = status >= 500 ? 'error' : status >= 400 || aborted ? 'warn' : 'info';
        const record: Record<string, unknown> = {
          level,
          message: `${req.method ?? 'GET'} ${route ?? '(unmatched)'} ${status}`,
          'http.request.method': req.method,
          'http.route': route,
          'http.response.status_code': status,
          duration_ms: Math.round((performance.now() - start) * 1000) / 1000,
          'http.response.body.size': bytes,
          'user_agent.original': headerValue(req, 'user-agent'),
        };
        if (aborted) record['http.aborted'] = true;
        if (incomingValid && incoming !== id) record['http.request.correlation_id'] = incoming;
        // 'finish' fires from socket callbacks; log inside the request's own context so the
        // line carries its trace and correlation ids.
        runInScope(
          { id },
          () => (s.logger ?? getLogger()).log(record as { level: string; message: string }),
          ctx,
        );
      } catch {
        // a logging failure must not surface in the response path
      }
    };
    res.once('finish', finish);
    res.once('close', finish);
  }

  runInScope({ id }, run);
}

/** An express-compatible middleware signature without depending on express types. */
export type RequestHandler = (req: RequestLike, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * Express middleware: gives every request a correlation scope (the trace id when a span is
 * active, else a valid incoming `x-correlation-id`/`x-request-id`, else a generated id),
 * sets `x-correlation-id` and W3C `traceresponse` headers, and logs one line per request at
 * completion with method, route template, status, `duration_ms`, bytes and user agent —
 * error for 5xx, warn for 4xx, info otherwise. Health routes are not logged.
 * @example app.use(requestLogger()); app.get('/users/:id', handler);
 */
export function requestLogger(options: RequestLoggerOptions = {}): RequestHandler {
  const s = settings(options, expressRoute);
  return function mem0RequestLogger(req, res, next) {
    if (options.route === undefined) trackRoute(req);
    begin(req, res, s, () => next());
  };
}

/**
 * The same for a plain `http` handler: wraps it so each request runs in a correlation scope
 * and is logged at completion. Routes are templated from the path (ids → `:id`) unless a
 * `route` option says better.
 * @example http.createServer(wrapHttpHandler((req, res) => res.end('ok'))).listen(3000);
 */
export function wrapHttpHandler<Req extends IncomingMessage, Res extends ServerResponse>(
  handler: (req: Req, res: Res) => unknown,
  options: RequestLoggerOptions = {},
): (req: Req, res: Res) => void {
  const s = settings(options, (req) => templatePath(pathOf(req)));
  return (req, res) => {
    begin(req as RequestLike, res, s, () => {
      const r = handler(req, res);
      // A rejected async handler must not become an unhandled rejection that kills the app.
      if (r && typeof (r as Promise<unknown>).catch === 'function') {
        (r as Promise<unknown>).catch((err: unknown) => {
          (s.logger ?? getLogger()).error('request handler failed', { error: err });
          if (!res.headersSent) {
            res.statusCode = 500;
            res.end();
          } else if (!res.writableEnded) {
            // Cut mid-stream: abort so the client sees a truncated response, not a complete one.
            // A response already ended is left to finish: destroying would drop its buffered tail.
            res.destroy();
          }
        });
      }
    });
  };
}
