import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyTruth, generateLines } from './generateLogs';
import {
  cli,
  closedPort,
  type LokiEntry,
  type LokiStandIn,
  startLokiStandIn,
  startTempoStandIn,
  type TempoStandIn,
  tempDir,
  tempoTrace,
} from './helpers';

// Child processes and generated inputs on a shared 2-core machine: jest's 5 s default is too short.
jest.setTimeout(120_000);

const T0 = Date.UTC(2024, 4, 1, 0, 0, 0);
const NS = 1_000_000n;
const ns = (ms: number) => BigInt(ms) * NS;
const SINCE = new Date(T0 - 1000).toISOString();
const UNTIL = new Date(T0 + 3_600_000).toISOString();

let t: ReturnType<typeof tempDir>;
beforeAll(() => {
  t = tempDir();
});
afterAll(() => t.cleanup());

describe('Loki (query_range stand-in)', () => {
  let loki: LokiStandIn;
  let lines: string[];
  let file: string;

  beforeAll(async () => {
    const truth = emptyTruth();
    lines = [...generateLines({ lines: 3000, seed: 5 }, truth)];
    file = join(t.dir, 'same.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    // JSON lines as shipped by promtail/alloy; three entries share each nanosecond timestamp
    // and the page size (200) is not a multiple of three, so pages end mid-timestamp.
    const entries: LokiEntry[] = lines.map((line, i) => {
      const svc = JSON.parse(line)['service.name'] as string;
      return {
        ts: ns(T0) + BigInt(Math.floor(i / 3)) * NS,
        line,
        labels: { service_name: svc, env: 'prod' },
      };
    });
    loki = await startLokiStandIn(entries);
  });
  afterAll(() => loki.close());

  it('reads every entry exactly once across pages, with the same result as the file', async () => {
    const viaLoki = await cli([
      'errors',
      '--json',
      '--loki',
      loki.url,
      '--query',
      '{env="prod"}',
      '--since',
      SINCE,
      '--until',
      UNTIL,
      '--loki-limit',
      '200',
      '--loki-header',
      'X-Scope-OrgID: ops',
    ]);
    expect(viaLoki.stderr).toBe('');
    expect(viaLoki.code).toBe(0);
    const fromFile = await cli(['errors', '--json', file]);
    const a = JSON.parse(viaLoki.stdout);
    const b = JSON.parse(fromFile.stdout);
    expect(a.input).toMatchObject({ lines: 3000, records: 3000, malformed: 0 });
    expect({ ...a, input: null }).toEqual({ ...b, input: null });
    expect(loki.requests.length).toBeGreaterThanOrEqual(15);
    const first = loki.requests[0]!;
    expect(first).toMatchObject({
      query: '{env="prod"}',
      limit: 200,
      direction: 'forward',
      start: ns(T0 - 1000).toString(),
    });
    expect(first.headers['x-scope-orgid']).toBe('ops');
  });

  it('defaults to the last hour and answers trace and latency too', async () => {
    const now = T0 + 30 * 60_000;
    const traceId = JSON.parse(lines[0]!).trace_id as string;
    const r = await cli(
      ['trace', traceId, '--json', '--loki', loki.url, '--query', '{service_name="memory-service"}'],
      {
        now,
      },
    );
    expect(r.code).toBe(0);
    const tr = JSON.parse(r.stdout);
    expect(tr.found).toBeGreaterThan(0);
    expect(tr.lines.every((l: { service: string }) => l.service === 'memory-service')).toBe(true);
    const last = loki.requests[loki.requests.length - 1]!;
    expect(last.end).toBe(ns(now).toString());
    expect(loki.requests.find((q) => q.query.includes('memory-service'))!.start).toBe(
      ns(now - 3_600_000).toString(),
    );
  });

  it('exits 2 when Loki rejects the query and 3 when Loki cannot be reached', async () => {
    const bad = await cli(['errors', '--loki', loki.url, '--query', 'service_name=x', '--since', SINCE]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Loki rejected the request: parse error');
    const wrongPath = await cli(['errors', '--loki', `${loki.url}/nope`, '--query', '{a="b"}']);
    expect(wrongPath.code).toBe(3);
    expect(wrongPath.stderr).toContain('no Loki API at');
    const port = await closedPort();
    const down = await cli(['errors', '--loki', `http://127.0.0.1:${port}`, '--query', '{a="b"}']);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`cannot reach Loki at http://127.0.0.1:${port}: ECONNREFUSED`);
  });
});

describe('Loki with OTLP-ingested logs (body as line, attributes as structured metadata)', () => {
  function otlpEntries(): LokiEntry[] {
    const out: LokiEntry[] = [];
    for (let i = 0; i < 400; i++) {
      const status = i % 50 === 0 ? 503 : 200;
      out.push({
        ts: ns(T0 + i * 100),
        line: `GET /memories/:id ${status}`,
        labels: { service_name: 'memory-service' },
        meta: {
          severity_text: status >= 500 ? 'ERROR' : 'INFO',
          trace_id: i.toString(16).padStart(32, '0'),
          http_request_method: 'GET',
          http_route: '/memories/:id',
          http_response_status_code: String(status),
          duration_ms: String(10 + (i % 10)),
        },
      });
      if (i % 100 === 0) {
        out.push({
          ts: ns(T0 + i * 100 + 1),
          line: 'DB_CONNECTION_REFUSED: connect ECONNREFUSED 10.0.0.5:5432',
          labels: { service_name: 'memory-service' },
          meta: {
            severity_text: 'ERROR',
            error_code: 'DB_CONNECTION_REFUSED',
            error_category: 'database',
            error_severity: 'high',
          },
        });
      }
    }
    return out;
  }

  it.each([false, true])('reads labels and metadata (categorize-labels: %s)', async (categorize) => {
    const loki = await startLokiStandIn(otlpEntries(), { categorize });
    try {
      const args = [
        '--json',
        '--loki',
        loki.url,
        '--query',
        '{service_name="memory-service"}',
        '--since',
        SINCE,
        '--until',
        UNTIL,
      ];
      const lat = JSON.parse((await cli(['latency', ...args])).stdout);
      expect(lat.requests).toBe(400);
      expect(lat.routes[0]).toMatchObject({
        method: 'GET',
        route: '/memories/:id',
        count: 400,
        serverErrors: 8,
        max: 19,
      });
      const err = JSON.parse((await cli(['errors', ...args])).stdout);
      expect(err.byCode).toEqual([
        expect.objectContaining({ code: 'DB_CONNECTION_REFUSED', category: 'database', count: 4 }),
      ]);
      expect(err.topMessages[0].message).toBe('DB_CONNECTION_REFUSED: connect ECONNREFUSED <ip>');
      expect(err.requests).toMatchObject({ total: 400, serverErrors: 8 });
    } finally {
      await loki.close();
    }
  });

  it('follows new entries until stopped', async () => {
    const entries = otlpEntries().slice(0, 10);
    const loki = await startLokiStandIn(entries);
    const ac = new AbortController();
    const now = T0 + 60_000;
    const run = cli(
      [
        'latency',
        '--json',
        '--follow',
        '--poll-ms',
        '50',
        '--refresh',
        '10s',
        '--loki',
        loki.url,
        '--query',
        '{service_name="memory-service"}',
      ],
      { signal: ac.signal, now },
    );
    const deadline = Date.now() + 10_000;
    while (loki.requests.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // New lines arrive after the first poll.
    const added = otlpEntries()
      .filter((e) => e.meta?.http_route)
      .slice(200, 230);
    for (const e of added) entries.push({ ...e, ts: ns(T0 + 30_000) + e.ts - ns(T0) });
    const before = loki.requests.length;
    while (loki.requests.length < before + 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    const r = await run;
    await loki.close();
    expect(r.code).toBe(0);
    const docs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const last = docs[docs.length - 1];
    const initialRequests = otlpEntries()
      .slice(0, 10)
      .filter((e) => e.meta?.http_route).length;
    expect(last.requests).toBe(initialRequests + added.length);
    expect(added.length).toBe(30);
  });
});

describe('Tempo (/api/traces stand-in)', () => {
  const TRACE = 'ab'.repeat(16);
  const ROOT = '1111111111111111';
  const DB = '2222222222222222';
  const EMB = '3333333333333333';
  const EMB_HTTP = '4444444444444444';
  let tempo: TempoStandIn;
  let logs: string;

  beforeAll(async () => {
    tempo = await startTempoStandIn({
      [TRACE]: tempoTrace(TRACE, [
        {
          id: ROOT,
          name: 'POST /memories',
          service: 'memory-service',
          startMs: T0,
          durationMs: 120,
          kind: 'SPAN_KIND_SERVER',
        },
        {
          id: DB,
          parent: ROOT,
          name: 'pg.query INSERT',
          service: 'memory-service',
          startMs: T0 + 5,
          durationMs: 20,
          kind: 'SPAN_KIND_CLIENT',
        },
        {
          id: EMB,
          parent: ROOT,
          name: 'POST /embed',
          service: 'memory-service',
          startMs: T0 + 30,
          durationMs: 80,
          kind: 'SPAN_KIND_CLIENT',
        },
        {
          id: EMB_HTTP,
          parent: EMB,
          name: 'POST /embed',
          service: 'embedding-worker',
          startMs: T0 + 32,
          durationMs: 75,
          kind: 'SPAN_KIND_SERVER',
          error: 'model overloaded',
        },
      ]),
    });
    const line = (
      ms: number,
      span: string,
      service: string,
      message: string,
      extra: Record<string, unknown> = {},
    ) =>
      JSON.stringify({
        timestamp: new Date(T0 + ms).toISOString(),
        level: 'info',
        message,
        'service.name': service,
        trace_id: TRACE,
        span_id: span,
        trace_flags: '01',
        correlation_id: TRACE,
        ...extra,
      });
    logs = join(t.dir, 'trace.log');
    writeFileSync(
      logs,
      [
        line(1, ROOT, 'memory-service', 'creating memory', { 'memory.user_id': 'u1' }),
        line(24, DB, 'memory-service', 'db.query completed', {
          operation: 'db.query',
          duration_ms: 19,
          outcome: 'success',
        }),
        line(60, EMB_HTTP, 'embedding-worker', 'model overloaded, retrying', { level: 'warn' }),
        line(119, ROOT, 'memory-service', 'POST /memories 201', {
          'http.request.method': 'POST',
          'http.route': '/memories',
          'http.response.status_code': 201,
          duration_ms: 119,
        }),
        JSON.stringify({
          timestamp: new Date(T0).toISOString(),
          level: 'info',
          message: 'other request',
          trace_id: 'cd'.repeat(16),
        }),
        'garbage line',
      ].join('\n'),
    );
  });
  afterAll(() => tempo.close());

  it('interleaves the span tree with each span’s log lines (JSON)', async () => {
    const r = await cli(['trace', TRACE, '--json', '--quiet', '--tempo', tempo.url, logs]);
    expect(r.code).toBe(0);
    const tr = JSON.parse(r.stdout);
    expect(tempo.requests).toContain(`/api/traces/${TRACE}`);
    expect(tr.tempo).toEqual({ url: tempo.url, status: 'ok' });
    expect(tr.services).toEqual(['embedding-worker', 'memory-service']);
    expect(tr.durationMs).toBe(120);
    expect(tr.spans).toHaveLength(1);
    const root = tr.spans[0];
    expect(root).toMatchObject({
      spanId: ROOT,
      name: 'POST /memories',
      kind: 'server',
      offsetMs: 0,
      durationMs: 120,
      depth: 0,
    });
    expect(root.lines.map((l: { message: string }) => l.message)).toEqual([
      'creating memory',
      'POST /memories 201',
    ]);
    expect(root.children.map((c: { spanId: string }) => c.spanId)).toEqual([DB, EMB]);
    expect(root.children[0].lines[0].message).toBe('db.query completed');
    const remote = root.children[1].children[0];
    expect(remote).toMatchObject({
      service: 'embedding-worker',
      status: 'error',
      statusMessage: 'model overloaded',
      depth: 2,
    });
    expect(remote.lines[0]).toMatchObject({ level: 'warn', offsetMs: 60 });
  });

  it('draws a terminal waterfall', async () => {
    const r = await cli(['trace', TRACE, '--quiet', '--tempo', tempo.url, logs]);
    const out = r.stdout;
    expect(out).toMatch(
      /^Trace abab.* · 4 spans \(Tempo\) · 4 log lines · 2 services \(embedding-worker, memory-service\) · 120ms/,
    );
    expect(out).toMatch(/0\.00ms +120ms +POST \/memories \(server\) +memory-service +█{32}/);
    expect(out).toMatch(/├─ pg\.query INSERT \(client\)/);
    expect(out).toMatch(/└─ POST \/embed \(client\)/);
    expect(out).toMatch(/└─ POST \/embed \(server\) ✗ model overloaded +embedding-worker/);
    expect(out).toMatch(/· warn model overloaded, retrying/);
    // the db span starts at 5/120 of the bar and lasts 20/120 of it
    const dbRow = out.split('\n').find((l) => l.includes('pg.query'))!;
    expect(dbRow).toMatch(/ {2}█{5} *$/);
  });

  it('falls back to the log timeline when Tempo does not have the trace or is down', async () => {
    const other = 'cd'.repeat(16);
    const missing = await cli(['trace', other, '--quiet', '--tempo', tempo.url, logs]);
    expect(missing.code).toBe(0);
    expect(missing.stdout).toContain('Tempo: trace not found — showing logs only.');
    expect(missing.stdout).toContain('other request');
    const port = await closedPort();
    const down = await cli(['trace', TRACE, '--tempo', `http://127.0.0.1:${port}`, logs]);
    expect(down.code).toBe(0);
    expect(down.stderr).toContain(
      `cannot reach Tempo at http://127.0.0.1:${port}: ECONNREFUSED; showing logs only`,
    );
    expect(down.stdout).toMatch(/4 log lines/);
    expect(down.stdout).toMatch(/offset +Δ prev/);
  });

  it('shows a trace Tempo knows even when no log line matches', async () => {
    const r = await cli(['trace', TRACE, '--json', '--tempo', tempo.url], { input: '' });
    expect(r.code).toBe(0);
    const tr = JSON.parse(r.stdout);
    expect(tr.found).toBe(0);
    expect(tr.spans[0].name).toBe('POST /memories');
  });
});
