import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { runCli } from '../src/runCli';
import { exactPercentile, type Truth, writeLogFile } from './generateLogs';
import { cli, tempDir } from './helpers';

// Child processes and generated inputs on a shared 2-core machine: jest's 5 s default is too short.
jest.setTimeout(120_000);

const T0 = Date.UTC(2024, 4, 1, 0, 0, 0);
const FIRST_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

let t: ReturnType<typeof tempDir>;
let app: string;
let worker: string;
let truth: Truth;
let workerTruth: Truth;

beforeAll(async () => {
  t = tempDir();
  app = join(t.dir, 'app.log');
  worker = join(t.dir, 'worker.log');
  truth = await writeLogFile(app, {
    lines: 20_000,
    malformedEvery: 250,
    keepDurations: true,
    firstTraceId: FIRST_TRACE,
  });
  workerTruth = await writeLogFile(worker, {
    lines: 5_000,
    seed: 9,
    start: T0 + 3_600_000,
    malformedEvery: 100,
    services: ['billing-api', 'billing-worker'],
  });
});
afterAll(() => t.cleanup());

/** One JSON log line in the contract format. */
function rec(ms: number, fields: Record<string, unknown>): string {
  return JSON.stringify({
    timestamp: new Date(ms).toISOString(),
    level: 'info',
    message: 'x',
    'service.name': 'svc',
    ...fields,
  });
}
const request = (ms: number, status: number, duration: number, service = 'svc', route = '/a') =>
  rec(ms, {
    level: status >= 500 ? 'error' : 'info',
    'service.name': service,
    'http.request.method': 'GET',
    'http.route': route,
    'http.response.status_code': status,
    duration_ms: duration,
  });

function json(out: string) {
  return JSON.parse(out);
}

describe('errors', () => {
  it('matches the generated ground truth exactly, skipping malformed lines', async () => {
    const r = await cli(['errors', '--json', app]);
    expect(r.code).toBe(0);
    const e = json(r.stdout);
    expect(e.input).toMatchObject({
      lines: truth.lines,
      records: truth.records,
      malformed: truth.malformed,
      filtered: 0,
    });
    expect(e.records).toBe(truth.records);
    expect(e.errors).toBe(truth.errors);
    expect(e.unclassified).toBe(truth.unclassified);
    expect(e.unstructured).toBe(truth.unstructured);
    const asMap = (rows: Array<{ key: string; count: number }>) =>
      Object.fromEntries(rows.map((x) => [x.key, x.count]));
    expect(asMap(e.byCategory)).toEqual(truth.byCategory);
    expect(asMap(e.bySeverity)).toEqual(truth.bySeverity);
    expect(
      Object.fromEntries(e.byCode.map((x: { code: string; count: number }) => [x.code, x.count])),
    ).toEqual(truth.byCode);
    expect(
      Object.fromEntries(
        e.byService.map((x: { service: string; records: number }) => [x.service, x.records]),
      ),
    ).toEqual(truth.byService);
    expect(e.requests).toMatchObject({ total: truth.requests, serverErrors: truth.serverErrors });
    expect(e.recovery).toMatchObject({
      retries: truth.retries,
      recovered: truth.recovered,
      exhausted: truth.exhausted,
      breakerOpens: truth.breakerOpens,
    });
    expect(e.recovery.rate).toBeCloseTo(truth.recovered / (truth.recovered + truth.exhausted), 3);
    expect(e.period).toEqual({
      from: new Date(truth.first).toISOString(),
      to: new Date(truth.last).toISOString(),
    });
    expect(e.trend.buckets.reduce((a: number, b: { errors: number }) => a + b.errors, 0)).toBe(truth.errors);
    // Ids and numbers masked: the "Memory <n> not found" family is one row.
    const notFound = e.topMessages.find((m: { message: string }) => m.message === 'Memory <n> not found');
    expect(notFound.count).toBe(truth.byCode.NOT_FOUND);
    expect(e.unclassifiedMessages[0].message).toContain('<uuid>');
    expect(e.approximate).toBe(false);
    expect(r.stderr).toMatch(new RegExp(`skipped ${truth.malformed} malformed lines`));
  });

  it('prints aligned tables for humans, with unclassified errors called out', async () => {
    const r = await cli(['errors', app, '--top', '3']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${truth.malformed} malformed (skipped)`);
    expect(r.stdout).toMatch(/^By category\ncategory +count +share$/m);
    expect(r.stdout).toContain(`Unclassified errors: ${truth.unclassified.toLocaleString('en-US')}`);
    expect(r.stdout).toMatch(/Trend \(per \d+[mh]\)/);
    // aligned: every row of a table has the same column start for "count"
    const block = r.stdout.split('By severity\n')[1]!.split('\n\n')[0]!.split('\n');
    const col = block[0]!.indexOf('count') + 'count'.length;
    for (const row of block.slice(2)) expect(row.slice(0, col)).toMatch(/\d$/);
  });

  it('reads several files, globs, gzip and stdin alike', async () => {
    const both = json((await cli(['errors', '--json', '--quiet', join(t.dir, '*.log')])).stdout);
    expect(both.records).toBe(truth.records + workerTruth.records);
    expect(both.input.malformed).toBe(truth.malformed + workerTruth.malformed);
    expect(both.byService.map((s: { service: string }) => s.service).sort()).toEqual([
      'billing-api',
      'billing-worker',
      'embedding-worker',
      'memory-service',
    ]);

    const gz = join(t.dir, 'worker.log.gz');
    writeFileSync(gz, gzipSync(readFileSync(worker)));
    const fromGz = json((await cli(['errors', '--json', '--quiet', gz])).stdout);
    const fromStdin = json(
      (await cli(['errors', '--json', '--quiet'], { input: readFileSync(worker, 'utf8') })).stdout,
    );
    const fromDash = json(
      (await cli(['errors', '--json', '--quiet', '-'], { input: readFileSync(worker, 'utf8') })).stdout,
    );
    for (const x of [fromGz, fromStdin, fromDash]) {
      expect(x.errors).toBe(workerTruth.errors);
      expect(x.input.malformed).toBe(workerTruth.malformed);
    }
    expect(fromStdin.input.sources).toEqual(['stdin']);
  });

  it('filters by --service, --since and --until, counting what it left out', async () => {
    const svc = json(
      (await cli(['errors', '--json', '--quiet', '--service', 'embedding-worker', app])).stdout,
    );
    expect(svc.records).toBe(truth.byService['embedding-worker']);
    expect(svc.input.filtered).toBe(truth.records - truth.byService['embedding-worker']!);
    const half = new Date(T0 + 10_000 * 50).toISOString();
    const a = json((await cli(['errors', '--json', '--quiet', '--until', half, app])).stdout);
    const b = json((await cli(['errors', '--json', '--quiet', '--since', half, app])).stdout);
    expect(a.records + b.records).toBe(truth.records);
    expect(a.period.to < half && b.period.from >= half).toBe(true);
  });

  it('treats a file of garbage as input with zero records, not as a failure', async () => {
    const bad = join(t.dir, 'garbage.log');
    writeFileSync(bad, 'not json\n{"unterminated":\n[1,2]\n\n   \n"string"\n');
    const r = await cli(['errors', '--json', bad]);
    expect(r.code).toBe(0);
    expect(json(r.stdout).input).toMatchObject({ lines: 4, records: 0, malformed: 4 });
    const empty = await cli(['errors'], { input: '' });
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain('the input was empty');
  });

  it('names the right line of a malformed example when blank lines come before it', async () => {
    const r = await cli(['errors', '--json'], { input: 'x\n\n\n{bad\r\n\r\n[1]' });
    expect(r.code).toBe(0);
    expect(json(r.stdout).input).toMatchObject({ lines: 3, malformed: 3 });
    expect(r.stderr).toContain('stdin:1: x');
    expect(r.stderr).toContain('stdin:4: {bad');
    expect(r.stderr).toContain('stdin:6: [1]');
  });

  it('skips a timestamp beyond the Date range instead of crashing (exit 0, valid JSON)', async () => {
    // 1e25 reads as epoch ns → 1e19 ms, past the ±8.64e15 ms a Date can hold.
    const input = [
      rec(T0, { level: 'error', 'error.category': 'database', 'error.code': 'DB' }),
      JSON.stringify({ timestamp: 1e25, level: 'error', message: 'far future', 'service.name': 'svc' }),
      request(T0 + 1_000, 200, 5),
    ].join('\n');
    for (const cmd of ['errors', 'latency', 'report']) {
      const r = await cli([cmd, '--json', '--quiet'], { input });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(() => json(r.stdout)).not.toThrow();
    }
    const e = json((await cli(['errors', '--json', '--quiet'], { input })).stdout);
    expect(e.errors).toBe(2);
    expect(e.period).toEqual({ from: new Date(T0).toISOString(), to: new Date(T0 + 1_000).toISOString() });
  });

  it('reads logs with other field names through --fields', async () => {
    const f = join(t.dir, 'fields.yaml');
    writeFileSync(f, 'fields:\n  errorCategory: [err.kind]\n  errorCode: [err.id]\n  service: [app]\n');
    const input = `${JSON.stringify({ app: 'legacy', 'err.kind': 'database', 'err.id': 'E1', msg: 'db down' })}\n`;
    const r = json((await cli(['errors', '--json', '--fields', f], { input })).stdout);
    expect(r.byCode[0]).toMatchObject({ code: 'E1', category: 'database', count: 1 });
    expect(r.byService[0].service).toBe('legacy');
    writeFileSync(f, 'fields:\n  nope: [x]\n');
    const bad = await cli(['errors', '--fields', f], { input });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown fields name "nope"');
  });
});

describe('latency', () => {
  it('gives per-route percentiles within 0.3% in rank (2% in value) of the exact ones, and exact counts', async () => {
    const r = await cli(['latency', '--json', '--quiet', app]);
    expect(r.code).toBe(0);
    const l = json(r.stdout);
    expect(l.requests).toBe(truth.requests);
    for (const route of l.routes) {
      const exact = truth.durations[`${route.method} ${route.route}`]!;
      expect(route.count).toBe(exact.length);
      for (const [q, k] of [
        [0.5, 'p50'],
        [0.9, 'p90'],
        [0.95, 'p95'],
        [0.99, 'p99'],
      ] as const) {
        // Rank error is the t-digest's accuracy measure; in a sparse tail (p99 of ~2 000
        // values) a tiny rank error can still move the value by a percent or so.
        const e = exactPercentile(exact, q);
        const rank = exact.filter((v) => v <= route[k]).length / exact.length;
        expect(Math.abs(rank - q)).toBeLessThan(0.003);
        expect(Math.abs(route[k] - e) / e).toBeLessThan(0.02);
      }
      expect(route.max).toBe(Math.max(...exact));
    }
    const all = Object.values(truth.durations).flat();
    expect(l.slowest).toHaveLength(10);
    expect(l.slowest[0].durationMs).toBe(Math.max(...all));
    expect(l.slowest[0].correlationId).toMatch(/^[0-9a-f]{32}$/);
    expect(
      Object.fromEntries(
        l.operations.map((o: { operation: string; count: number }) => [o.operation, o.count]),
      ),
    ).toEqual(truth.operations);
    expect(l.slowestOperations[0].durationMs).toBeGreaterThanOrEqual(l.operations[0].p99);
  });

  it('prints the route table and slowest requests', async () => {
    const r = await cli(['latency', '--quiet', '--top', '3', '--route', 'search', app]);
    expect(r.stdout).toMatch(/method +route +count +p50 +p90 +p95 +p99/);
    expect(r.stdout).toContain('/memories/search');
    expect(r.stdout).not.toContain('DELETE');
    expect(r.stdout).toContain('Slowest requests');
  });
});

describe('trace', () => {
  it('orders the lines of one request with offsets and gaps', async () => {
    const r = await cli(['trace', FIRST_TRACE, '--json', '--quiet', app]);
    expect(r.code).toBe(0);
    const tr = json(r.stdout);
    expect(tr.found).toBe(6);
    expect(tr.lines[0].offsetMs).toBe(0);
    expect(tr.lines[0].deltaMs).toBeNull();
    for (let i = 1; i < tr.lines.length; i++) {
      expect(tr.lines[i].offsetMs).toBe(50 * i);
      expect(tr.lines[i].deltaMs).toBe(50);
    }
    expect(tr.spans).toBeNull();
    expect(tr.tempo).toBeNull();
    const human = await cli(['trace', FIRST_TRACE.toUpperCase(), '--quiet', app]);
    expect(human.stdout).toMatch(/^Trace 4BF92F3577B34DA6A3CE929D0E0E4736 · 6 log lines/);
    expect(human.stdout).toMatch(/offset +Δ prev +level +service/);
  });

  it('exits 1 when nothing matches and 2 for something that is not an id', async () => {
    const none = await cli(['trace', 'f'.repeat(32), '--quiet', app]);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('No log lines with this trace_id or correlation_id');
    expect((await cli(['trace', 'a b', app])).code).toBe(2);
    expect((await cli(['trace'], { input: '' })).code).toBe(2);
  });
});

describe('alerts', () => {
  const rules = (body: string) => {
    const f = join(t.dir, `rules-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(f, body);
    return f;
  };

  it('exits 1 when a rule fires and 0 when none does', async () => {
    const input = [0, 1, 2].map((i) => request(T0 + i * 1000, 503, 10)).join('\n');
    const firing = await cli(
      ['alerts', '--json', '--rules', rules('rules:\n  - name: Errors\n    expr: error_ratio > 1%\n')],
      {
        input,
      },
    );
    expect(firing.code).toBe(1);
    expect(json(firing.stdout).rules[0]).toMatchObject({
      name: 'Errors',
      state: 'firing',
      value: 1,
      samples: 3,
    });
    const quiet = await cli(
      ['alerts', '--rules', rules('rules:\n  - name: Slow\n    expr: p99_ms > 100000\n')],
      { input },
    );
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/ok +Slow +p99_ms > 100000/);
  });

  it('evaluates the last window by default and any window with --any', async () => {
    // A burst of 5xx at the start, then an hour of healthy traffic.
    const lines = [request(T0, 503, 5), request(T0 + 1000, 503, 5)];
    for (let m = 1; m <= 60; m++) lines.push(request(T0 + m * 60_000, 200, 5));
    const f = rules('window: 5m\nrules:\n  - name: Burst\n    expr: server_error_count > 1\n');
    const last = await cli(['alerts', '--json', '--rules', f], { input: lines.join('\n') });
    expect(last.code).toBe(0);
    const r = json(last.stdout).rules[0];
    expect(r.state).toBe('ok');
    expect(r.firedWindows).toBeGreaterThan(0);
    expect(r.firstFiredAt).toBe(new Date(T0 + 60_000).toISOString());
    const any = await cli(['alerts', '--any', '--rules', f], { input: lines.join('\n') });
    expect(any.code).toBe(1);
  });

  it('honours `for`: a condition shorter than `for` stays pending', async () => {
    const lines: string[] = [];
    for (let s = 0; s < 180; s += 5) lines.push(request(T0 + s * 1000, 200, 500));
    const f = rules('rules:\n  - name: Slow\n    expr: p95_ms > 200\n    window: 1m\n    for: 5m\n');
    const r = await cli(['alerts', '--json', '--rules', f], { input: lines.join('\n') });
    expect(r.code).toBe(0);
    expect(json(r.stdout).rules[0]).toMatchObject({ state: 'pending', firedWindows: 0 });
  });

  it('measures how long a breaker stays open, from its transition lines', async () => {
    const transition = (ms: number, to: string) =>
      rec(ms, { 'resilience.name': 'pg', 'resilience.circuit.from': 'x', 'resilience.circuit.to': to });
    const f = rules('rules:\n  - name: Open\n    expr: breaker_open_seconds > 60\n');
    const traffic = (from: number) =>
      [0, 30, 60, 90, 120, 150, 170].map((s) => request(from + s * 1000, 200, 5));
    const stuck = [
      transition(T0, 'open'),
      transition(T0 + 5000, 'half-open'),
      transition(T0 + 6000, 'open'),
      ...traffic(T0),
    ];
    const r = await cli(['alerts', '--json', '--rules', f], { input: stuck.join('\n') });
    expect(r.code).toBe(1);
    expect(json(r.stdout).rules[0].value).toBe(180);
    const recovered = [transition(T0, 'open'), transition(T0 + 30_000, 'closed'), ...traffic(T0)];
    expect((await cli(['alerts', '--rules', f], { input: recovered.join('\n') })).code).toBe(0);
  });

  it('groups by service (and route) and names the firing group', async () => {
    const lines: string[] = [];
    for (let s = 0; s < 60; s++) {
      lines.push(request(T0 + s * 1000, 200, 5, 'fast-api'));
      lines.push(request(T0 + s * 1000, 200, 900, 'slow-api', '/reports'));
    }
    const f = rules('rules:\n  - name: Slow\n    expr: p95_ms > 200\n    by: [service, route]\n');
    const r = json((await cli(['alerts', '--json', '--rules', f], { input: lines.join('\n') })).stdout)
      .rules[0];
    expect(r).toMatchObject({ state: 'firing', group: 'slow-api GET /reports', value: 900 });
    expect(r.groups).toEqual([{ group: 'slow-api GET /reports', state: 'firing', value: 900, samples: 60 }]);
  });

  it('runs the shipped rules (the collector thresholds) and exits by their state', async () => {
    const r = await cli(['alerts', '--json', '--quiet', app]);
    const a = json(r.stdout);
    expect(a.rules.map((x: { name: string }) => x.name)).toEqual([
      'HighRequestLatencyP95',
      'HighServerErrorRatio',
      'LowCacheHitRatio',
      'CircuitBreakerOpen',
      'LowRecoveryRate',
      'UnclassifiedErrors',
      'HighErrorLogRatio',
      'ServerErrorBurst',
      'HighErrorLogRate',
    ]);
    expect(r.code).toBe(a.firing > 0 ? 1 : 0);
    // The generated logs hold unclassified errors in every window.
    expect(a.rules.find((x: { name: string }) => x.name === 'UnclassifiedErrors').state).toBe('firing');
    const printed = await cli(['alerts', '--print-rules']);
    expect(printed.stdout).toContain('expr: p95_ms > 200');
  });

  it('rejects invalid rules with exit 2 and a message naming the problem', async () => {
    const cases: Array<[string, RegExp]> = [
      ['rules:\n  - name: X\n    expr: p95 > 200\n', /unknown metric "p95"/],
      ['rules:\n  - name: X\n    expr: p95_ms >> 200\n', /is not "<metric> <op> <number>"/],
      ['rules:\n  - name: X\n    expr: p95_ms > 1\n    windw: 5m\n', /unknown key "windw"/],
      ['rules:\n  - name: X\n    expr: p95_ms > 1\n    window: soon\n', /must be a duration/],
      ['rules:\n  - name: X\n    expr: error_count > 1\n    by: route\n', /route grouping/],
      ['rules: [\n', /invalid rules/],
      ['rules: []\n', /non-empty list/],
    ];
    for (const [body, msg] of cases) {
      const r = await cli(['alerts', '--rules', rules(body)], { input: '' });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    const missing = await cli(['alerts', '--rules', join(t.dir, 'nope.yaml')], { input: '' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read rules file');
  });
});

describe('report', () => {
  it('writes a Markdown daily report combining errors, latency and alerts', async () => {
    const r = await cli(['report', '--quiet', app]);
    expect(r.code).toBe(0);
    for (const h of [
      '# Operations report 2024-05-01',
      '## Summary',
      '## Alerts',
      '## Errors',
      '## Recovery',
      '## Latency',
    ]) {
      expect(r.stdout).toContain(h);
    }
    expect(r.stdout).toContain('| state | rule | condition |');
    expect(r.stdout).toContain('### Unclassified errors');
    expect(r.stdout).toContain(`${truth.malformed} malformed (skipped)`);
  });

  it('writes JSON with every section, to a file with --out', async () => {
    const out = join(t.dir, 'report.json');
    const r = await cli(['report', '--format', 'json', '--out', out, '--title', 'Daily', app]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`wrote ${out}`);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.title).toBe('Daily');
    expect(doc.errors.errors).toBe(truth.errors);
    expect(doc.latency.requests).toBe(truth.requests);
    expect(doc.alerts.rules.length).toBe(9);
    expect(doc.input.malformed).toBe(truth.malformed);
  });
});

describe('arguments', () => {
  it.each([
    [['eror'], /unknown command "eror" \(did you mean "errors"\?\)/],
    [['errors', '--colour'], /Unknown option '--colour'/],
    [['errors', '--top', 'ten'], /--top must be an integer/],
    [['errors', '--since', 'last tuesday'], /--since must be a duration/],
    [['errors', '--since', '1h', '--until', '2h'], /--since must be before --until/],
    [['errors', '--interval', 'fortnight'], /--interval must be a duration/],
    [['errors', '/no/such/file.log'], /cannot read "\/no\/such\/file.log": no such file/],
    [['errors', '/tmp'], /is a directory/],
    [['errors', '/no/such/*.log'], /no file matches/],
    [['errors', '--loki', 'http://x:3100'], /--loki needs --query/],
    [['errors', '--loki', 'not a url', '--query', '{a="b"}'], /is not a URL/],
    [['errors', '--query', '{a="b"}'], /--query is only for --loki/],
    [['report', '--follow'], /--follow is not available for report/],
    [['report', '--format', 'xml'], /--format must be md or json/],
    [['trace', 'abc', '--tempo', 'nope'], /--tempo "nope" is not a URL/],
    [
      ['errors', '--loki-header', 'novalue', '--loki', 'http://x', '--query', '{a="b"}'],
      /--loki-header must look like/,
    ],
    [['help', 'nope'], /unknown command "nope"/],
  ])('%j exits 2 with a clear message', async (args, msg) => {
    const r = await cli(args, { input: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('asks for input instead of waiting on a terminal', async () => {
    let err = '';
    const stdin = Object.assign(Readable.from([]), { isTTY: true });
    const code = await runCli(['errors'], {
      stdin,
      stdout: { write: () => true },
      stderr: { write: (s: string) => (err += s) },
    });
    expect(code).toBe(2);
    expect(err).toContain('no input: give log files or globs');
  });

  it.each(['trace', 'errors', 'latency', 'alerts', 'report'])('%s --help prints its usage', async (cmd) => {
    const r = await cli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: mem0-logs ${cmd}`));
    expect(r.stdout).toContain('--json');
    expect((await cli(['help', cmd])).stdout).toBe(r.stdout);
  });

  it('prints the overview with --help (0) and without a command (2), and the version', async () => {
    const h = await cli(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['trace <id>', 'errors', 'latency', 'alerts', 'report', 'Exit codes'])
      expect(h.stdout).toContain(c);
    expect((await cli([])).code).toBe(2);
    const v = await cli(['--version']);
    expect(v.stdout.trim()).toBe(
      JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version,
    );
  });
});
