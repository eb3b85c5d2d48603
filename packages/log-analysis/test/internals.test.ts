import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandGlob } from '../src/internal/expandGlob';
import { compileFields, validateFieldConfig } from '../src/internal/fields';
import { createLineSplitter } from '../src/internal/lineSplitter';
import { normalizeMessage } from '../src/internal/normalizeMessage';
import { parseDuration, parseTimePoint } from '../src/internal/parseDuration';
import { createEventReader, parseTimestamp } from '../src/internal/readEvent';
import { SlowestHeap } from '../src/internal/slowestHeap';
import { TDigest } from '../src/internal/tdigest';
import { TopCounter } from '../src/internal/topCounter';
import { Trend } from '../src/internal/trend';
import { createTraceCollector } from '../src/traceTimeline';
import { exactPercentile, prng } from './generateLogs';
import { tempDir } from './helpers';

// Child processes and generated inputs on a shared 2-core machine: jest's 5 s default is too short.
jest.setTimeout(120_000);

describe('line splitter', () => {
  function split(chunks: Array<Buffer | string>, max = 1 << 20) {
    const lines: string[] = [];
    let oversized = 0;
    const s = createLineSplitter(
      (l) => lines.push(l),
      () => oversized++,
      max,
    );
    for (const c of chunks) s.push(c);
    s.end();
    return { lines, oversized };
  }

  it('joins lines across chunks, including a multi-byte character cut in half', () => {
    const text = Buffer.from('{"m":"héllo wörld ✓"}\n{"m":"日本語"}\r\nlast');
    // Every possible cut point, so every boundary inside a multi-byte sequence is exercised.
    for (let cut = 1; cut < text.length; cut++) {
      const { lines } = split([text.subarray(0, cut), text.subarray(cut)]);
      expect(lines).toEqual(['{"m":"héllo wörld ✓"}', '{"m":"日本語"}', 'last']);
    }
  });

  it('decodes UTF-8 lines correctly when a chunk mixes ASCII and non-ASCII lines', () => {
    const { lines } = split([Buffer.from('a\nü\nb\n€x\nc')]);
    expect(lines).toEqual(['a', 'ü', 'b', '€x', 'c']);
  });

  it('skips blank lines and drops oversized ones without buffering them', () => {
    const long = 'x'.repeat(100);
    const { lines, oversized } = split([`a\n\n${long.slice(0, 40)}`, long.slice(40), `\nb\n${long}\nc`], 50);
    expect(lines).toEqual(['a', 'b', 'c']);
    expect(oversized).toBe(2);
  });
});

describe('normalizeMessage', () => {
  it.each([
    ['Memory 123456 not found', 'Memory <n> not found'],
    ['user 6f1c2a9e-1b2c-4d3e-8f90-123456789abc failed', 'user <uuid> failed'],
    ['trace 4bf92f3577b34da6a3ce929d0e0e4736 at 2024-05-01T10:00:00.123Z', 'trace <hex> at <ts>'],
    ['connect ECONNREFUSED 127.0.0.1:5432', 'connect ECONNREFUSED <ip>'],
    ['mail to bob@example.com bounced', 'mail to <email> bounced'],
    ['job req_7f3a9c2e11x9 took 12.5 ms', 'job <id> took <n> ms'],
  ])('%s', (input, expected) => {
    expect(normalizeMessage(input)).toBe(expected);
  });
});

describe('TDigest', () => {
  it('matches exact percentiles of 100k log-normal values within 1% relative error', () => {
    const r = prng(7);
    const values: number[] = [];
    const d = new TDigest(200);
    for (let i = 0; i < 100_000; i++) {
      const g = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
      const v = 20 * Math.exp(0.7 * g);
      values.push(v);
      d.add(v);
    }
    for (const q of [0.5, 0.9, 0.95, 0.99]) {
      const exact = exactPercentile(values, q);
      expect(Math.abs(d.quantile(q) - exact) / exact).toBeLessThan(0.01);
    }
    expect(d.size).toBeLessThan(250);
    expect(d.count).toBe(100_000);
  });

  it('merges digests (the alert windows) like one digest of all values', () => {
    const a = new TDigest();
    const b = new TDigest();
    const all: number[] = [];
    for (let i = 1; i <= 5000; i++) {
      (i % 2 ? a : b).add(i);
      all.push(i);
    }
    const m = new TDigest();
    m.merge(a);
    m.merge(b);
    expect(m.count).toBe(5000);
    expect(Math.abs(m.quantile(0.95) - exactPercentile(all, 0.95)) / 4750).toBeLessThan(0.01);
    expect(m.min).toBe(1);
    expect(m.max).toBe(5000);
  });

  it('answers the quantile of small samples (all singletons) without jumping one value too high', () => {
    // The quantile q of n values is the smallest value with at least q·n values ≤ it. When q·n
    // is a whole number that is the (q·n)-th value, not the next one: p95 of 19 fast requests
    // and 1 slow one is a fast one (a single outlier must not fire HighRequestLatencyP95).
    const check = (values: number[], q: number) => {
      const d = new TDigest();
      for (const v of values) d.add(v);
      const got = d.quantile(q);
      const sorted = [...values].sort((a, b) => a - b);
      expect(got).toBe(sorted[Math.max(0, Math.ceil(q * values.length) - 1)]);
    };
    check([...Array<number>(19).fill(100), 1000], 0.95);
    check([10, 20], 0.5);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    for (const q of [0.5, 0.9, 0.95, 0.99]) check(hundred, q);
    const ten = Array.from({ length: 10 }, (_, i) => (i + 1) * 10);
    for (const q of [0.5, 0.9, 0.95, 0.99]) check(ten, q);
  });

  it('is exact for tiny inputs and NaN when empty', () => {
    const d = new TDigest();
    expect(d.quantile(0.5)).toBeNaN();
    d.add(42);
    expect(d.quantile(0.99)).toBe(42);
  });
});

describe('TopCounter', () => {
  it('keeps memory bounded with 300k distinct keys and brackets the heavy hitters', () => {
    const c = new TopCounter<undefined>(100);
    const truth = new Map<string, number>();
    const r = prng(3);
    let maxSize = 0;
    for (let i = 0; i < 300_000; i++) {
      // 5 heavy keys get ~30% of the traffic, the rest is unique noise.
      const key = r() < 0.3 ? `heavy-${Math.floor(r() * 5)}` : `noise-${i}`;
      truth.set(key, (truth.get(key) ?? 0) + 1);
      c.add(key, i, () => undefined);
      if (c.size > maxSize) maxSize = c.size;
    }
    expect(maxSize).toBeLessThan(200);
    const top = c.top(5);
    expect(top.map((t) => t.key).sort()).toEqual(['heavy-0', 'heavy-1', 'heavy-2', 'heavy-3', 'heavy-4']);
    for (const t of top) {
      const real = truth.get(t.key)!;
      expect(t.count).toBeLessThanOrEqual(real);
      expect(t.count + t.error).toBeGreaterThanOrEqual(real);
    }
    expect(c.evicted).toBeGreaterThan(0);
  });
});

describe('SlowestHeap', () => {
  it('keeps the n largest', () => {
    const h = new SlowestHeap<number>(3);
    for (const v of [5, 1, 9, 3, 7, 8, 2]) h.offer(v, v);
    expect(h.sorted()).toEqual([9, 8, 7]);
  });
});

describe('Trend', () => {
  it('coarsens automatically to stay within 48 buckets, including across gaps', () => {
    const t = new Trend(undefined);
    const start = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 3 * 24 * 60; i++) t.bucket(start + i * 60_000)!.records++;
    t.bucket(start + 30 * 86_400_000)!.records++;
    const list = t.list();
    expect(list.length).toBeLessThanOrEqual(48);
    expect(list.reduce((a, b) => a + b.records, 0)).toBe(3 * 24 * 60 + 1);
  });
});

describe('durations and times', () => {
  it('parses durations and rejects junk', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    expect(parseDuration('5 minutes')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });
  it('parses relative and absolute time points', () => {
    expect(parseTimePoint('1h', 10_000_000)).toBe(10_000_000 - 3_600_000);
    expect(parseTimePoint('2024-05-01T00:00:00Z', 0)).toBe(Date.UTC(2024, 4, 1));
    expect(parseTimePoint('yesterday', 0)).toBeUndefined();
  });
  it('parses timestamps in ISO, epoch s/ms/ns and Loki nanosecond strings', () => {
    const ms = Date.UTC(2024, 4, 1, 12, 0, 0, 123);
    expect(parseTimestamp('2024-05-01T12:00:00.123Z')).toBe(ms);
    expect(parseTimestamp('2024-05-01T12:00:00.124Z')).toBe(ms + 1);
    expect(parseTimestamp('2024-05-01T14:00:00.123+02:00')).toBe(ms);
    expect(parseTimestamp(ms)).toBe(ms);
    expect(parseTimestamp(ms / 1000)).toBe(ms);
    expect(parseTimestamp(`${ms}000000`)).toBe(ms);
    expect(parseTimestamp('not a time')).toBeNaN();
    // Epoch numbers a Date cannot hold (beyond ±8.64e15 ms) are no timestamp, not a crash later.
    expect(parseTimestamp(1e25)).toBeNaN();
    expect(parseTimestamp('99999999999999999999999')).toBeNaN();
    expect(parseTimestamp(8.64e15)).toBe(8.64e15 / 1e3);
    expect(parseTimestamp('2024-05-01T12:00:00.1x3Z')).toBeNaN();
  });
});

describe('field mapping', () => {
  const read = createEventReader(compileFields());

  it('reads a requestLogger line', () => {
    const ev = read({
      timestamp: '2024-05-01T00:00:00.000Z',
      level: 'warn',
      message: 'GET /memories/:id 404',
      'service.name': 'memory-service',
      trace_id: 'a'.repeat(32),
      span_id: 'b'.repeat(16),
      correlation_id: 'a'.repeat(32),
      'http.request.method': 'GET',
      'http.route': '/memories/:id',
      'http.response.status_code': 404,
      duration_ms: 3.2,
    });
    expect(ev.request).toEqual({ method: 'GET', route: '/memories/:id', status: 404, durationMs: 3.2 });
    expect(ev.error).toBeUndefined();
    expect(ev.service).toBe('memory-service');
  });

  it('reads a recordError line (classified, info level) and a timed() failure', () => {
    const e = read({
      level: 'info',
      message: 'NOT_FOUND: no such memory',
      'error.code': 'NOT_FOUND',
      'error.category': 'not_found',
      'error.severity': 'low',
      'exception.message': 'memory 42 not found',
    });
    expect(e.error).toMatchObject({
      code: 'NOT_FOUND',
      category: 'not_found',
      structured: true,
      message: 'memory 42 not found',
    });
    const t = read({
      level: 'error',
      message: 'db.query failed',
      operation: 'db.query',
      duration_ms: 12,
      outcome: 'error',
      error: { type: 'Error', message: 'boom', code: 'ECONNREFUSED' },
    });
    expect(t.timed).toEqual({ operation: 'db.query', durationMs: 12, failed: true });
    // A nested Node errno code is not a classification: an unstructured error with that code.
    expect(t.error).toMatchObject({
      code: 'ECONNREFUSED',
      category: '(none)',
      structured: false,
      message: 'boom',
    });
  });

  it('reads breaker transitions as @mem0-stack/resilience logs them, and does not count them as errors', () => {
    const open = read({
      level: 'warn',
      message: 'circuit breaker "pg" opened',
      'resilience.name': 'pg',
      'resilience.circuit.from': 'closed',
      'resilience.circuit.to': 'open',
      'error.code': 'DB_CONNECTION_REFUSED',
    });
    expect(open.resilience).toBe('breaker_open');
    expect(open.breaker).toBe('pg');
    expect(open.error).toBeUndefined();
    expect(read({ 'resilience.circuit.to': 'half-open' }).resilience).toBe('breaker_half_open');
    expect(read({ 'resilience.circuit.to': 'isolated' }).resilience).toBe('breaker_open');
    expect(read({ 'event.name': 'resilience.circuit.state', 'circuit.state': 0 }).resilience).toBe(
      'breaker_closed',
    );
  });

  it('reads nested objects and Loki/OTLP underscore names', () => {
    const nested = read({ service: { name: 'svc' }, http: { route: '/x' }, level: 30, message: 'm' });
    expect(nested.service).toBe('svc');
    expect(nested.level).toBe('info');
    const loki = read({
      service_name: 'svc',
      severity_text: 'ERROR',
      trace_id: 'c'.repeat(32),
      http_request_method: 'post',
      http_route: '/m',
      http_response_status_code: '503',
      duration_ms: '7.5',
    });
    expect(loki.request).toEqual({ method: 'POST', route: '/m', status: 503, durationMs: 7.5 });
    expect(loki.level).toBe('error');
  });

  it('ignores null contract fields and survives hostile values', () => {
    const ev = read({
      trace_id: null,
      correlation_id: 'req-1',
      message: { toString: 1 },
      level: ['x'],
      'error.category': { toString: 1 },
    });
    expect(ev.traceId).toBeUndefined();
    expect(ev.correlationId).toBe('req-1');
    expect(ev.message).toBe('{"toString":1}');
    expect(ev.level).toBe('unknown');
  });

  it('lets a --fields config add keys, tried before the defaults', () => {
    const custom = createEventReader(
      compileFields(validateFieldConfig({ fields: { route: ['req.routePattern'] } })),
    );
    expect(
      custom({ 'req.routePattern': '/a', 'http.route': '/b', method: 'GET', status: 200, duration_ms: 1 })
        .request?.route,
    ).toBe('/a');
    expect(() => validateFieldConfig({ fields: { rout: ['x'] } })).toThrow(/unknown fields name "rout"/);
    expect(() => validateFieldConfig({ field: {} })).toThrow(/unknown section/);
    expect(() => validateFieldConfig({ fields: { route: [1] } })).toThrow(/list of strings/);
  });
});

describe('expandGlob', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('expands *, **, ? and {a,b}', () => {
    mkdirSync(join(t.dir, 'logs', 'old'), { recursive: true });
    for (const f of ['logs/a.log', 'logs/b.log', 'logs/c.txt', 'logs/old/d.log', 'logs/old/e1.log']) {
      writeFileSync(join(t.dir, f), '');
    }
    expect(expandGlob(join(t.dir, 'logs/*.log'))).toEqual([
      join(t.dir, 'logs/a.log'),
      join(t.dir, 'logs/b.log'),
    ]);
    expect(expandGlob(join(t.dir, 'logs/**/*.log'))).toHaveLength(4);
    expect(expandGlob(join(t.dir, 'logs/old/e?.log'))).toEqual([join(t.dir, 'logs/old/e1.log')]);
    expect(expandGlob(join(t.dir, 'logs/*.{log,txt}'))).toHaveLength(3);
    expect(expandGlob(join(t.dir, 'nope/*.log'))).toEqual([]);
  });
});

describe('trace tree', () => {
  it('a Tempo trace of 150k spans is laid out (its start found without spreading the spans into Math.min)', () => {
    const spans = Array.from({ length: 150_000 }, (_, i) => ({
      traceId: 't',
      spanId: `s${i}`,
      parentSpanId: i === 0 ? undefined : 's0',
      name: `op${i}`,
      kind: 'internal',
      service: 's',
      start: 1_714_521_600_000 + (150_000 - i),
      end: 1_714_521_600_000 + 200_000,
      status: 'unset' as const,
      statusMessage: undefined,
      attributes: {},
    }));
    const tl = createTraceCollector('t').result(spans);
    expect(tl.start).toBe(new Date(1_714_521_600_001).toISOString());
  });

  it('keeps spans whose parents form a cycle instead of dropping them', () => {
    const span = (spanId: string, parentSpanId: string | undefined, start: number) => ({
      traceId: 't',
      spanId,
      parentSpanId,
      name: spanId,
      kind: 'internal',
      service: 's',
      start,
      end: start + 1,
      status: 'unset' as const,
      statusMessage: undefined,
      attributes: {},
    });
    const tl = createTraceCollector('t').result([
      span('a', 'b', 1),
      span('b', 'a', 2),
      span('c', undefined, 0),
    ]);
    const names = (ns: NonNullable<typeof tl.spans>): string[] =>
      ns.flatMap((n) => [n.name, ...names(n.children)]);
    expect(names(tl.spans!).sort()).toEqual(['a', 'b', 'c']);
  });
});
