import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/**
 * Deterministic synthetic logs in the contract format (design.md "Log record"), with the
 * ground truth computed while generating, so tests compare the CLI against exact figures.
 */
export type GenOptions = {
  lines: number;
  seed?: number;
  /** First timestamp (epoch ms). */
  start?: number;
  /** ms between consecutive lines. */
  stepMs?: number;
  /** One malformed line every n lines (0 = none). */
  malformedEvery?: number;
  /** Keep every request duration per route (small inputs only) for exact percentiles. */
  keepDurations?: boolean;
  /** Every error message unique and unmaskable (stresses the bounded top-messages counter). */
  uniqueMessages?: boolean;
  /** Id of the first trace (so docs can show a real `mem0-logs trace <id>`). */
  firstTraceId?: string;
  /** Services to spread records over (default memory-service 80%, embedding-worker 20%). */
  services?: [string, string];
};

export type Truth = {
  lines: number;
  blank: number;
  malformed: number;
  records: number;
  requests: number;
  serverErrors: number;
  errors: number;
  unclassified: number;
  unstructured: number;
  byCategory: Record<string, number>;
  bySeverity: Record<string, number>;
  byCode: Record<string, number>;
  byService: Record<string, number>;
  retries: number;
  recovered: number;
  exhausted: number;
  breakerOpens: number;
  cacheHits: number;
  cacheMisses: number;
  durations: Record<string, number[]>;
  operations: Record<string, number>;
  traceIds: string[];
  first: number;
  last: number;
};

export const ROUTES: Array<{
  method: string;
  route: string;
  path: (r: () => number) => string;
  baseMs: number;
}> = [
  { method: 'GET', route: '/memories/:id', path: (r) => `/memories/${Math.floor(r() * 1e6)}`, baseMs: 12 },
  { method: 'POST', route: '/memories', path: () => '/memories', baseMs: 45 },
  { method: 'GET', route: '/memories', path: () => '/memories', baseMs: 25 },
  { method: 'POST', route: '/memories/search', path: () => '/memories/search', baseMs: 120 },
  { method: 'DELETE', route: '/memories/:id', path: (r) => `/memories/${Math.floor(r() * 1e6)}`, baseMs: 8 },
];

export const ERRORS: Array<{
  code: string;
  category: string;
  severity: string;
  level: string;
  message: (r: () => number) => string;
  unclassified?: boolean;
}> = [
  {
    code: 'NOT_FOUND',
    category: 'not_found',
    severity: 'low',
    level: 'warn',
    message: (r) => `Memory ${Math.floor(r() * 1e6)} not found`,
  },
  {
    code: 'VALIDATION_FAILED',
    category: 'validation',
    severity: 'low',
    level: 'warn',
    message: () => 'body.text must be a non-empty string',
  },
  {
    code: 'DB_CONNECTION_REFUSED',
    category: 'database',
    severity: 'high',
    level: 'error',
    message: (r) => `connect ECONNREFUSED 127.0.0.1:${5432 + Math.floor(r() * 3)}`,
  },
  {
    code: 'REDIS_UNAVAILABLE',
    category: 'cache',
    severity: 'medium',
    level: 'error',
    message: () => 'Redis connection lost',
  },
  {
    code: 'UPSTREAM_TIMEOUT',
    category: 'timeout',
    severity: 'medium',
    level: 'error',
    message: (r) => `embedding call timed out after ${Math.floor(r() * 3000)} ms`,
  },
  {
    code: 'UNCLASSIFIED',
    category: 'internal',
    severity: 'high',
    level: 'error',
    unclassified: true,
    message: (r) => `TypeError: cannot read properties of undefined (reading 'id') at user ${uuid(r)}`,
  },
];

const SERVICES = ['memory-service', 'embedding-worker'];
const OPERATIONS = ['db.query', 'cache.get', 'embedding.compute'];

/** mulberry32: tiny, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

function uuid(r: () => number): string {
  const h = hex(r, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

const MALFORMED = [
  () => '{"timestamp":"2024-01-01T00:00:00.000Z","level":"info","message":"trunc',
  () => 'Error: plain text stack line, not JSON',
  () => '    at Object.<anonymous> (/app/index.js:10:5)',
  () => '[1,2,3]',
  () => 'null',
  () => '\u0000\u0001\u0002binary garbage\u00ff',
  () => '{"level":"info",,}',
];

export function emptyTruth(): Truth {
  return {
    lines: 0,
    blank: 0,
    malformed: 0,
    records: 0,
    requests: 0,
    serverErrors: 0,
    errors: 0,
    unclassified: 0,
    unstructured: 0,
    byCategory: {},
    bySeverity: {},
    byCode: {},
    byService: {},
    retries: 0,
    recovered: 0,
    exhausted: 0,
    breakerOpens: 0,
    cacheHits: 0,
    cacheMisses: 0,
    durations: {},
    operations: {},
    traceIds: [],
    first: Number.NaN,
    last: Number.NaN,
  };
}

const inc = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

/**
 * Yields log lines (no newline) and fills `truth`.
 * @example for (const line of generateLines({ lines: 100 }, truth)) out.push(line);
 */
export function* generateLines(o: GenOptions, truth: Truth = emptyTruth()): Generator<string> {
  const r = prng(o.seed ?? 42);
  const start = o.start ?? Date.UTC(2024, 4, 1, 0, 0, 0);
  const step = o.stepMs ?? 50;
  let traceId = hex(r, 32);
  let remainingInTrace = 0;
  let firstTrace = o.firstTraceId;
  const services = o.services ?? SERVICES;
  let breakerState = 'closed';
  for (let i = 0; i < o.lines; i++) {
    if (o.malformedEvery && i % o.malformedEvery === o.malformedEvery - 1) {
      truth.lines++;
      truth.malformed++;
      yield MALFORMED[Math.floor(r() * MALFORMED.length)]!();
      continue;
    }
    if (remainingInTrace <= 0) {
      traceId = firstTrace ?? hex(r, 32);
      remainingInTrace = firstTrace ? 6 : 1 + Math.floor(r() * 6);
      firstTrace = undefined;
      if (truth.traceIds.length < 20) truth.traceIds.push(traceId);
    }
    remainingInTrace--;
    const ts = start + i * step;
    if (Number.isNaN(truth.first)) truth.first = ts;
    truth.last = ts;
    let service = r() < 0.8 ? services[0]! : services[1]!;
    const base: Record<string, unknown> = {
      timestamp: new Date(ts).toISOString(),
      level: 'info',
      message: '',
      'service.name': service,
      'service.version': '1.4.2',
      'deployment.environment': 'production',
      trace_id: traceId,
      span_id: hex(r, 16),
      trace_flags: '01',
      correlation_id: traceId,
    };
    const k = r();
    if (k < 0.55) {
      const rt = ROUTES[Math.floor(r() * ROUTES.length)]!;
      const d = Math.round(rt.baseMs * Math.exp(0.6 * gauss(r)) * 1000) / 1000;
      const status = r() < 0.008 ? 503 : r() < 0.05 ? 404 : 200;
      // As @mem0-stack/logging's requestLogger writes them.
      Object.assign(base, {
        level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info',
        message: `${rt.method} ${rt.route} ${status}`,
        'http.request.method': rt.method,
        'http.route': rt.route,
        'http.response.status_code': status,
        duration_ms: d,
        'http.response.body.size': Math.floor(r() * 4000),
        'user_agent.original': 'k6/0.50',
      });
      truth.requests++;
      if (status >= 500) truth.serverErrors++;
      if (o.keepDurations) {
        const key = `${rt.method} ${rt.route}`;
        truth.durations[key] ??= [];
        truth.durations[key].push(d);
      }
    } else if (k < 0.7) {
      const op = OPERATIONS[Math.floor(r() * OPERATIONS.length)]!;
      const failed = r() < 0.02;
      // As timed()/startTimer() write them.
      Object.assign(base, {
        level: failed ? 'error' : 'info',
        message: `${op} ${failed ? 'failed' : 'completed'}`,
        operation: op,
        duration_ms: Math.round(5 * Math.exp(0.8 * gauss(r)) * 1000) / 1000,
        outcome: failed ? 'error' : 'success',
        ...(failed
          ? { error: { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:5432', code: 'ECONNREFUSED' } }
          : {}),
      });
      if (failed) {
        truth.errors++;
        truth.unstructured++;
        inc(truth.byCategory, '(none)');
        inc(truth.bySeverity, '(none)');
        inc(truth.byCode, 'ECONNREFUSED');
      }
      inc(truth.operations, op);
    } else if (k < 0.78) {
      const e = ERRORS[Math.floor(r() * ERRORS.length)]!;
      const msg = o.uniqueMessages
        ? `failure ${hex(r, 6)} in ${['alpha', 'beta', 'gamma', 'delta'][i % 4]}${i}x`
        : e.message(r);
      // As @mem0-stack/errors' recordError writes them.
      Object.assign(base, {
        level: e.level,
        message: `${e.code}: ${msg}`,
        'error.code': e.code,
        'error.category': e.category,
        'error.severity': e.severity,
        'error.retryable': e.category === 'timeout' || e.category === 'cache',
        'error.status': e.category === 'not_found' ? 404 : e.category === 'validation' ? 400 : 503,
        'exception.type': 'Error',
        'exception.message': msg,
        ...(e.unclassified ? { 'error.unclassified': true } : {}),
      });
      truth.errors++;
      inc(truth.byCategory, e.category);
      inc(truth.bySeverity, e.severity);
      inc(truth.byCode, e.code);
      if (e.unclassified) truth.unclassified++;
    } else if (k < 0.8) {
      Object.assign(base, {
        level: 'error',
        message: `unhandled rejection in worker ${Math.floor(r() * 10)}`,
      });
      truth.errors++;
      truth.unstructured++;
      inc(truth.byCategory, '(none)');
      inc(truth.bySeverity, '(none)');
      inc(truth.byCode, '(none)');
    } else if (k < 0.85) {
      // retry/recovered/exhausted lines: @mem0-stack/resilience records these as metrics and
      // span events only today; this is the line format mem0-logs reads when an app logs them.
      const x = r();
      if (x < 0.5) {
        Object.assign(base, {
          level: 'warn',
          message: 'retrying',
          'event.name': 'resilience.retry',
          'retry.attempt': 1,
        });
        truth.retries++;
      } else if (x < 0.8) {
        Object.assign(base, {
          level: 'info',
          message: 'recovered after retry',
          'event.name': 'resilience.recovered',
        });
        truth.recovered++;
      } else if (x < 0.9) {
        Object.assign(base, {
          level: 'error',
          message: 'retries exhausted',
          'event.name': 'resilience.exhausted',
        });
        truth.exhausted++;
      } else {
        // As @mem0-stack/resilience's circuit breaker logs its transitions (one service only,
        // like a real breaker, which lives in one process).
        const from = breakerState;
        const to = from === 'closed' ? 'open' : from === 'open' ? 'half-open' : r() < 0.5 ? 'open' : 'closed';
        breakerState = to;
        base['service.name'] = services[0];
        service = services[0]!;
        Object.assign(base, {
          level: to === 'open' ? 'warn' : to === 'closed' ? 'info' : 'debug',
          message:
            to === 'open'
              ? 'circuit breaker "postgres" opened'
              : to === 'closed'
                ? 'circuit breaker "postgres" closed'
                : 'circuit breaker "postgres" is half-open',
          'resilience.name': 'postgres',
          'resilience.circuit.from': from,
          'resilience.circuit.to': to,
          ...(to === 'open' ? { 'error.code': 'DB_CONNECTION_REFUSED' } : {}),
        });
        if (to === 'open') truth.breakerOpens++;
      }
    } else if (k < 0.93) {
      const hit = r() < 0.9;
      Object.assign(base, {
        level: 'debug',
        message: hit ? 'cache hit' : 'cache miss',
        'event.name': hit ? 'cache.hit' : 'cache.miss',
        'cache.name': 'memories',
      });
      if (hit) truth.cacheHits++;
      else truth.cacheMisses++;
    } else {
      Object.assign(base, { message: `memory ${Math.floor(r() * 1e5)} stored`, 'memory.user_id': uuid(r) });
    }
    truth.lines++;
    truth.records++;
    inc(truth.byService, service);
    yield JSON.stringify(base);
  }
}

/** Writes generated lines to `path` (with back-pressure) and returns the truth. */
export async function writeLogFile(path: string, o: GenOptions): Promise<Truth> {
  const truth = emptyTruth();
  const out = createWriteStream(path);
  let buf = '';
  for (const line of generateLines(o, truth)) {
    buf += `${line}\n`;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return truth;
}

/** Exact nearest-rank percentile of a sorted copy (the reference the t-digest is checked against). */
export function exactPercentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
