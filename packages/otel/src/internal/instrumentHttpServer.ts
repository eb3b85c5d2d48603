import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Attributes, Context, Histogram, TextMapGetter, Tracer } from '@opentelemetry/api';
import {
  context,
  metrics,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { RPCMetadata } from '@opentelemetry/core';
import { isTracingSuppressed, RPCType, setRPCMetadata, suppressTracing } from '@opentelemetry/core';
import { installRequestEmitterBinding, setCloseHook, setEmitterContext } from './bindRequestEmitters';
import { createFastHistogram, type FastHistogram, fastHistogramsEnabled } from './fastHistogram';
import { isIgnoredPath } from './instrumentationCatalog';
import { ownVersion } from './ownVersion';

const SCOPE = '@mem0-stack/otel/http-server';
const PATCHED = Symbol.for('@mem0-stack/otel.httpServerEmit');
const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'QUERY',
]);
// Semconv's recommended buckets for http.server.request.duration (seconds).
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const headerGetter: TextMapGetter<IncomingMessage['headers']> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/**
 * The RPC metadata in a request's context: framework instrumentations set `route` (express's
 * `http.route`), and ours also `error`, the first error a route handler passed on, which the
 * server span records when it ends.
 * @example const rpc = getRPCMetadata(context.active()) as ServerRpcMetadata | undefined;
 */
export type ServerRpcMetadata = RPCMetadata & { error?: unknown };

type EmitFn = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
type PatchedEmit = EmitFn & { [PATCHED]?: EmitFn };
type ServerProto = { emit: PatchedEmit };

/**
 * Server side of HTTP tracing, written for the request path's cost: one span per request
 * with the stable semantic-convention attributes, W3C context extraction, the RPC metadata
 * slot that framework instrumentations (express) fill with `http.route`, req/res events
 * delivered in the request's context, and the `http.server.request.duration` histogram. The
 * upstream instrumentation does the same work with several times the allocations per
 * request (URL parsing, header capture, per-object emitter patching, attribute hashing),
 * which a small service pays on every request. Outgoing requests stay with the upstream one.
 */
export function instrumentHttpServer(opts: {
  ignorePaths: readonly string[];
  /** True when the sampler may look at start attributes (a custom one): pass them at start. */
  samplerReadsAttributes?: boolean;
}): () => void {
  const tracer: Tracer = trace.getTracer(SCOPE, ownVersion());
  const ignorePaths = opts.ignorePaths;
  const attributesAtStart = opts.samplerReadsAttributes === true;
  let duration: Histogram | undefined;
  let fastDuration: FastHistogram | undefined;
  // Metric attribute sets are few (method × status × route): one object per set.
  const metricAttrCache = new Map<string, Attributes>();
  installRequestEmitterBinding();

  const recordDuration = (
    seconds: number,
    method: string,
    scheme: string,
    status: number,
    route: string | undefined,
    version: string,
  ) => {
    const key = `${method}|${scheme}|${status}|${route ?? ''}|${version}`;
    const build = (): Attributes => {
      const attrs: Attributes = {
        'http.request.method': method,
        'url.scheme': scheme,
        'http.response.status_code': status,
        'network.protocol.version': version,
      };
      if (route !== undefined) attrs['http.route'] = route;
      if (status >= 500) attrs['error.type'] = String(status);
      return attrs;
    };
    if (fastHistogramsEnabled()) {
      fastDuration ??= createFastHistogram({
        name: 'http.server.request.duration',
        description: 'Duration of HTTP server requests.',
        unit: 's',
        boundaries: DURATION_BUCKETS,
        scope: { name: SCOPE, version: ownVersion() },
      });
      fastDuration.record(seconds, key, build);
      return;
    }
    duration ??= metrics.getMeter(SCOPE, ownVersion()).createHistogram('http.server.request.duration', {
      description: 'Duration of HTTP server requests.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    let attrs = metricAttrCache.get(key);
    if (attrs === undefined) {
      attrs = build();
      // Unbounded routes would make this a leak; past a sane size, stop caching.
      if (metricAttrCache.size < 2000) metricAttrCache.set(key, attrs);
    }
    duration.record(seconds, attrs);
  };

  const wrap = (original: EmitFn): PatchedEmit => {
    const patched: PatchedEmit = function (this: unknown, event, ...args) {
      if (event !== 'request') return original.call(this, event, ...args);
      const req = args[0] as IncomingMessage;
      const res = args[1] as ServerResponse;
      const active = context.active();
      if (isTracingSuppressed(active)) return original.call(this, event, ...args);
      const url = req.url ?? '/';
      if (isIgnoredPath(url, ignorePaths)) {
        // Probes: no span, and nothing they trigger (a DB ping) is traced either.
        const quiet = suppressTracing(active);
        setEmitterContext(req, quiet);
        setEmitterContext(res, quiet);
        return context.with(quiet, original, this, event, ...args);
      }
      // Telemetry must never fail a request: if setting up the span throws, serve it untraced.
      let begun: { ctx: Context; finish: (err?: Error) => void } | undefined;
      try {
        begun = beginRequest(req, res, url);
      } catch {
        begun = undefined;
      }
      if (begun === undefined) return original.call(this, event, ...args);
      try {
        return context.with(begun.ctx, original, this, event, ...args);
      } catch (err) {
        begun.finish(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    };
    patched[PATCHED] = original;
    return patched;
  };

  function beginRequest(
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
  ): { ctx: Context; finish: (err?: Error) => void } {
    const startTime = performance.now();
    const rawMethod = req.method ?? 'GET';
    const method = KNOWN_METHODS.has(rawMethod) ? rawMethod : normaliseMethod(rawMethod);
    const socket = req.socket;
    const scheme = (socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    const version = req.httpVersion;
    const headers = req.headers;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const attributes: Attributes = {
      'http.request.method': method,
      'url.scheme': scheme,
      'url.path': path.charCodeAt(0) === 47 /* / */ ? path : withoutAuthority(path),
      'network.protocol.version': version,
    };
    if (q !== -1) attributes['url.query'] = url.slice(q + 1);
    if (method !== rawMethod) attributes['http.request.method_original'] = rawMethod;
    const host = headers.host;
    if (host) {
      const { address, port } = splitHost(host);
      attributes['server.address'] = address;
      attributes['server.port'] = port ?? (scheme === 'https' ? 443 : 80);
    } else if (socket.localPort) {
      attributes['server.port'] = socket.localPort;
    }
    const peer = socket.remoteAddress;
    if (peer) {
      attributes['network.peer.address'] = peer;
      if (socket.remotePort) attributes['network.peer.port'] = socket.remotePort;
    }
    const forwarded = headers['x-forwarded-for'];
    const client = typeof forwarded === 'string' ? forwarded.split(',', 1)[0]?.trim() : undefined;
    if (client || peer) attributes['client.address'] = client || peer;
    const ua = headers['user-agent'];
    if (ua !== undefined) attributes['user_agent.original'] = ua;

    const parent = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
    // Built-in samplers ignore attributes: setting them once after start skips two of the
    // SDK's three validation passes over them.
    const span = attributesAtStart
      ? tracer.startSpan(method, { kind: SpanKind.SERVER, attributes }, parent)
      : tracer.startSpan(method, { kind: SpanKind.SERVER }, parent).setAttributes(attributes);
    const rpc: ServerRpcMetadata = { type: RPCType.HTTP, span };
    const ctx: Context = setRPCMetadata(trace.setSpan(parent, span), rpc);

    let ended = false;
    const finish = (err?: Error) => {
      if (ended) return;
      ended = true;
      try {
        end(err);
      } catch {
        // a failure to record must not surface in the app's event handlers
      }
    };
    const end = (err?: Error) => {
      const status = res.statusCode;
      const route = rpc.route;
      span.setAttribute('http.response.status_code', status);
      if (route !== undefined) {
        span.setAttribute('http.route', route);
        span.updateName(`${method} ${route}`);
      }
      if (err) {
        span.recordException(err);
        span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
        span.setAttribute('error.type', err.name || 'Error');
      } else {
        if (status >= 500) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute('error.type', String(status));
        }
        // What a route handler failed with (express's default handler then answers 500),
        // unless an error middleware (@mem0-stack/errors) already recorded it, redacted.
        const routeError = rpc.error;
        if (routeError !== undefined && !hasExceptionEvent(span))
          span.recordException(routeError instanceof Error ? routeError : String(routeError));
      }
      span.end();
      try {
        recordDuration((performance.now() - startTime) / 1000, method, scheme, status, route, version);
      } catch {
        // metrics never break a request
      }
    };

    setCloseHook(res, finish);
    setEmitterContext(req, ctx);
    setEmitterContext(res, ctx);
    return { ctx, finish };
  }

  const protos: ServerProto[] = [];
  for (const mod of ['node:http', 'node:https']) {
    const proto = (require(mod) as { Server: { prototype: ServerProto } }).Server.prototype;
    if (proto.emit[PATCHED]) continue;
    proto.emit = wrap(proto.emit);
    protos.push(proto);
  }
  return () => {
    for (const p of protos) {
      const original = p.emit[PATCHED];
      if (original) p.emit = original;
    }
  };
}

// An absolute-form request target (`GET http://user:pw@host/p`, as sent to a proxy) carries a
// scheme and authority, credentials included: url.path is only its path.
const ABSOLUTE_TARGET = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;
function withoutAuthority(path: string): string {
  const m = ABSOLUTE_TARGET.exec(path);
  return m === null ? path : path.slice(m[0].length) || '/';
}

function hasExceptionEvent(span: object): boolean {
  const events = (span as { events?: ReadonlyArray<{ name?: string }> }).events;
  return Array.isArray(events) && events.some((e) => e.name === 'exception');
}

function normaliseMethod(m: string): string {
  const u = m.toUpperCase();
  return KNOWN_METHODS.has(u) ? u : '_OTHER';
}

function splitHost(host: string): { address: string; port: number | undefined } {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    const port = end !== -1 && host.charCodeAt(end + 1) === 58 ? Number(host.slice(end + 2)) : undefined;
    return {
      address: host.slice(1, end === -1 ? undefined : end),
      port: Number.isFinite(port) ? port : undefined,
    };
  }
  const colon = host.lastIndexOf(':');
  if (colon === -1) return { address: host, port: undefined };
  const port = Number(host.slice(colon + 1));
  return { address: host.slice(0, colon), port: Number.isInteger(port) ? port : undefined };
}
