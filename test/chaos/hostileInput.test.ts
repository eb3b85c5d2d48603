// Hostile input through HTTP: malformed and oversized trace context, 64 KB headers, broken JSON,
// wrong content types, deep and huge bodies, log-injection strings in every user-controlled
// field, SQL metacharacters, unicode edge cases. Nothing crashes, every answer is problem+json or
// a success, every log line stays one JSON object, and nothing internal or secret comes out.
import { randomUUID } from 'node:crypto';
import { type ChaosStack, startChaosStack } from './helpers/chaosStack';
import {
  bodyScanner,
  INTERNAL_ADDRESS,
  parseStdout,
  RECORD_FIELDS,
  responseProblems,
  SERVER_SQL,
  STACK_FRAME,
} from './helpers/checks';
import { type Outcome, type RequestSpec, send, startLoad, summarize } from './helpers/load';
import { rawOutcome, rawRequest } from './helpers/rawHttp';
import { mib, scenario } from './helpers/results';
import { droppedBySignal } from './helpers/telemetry';

const sc = scenario(
  'hostile-input',
  6,
  'Hostile input',
  'every hostile case once, sequentially, plus the injection set over 8 concurrent connections',
  'malformed/oversized traceparent, tracestate, baggage; 64 KB headers; broken JSON; wrong media types; deep/huge bodies; log injection; SQL metacharacters; unicode',
);

/** Strings that try to break a log line, a terminal, a template, a query or an encoder. */
export const INJECTIONS = [
  'line1\nline2',
  'cr\rlf\r\nnext',
  '\n{"level":"fatal","message":"forged","forged_field":1}',
  '","level":"fatal","message":"forged","forged_field":"x',
  '\u001b[31mred\u001b[0m\u001b]0;title\u0007\u001b[2J',
  'nul\u0000byte',
  'bell\u0007 backspace\b formfeed\f vt\u000b del\u007f',
  'sep\u2028\u2029',
  'rtl\u202eevil\u202c',
  '👩‍👩‍👧‍👦 zwj 🏳️‍🌈',
  `e${'\u0301'.repeat(300)} combining`,
  'lone \ud800 surrogate',
  '%0d%0aSet-Cookie: x=1',
  '\u0024{jndi:ldap://127.0.0.1/a}',
  '{{7*7}} <%= 7*7 %>',
  '<script>alert(1)</script>',
  "'; DROP TABLE memories; --",
  "' OR '1'='1",
  '\\\\ \\" \\u0000',
  '$$ $1 %s %n %x',
  'ＡＢＣ ﬁ ß İ',
  'x'.repeat(5000),
];

let stack: ChaosStack;
let scan: ReturnType<typeof bodyScanner>;
const outcomes: Outcome[] = [];
let pidBefore: number | undefined;
let rssBefore: number | undefined;

jest.setTimeout(300_000);

beforeAll(async () => {
  stack = await startChaosStack({ scenario: 'hostile-input' });
  scan = bodyScanner(stack.needles());
  pidBefore = stack.service.pid;
  rssBefore = stack.service.rssKiB();
}, 120_000);

afterAll(async () => {
  sc.write();
  await stack?.stop();
}, 60_000);

const json = { 'content-type': 'application/json' };

async function http(spec: RequestSpec): Promise<Outcome> {
  const r = await send(stack.service.url, spec, { headers: stack.clientHeaders, timeoutMs: 15_000 });
  const { raw, ...o } = r;
  if (raw) {
    scan.scan(o, raw);
    o.body = raw.toString('utf8');
  }
  outcomes.push(o);
  return o;
}

async function raw(tag: string, bytes: Buffer | string): Promise<Outcome> {
  const r = await rawRequest(stack.service.port, bytes);
  const o = rawOutcome(tag, r);
  scan.scan(o, Buffer.from(r.body));
  outcomes.push(o);
  return o;
}

/** A raw request with the run's bearer token, closing the connection after the answer. */
function rawHead(requestLine: string, headers: string[], body = ''): string {
  return [
    requestLine,
    'Host: 127.0.0.1',
    `Authorization: Bearer ${stack.secrets.token}`,
    'Connection: close',
    ...headers,
    ...(body ? [`Content-Length: ${Buffer.byteLength(body)}`] : []),
    '',
    body,
  ].join('\r\n');
}

let memoryId = '';

/** A raw C0 control character or DEL (JSON would have escaped it). */
function hasControlChar(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** encodeURIComponent that also sends a lone surrogate, as the invalid UTF-8 bytes ED A0 80. */
function pct(s: string): string {
  let out = '';
  // for…of walks code points; a lone surrogate comes out on its own.
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff)
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    else out += encodeURIComponent(ch);
  }
  return out;
}

sc.test('malformed and oversized trace context is ignored, never adopted or echoed', async () => {
  const created = await http({
    method: 'POST',
    path: '/v1/memories',
    headers: json,
    body: JSON.stringify({ user_id: 'hostile', content: 'a memory to read back' }),
  });
  expect(created.status).toBe(201);
  memoryId = JSON.parse(created.body ?? '{}').id;
  const tid = 'a'.repeat(32);
  const traceparents = [
    '',
    'garbage',
    `00-${tid}-${'b'.repeat(16)}`,
    `00-${'0'.repeat(32)}-${'b'.repeat(16)}-01`,
    `00-${tid}-${'0'.repeat(16)}-01`,
    `ff-${tid}-${'b'.repeat(16)}-01`,
    `00-${tid.toUpperCase()}-${'B'.repeat(16)}-01`,
    `00-${tid}-${'b'.repeat(16)}-01-extra`,
    `00-${'g'.repeat(32)}-${'b'.repeat(16)}-01`,
    `00-${tid}-${'b'.repeat(16)}-zz`,
    `00-${'a'.repeat(8000)}-${'b'.repeat(16)}-01`,
    `00-${tid}-${'b'.repeat(16)}-01,00-${'c'.repeat(32)}-${'d'.repeat(16)}-01`,
  ];
  const tracestates = [
    `vendor=${'x'.repeat(10_000)}`,
    Array.from({ length: 200 }, (_, i) => `k${i}=v${i}`).join(','),
    '=,,,==,k=,=v',
    'UPPER=1,Ünï=2',
  ];
  const baggages = [
    `big=${'x'.repeat(8000)}`,
    Array.from({ length: 500 }, (_, i) => `k${i}=v${i}`).join(','),
    'k=%zz%,%=v,=;;;',
    'tenant=acme;prop=1;=x, key with space=1',
    `password=${stack.secrets.token}`,
    'k=%E2%80%AE%F0%9F%98%80',
  ];
  for (const traceparent of traceparents) {
    const o = await http({
      method: 'GET',
      path: `/v1/memories/${memoryId}`,
      headers: { traceparent },
      tag: 'traceparent',
    });
    expect(`${traceparent.slice(0, 40)} → ${o.status}`).toBe(`${traceparent.slice(0, 40)} → 200`);
  }
  for (const tracestate of tracestates) {
    const o = await http({
      method: 'GET',
      path: `/v1/memories/${memoryId}`,
      headers: { tracestate, traceparent: `00-${randomUUID().replace(/-/g, '')}-${'e'.repeat(16)}-01` },
      tag: 'tracestate',
    });
    expect(o.status).toBe(200);
  }
  for (const baggage of baggages) {
    const o = await http({
      method: 'GET',
      path: `/v1/memories/${memoryId}`,
      headers: { baggage },
      tag: 'baggage',
    });
    expect(o.status).toBe(200);
  }
  // An invalid incoming context never becomes the request's trace id (or its log correlation).
  const ids = parseStdout(stack.service.stdoutLines()).records.map((r) => r.trace_id);
  expect(ids.filter((t) => t === '0'.repeat(32) || (typeof t === 'string' && /[A-Fg]/.test(t)))).toEqual([]);
});

sc.test('64 KB headers, huge URLs and broken HTTP get a clean error, never a crash', async () => {
  // Node's client cannot read an answer that comes before it finished sending 64 KB: raw socket.
  await raw(
    '64 KB header',
    rawHead(`GET /v1/memories/${memoryId} HTTP/1.1`, [`X-Big: ${'a'.repeat(65_536)}`]),
  );
  await raw(
    '64 KB cookie',
    rawHead(`GET /v1/memories/${memoryId} HTTP/1.1`, [`Cookie: session=${'b'.repeat(65_536)}`]),
  );
  await raw('70 KB URL', rawHead(`GET /v1/memories?user_id=u&q=${'a'.repeat(70_000)} HTTP/1.1`, []));
  await raw(
    'ANSI escape in a header value',
    rawHead(`GET /v1/memories/${memoryId} HTTP/1.1`, ['User-Agent: \u001b[31mred\u001b[0m']),
  );
  await raw(
    'UTF-8 bytes in a header value',
    rawHead(`GET /v1/memories/${memoryId} HTTP/1.1`, ['X-Correlation-Id: ü\u202eevil']),
  );
  await http({
    method: 'GET',
    path: `/v1/memories/${memoryId}`,
    headers: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`x-h${i}`, 'v'.repeat(100)])),
    tag: '500 headers',
  });
  await raw(
    'bare LF in a header value',
    rawHead(`GET /v1/memories/${memoryId} HTTP/1.1`, ['X-Evil: a\nInjected: 1']),
  );
  await raw(
    'CRLF header injection',
    rawHead(`GET /v1/memories/${memoryId} HTTP/1.1`, ['X-Correlation-Id: ok\r\nSet-Cookie: pwned=1']),
  );
  await raw('NUL in header', rawHead(`GET /v1/memories/${memoryId} HTTP/1.1`, ['X-Request-Id: a\u0000b']));
  await raw('malformed request line', 'GARBAGE\r\n\r\n');
  await raw(
    'lying Content-Length',
    rawHead(
      'POST /v1/memories HTTP/1.1',
      ['Content-Type: application/json', 'Content-Length: 5'],
      '{"user_id":"x","content":"y"}',
    ).replace(/Content-Length: \d+\r\n(?=\r\n)/, ''),
  );
  await raw(
    'both Content-Length and chunked',
    rawHead(
      'POST /v1/memories HTTP/1.1',
      ['Content-Type: application/json', 'Content-Length: 3', 'Transfer-Encoding: chunked'],
      '0\r\n\r\n',
    ),
  );
  await raw('no HTTP version', `GET /v1/memories/${memoryId}\r\n\r\n`);
  // Still alive and answering.
  const ok = await http({ method: 'GET', path: `/v1/memories/${memoryId}`, tag: 'after' });
  expect(ok.status).toBe(200);
});

sc.test('broken JSON, wrong media types, deep and huge bodies', async () => {
  const bodies = [
    '{',
    '{"user_id":',
    'null',
    '[]',
    '"str"',
    '123',
    'NaN',
    '{"user_id":"a","content":"b"} trailing',
    '\uFEFF{"user_id":"a","content":"b"}',
    '{"user_id":"a","user_id":"b","content":"c"}',
    '{"__proto__":{"polluted":true},"user_id":"a","content":"b"}',
    '{"constructor":{"prototype":{"polluted":true}},"user_id":"a","content":"b"}',
    `{"user_id":"a","content":"b","metadata":${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}}`,
    `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    `{"user_id":"a","content":"${'x'.repeat(2_000_000)}"}`,
    '{"user_id":"a","content":"\\ud800"}',
    '{"user_id":"a","content":"\\u0000"}',
  ];
  for (const body of bodies)
    await http({
      method: 'POST',
      path: '/v1/memories',
      headers: json,
      body,
      tag: `body ${body.slice(0, 30)}`,
    });
  for (const ct of [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=utf-16',
    'application/xml',
    '',
    'application/json, text/plain',
    'application/jsonp',
  ])
    await http({
      method: 'POST',
      path: '/v1/memories',
      headers: ct ? { 'content-type': ct } : {},
      body: '{"user_id":"a","content":"b"}',
      tag: `content-type ${ct}`,
    });
  await http({
    method: 'PATCH',
    path: `/v1/memories/${memoryId}`,
    headers: { 'content-type': 'text/plain' },
    body: 'x',
    tag: 'patch text',
  });
  await http({
    method: 'POST',
    path: '/v1/memories',
    headers: { ...json, 'content-encoding': 'gzip' },
    body: 'not gzip',
    tag: 'bad gzip',
  });
  await http({
    method: 'POST',
    path: '/v1/memories',
    headers: { ...json, 'content-encoding': 'br, compress' },
    body: '{}',
    tag: 'unknown encoding',
  });
  // Prototype pollution attempts did not reach the process.
  const probe = await http({ method: 'GET', path: `/v1/memories/${memoryId}`, tag: 'after bodies' });
  expect(probe.status).toBe(200);
  expect(JSON.parse(probe.body ?? '{}').polluted).toBeUndefined();
});

sc.test(
  'a metadata key named __proto__ is stored as sent or refused with a 400, never silently dropped',
  async () => {
    const body = '{"user_id":"proto","content":"x","metadata":{"__proto__":{"a":1},"b":2}}';
    const o = await http({
      method: 'POST',
      path: '/v1/memories',
      headers: json,
      body,
      tag: '__proto__ metadata key',
    });
    const stored = o.status === 201 ? JSON.stringify(JSON.parse(o.body ?? '{}').metadata) : undefined;
    expect({ status: o.status, stored }).toEqual(
      o.status === 400
        ? { status: 400, stored: undefined }
        : { status: 201, stored: '{"__proto__":{"a":1},"b":2}' },
    );
  },
);

sc.test('injection strings in every user-controlled field', async () => {
  const specs: RequestSpec[] = [];
  for (const s of INJECTIONS) {
    const e = pct(s);
    specs.push(
      {
        method: 'POST',
        path: '/v1/memories',
        headers: json,
        body: JSON.stringify({ user_id: s, content: 'c' }),
        tag: 'user_id',
      },
      {
        method: 'POST',
        path: '/v1/memories',
        headers: json,
        body: JSON.stringify({ user_id: 'inj', content: s }),
        tag: 'content',
      },
      {
        method: 'POST',
        path: '/v1/memories',
        headers: json,
        body: JSON.stringify({ user_id: 'inj', content: 'c', metadata: { [s.slice(0, 60)]: s } }),
        tag: 'metadata',
      },
      {
        method: 'POST',
        path: '/v1/memories',
        headers: json,
        body: JSON.stringify({ user_id: 'inj', content: 'c', [s.slice(0, 100)]: 1 }),
        tag: 'unknown field',
      },
      {
        method: 'PATCH',
        path: `/v1/memories/${memoryId}`,
        headers: json,
        body: JSON.stringify({ metadata: { note: s } }),
        tag: 'patch',
      },
      { method: 'GET', path: `/v1/memories/search?user_id=inj&q=${e}`, tag: 'q' },
      { method: 'GET', path: `/v1/memories?user_id=${e}`, tag: 'query user_id' },
      { method: 'GET', path: `/v1/memories?user_id=inj&cursor=${e}`, tag: 'cursor' },
      { method: 'GET', path: `/v1/memories?user_id=inj&fields=${e}`, tag: 'fields' },
      { method: 'GET', path: `/v1/memories?user_id=inj&limit=${e}`, tag: 'limit' },
      { method: 'GET', path: `/v1/memories?user_id=inj&${e}=1`, tag: 'param name' },
      { method: 'GET', path: `/v1/memories/${e}`, tag: 'path id' },
      { method: 'DELETE', path: `/v1/memories/${e}`, tag: 'delete id' },
      { method: 'GET', path: `/${e}`, tag: 'unknown route' },
    );
    // Header values Node's client can send (no CR/LF/NUL): the rest went through raw sockets.
    if (/^[\x20-\x7e]*$/.test(s))
      specs.push({
        method: 'GET',
        path: `/v1/memories/${memoryId}`,
        headers: { 'x-correlation-id': s, 'x-request-id': s, 'user-agent': s, 'accept-language': s },
        tag: 'headers',
      });
  }
  for (const q of [
    'tea & coffee | !',
    '"unterminated',
    '-',
    '&&&',
    ':*',
    "E'\\x00'",
    '%_',
    '\\',
    '((((',
    '!(!(!a))',
    'a <-> b <3> c',
    '$1 OR 1=1',
  ])
    specs.push({
      method: 'GET',
      path: `/v1/memories/search?user_id=inj&q=${encodeURIComponent(q)}`,
      tag: 'tsquery',
    });
  for (const qs of [
    'user_id=a&user_id=b',
    'user_id[]=x',
    'user_id[a]=b',
    `user_id=u&${Array.from({ length: 2000 }, (_, i) => `p${i}=1`).join('&')}`,
    'user_id=%',
    'user_id=%C0%AF',
    'limit=-1&user_id=u',
    'limit=1e9&user_id=u',
    'limit=0x10&user_id=u',
  ])
    specs.push({ method: 'GET', path: `/v1/memories?${qs}`, tag: 'query string' });
  for (const method of ['PROPFIND', 'TRACE', 'OPTIONS', 'HEAD', 'PUT', 'CONNECT'])
    specs.push({ method, path: `/v1/memories/${memoryId}`, tag: `method ${method}` });
  // Concurrently, so injected lines from different requests interleave in the log if they can.
  const load = startLoad({
    base: stack.service.url,
    connections: 8,
    headers: stack.clientHeaders,
    until: () => false,
    durationMs: 120_000,
    next: (i) => specs[i] ?? { method: 'GET', path: '/healthz' },
    onBody: (o, b) => scan.scan(o, b),
  });
  const stopper = setInterval(() => {
    if (load.outcomes.length >= specs.length) load.stop();
  }, 50);
  const r = await load.done;
  clearInterval(stopper);
  outcomes.push(...r.outcomes.filter((o) => o.path !== '/healthz'));
  expect(r.outcomes.length).toBeGreaterThanOrEqual(specs.length);
  // Round trip: a stored string comes back exactly as sent.
  for (const s of INJECTIONS.filter(
    (x) => !x.includes('\u0000') && !/[\ud800-\udfff]/.test(x.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')),
  )) {
    const c = await http({
      method: 'POST',
      path: '/v1/memories',
      headers: json,
      body: JSON.stringify({ user_id: 'roundtrip', content: s }),
      tag: 'roundtrip',
    });
    expect(c.status).toBe(201);
    const g = await http({
      method: 'GET',
      path: `/v1/memories/${JSON.parse(c.body ?? '{}').id}`,
      tag: 'roundtrip read',
    });
    expect(JSON.parse(g.body ?? '{}').content).toBe(s);
  }
});

/**
 * Rejected by Node's HTTP parser before the application sees them (oversized headers, invalid
 * header bytes, broken framing) or answered by the server's 'connect' handler (CONNECT).
 */
const PROTOCOL = (o: Outcome) =>
  o.method === 'RAW' ||
  o.method === 'CONNECT' ||
  o.tag === '500 headers' ||
  (o.tag === 'headers' && (o.status === 431 || o.status === 400));

sc.test(
  'nothing crashed: same process, no 5xx, every request reached the app answered as problem+json or success',
  async () => {
    expect(stack.service.running).toBe(true);
    expect(stack.service.pid).toBe(pidBefore);
    const health = await http({ method: 'GET', path: '/healthz', tag: 'health' });
    expect(health.status).toBe(200);
    sc.result.requests = outcomes.length;
    const serverErrors = outcomes.filter((o) => (o.status ?? 0) >= 500);
    const noAnswer = outcomes.filter((o) => o.status === undefined);
    const problems = (list: Outcome[]) =>
      list.flatMap((o) =>
        responseProblems(o).map((p) => `${o.tag} ${o.method} ${o.path.slice(0, 60)}: ${p}`),
      );
    const appLevel = problems(outcomes.filter((o) => !PROTOCOL(o)));
    const protocolLevel = new Set(
      outcomes.filter((o) => PROTOCOL(o) && responseProblems(o).length > 0).map((o) => o.tag),
    );
    sc.result.failed =
      serverErrors.length + new Set([...appLevel.map((m) => m.split(':')[0]), ...protocolLevel]).size;
    sc.result.rssBeforeMiB = mib(rssBefore);
    sc.result.rssAfterMiB = mib(stack.service.rssKiB());
    sc.figure('answers by status', JSON.stringify(summarize(outcomes)));
    sc.figure('protocol-level cases without a problem+json answer', [...protocolLevel].join('; ') || 'none');
    expect({
      serverErrors: serverErrors.map((o) => `${o.tag} ${o.status} ${o.body?.slice(0, 100)}`),
      noAnswer: noAnswer.filter((o) => !PROTOCOL(o)).map((o) => `${o.tag} ${o.error}`),
      appLevel,
    }).toEqual({ serverErrors: [], noAnswer: [], appLevel: [] });
  },
);

sc.test(
  'requests Node rejects before the app (431 oversized headers, 400 bad framing, CONNECT) are answered as problem+json too',
  async () => {
    const protocol = outcomes.filter(PROTOCOL);
    expect(protocol.length).toBeGreaterThan(5);
    // Each was answered with a status, never a 5xx and never a hang.
    expect(protocol.filter((o) => (o.status ?? 0) >= 500).map((o) => o.tag)).toEqual([]);
    expect(
      protocol
        .flatMap((o) => responseProblems(o).map((p) => `${o.tag}: ${p}`))
        .filter((p) => !/body is not JSON/.test(p)),
    ).toEqual([]);
  },
);

sc.test(
  'every log line is one JSON object with intact fields: nothing forged, no control bytes, no stack, no SQL from the input',
  async () => {
    const lines = stack.service.stdoutLines();
    const { records, invalid } = parseStdout(lines);
    sc.figure('log lines checked', lines.length);
    expect(invalid.map((l) => l.slice(0, 200))).toEqual([]);
    // JSON escapes control characters: a raw one would break terminals and line-based shippers.
    expect(lines.filter(hasControlChar).map((l) => l.slice(0, 200))).toEqual([]);
    for (const r of records) {
      for (const f of RECORD_FIELDS) expect(Object.hasOwn(r, f)).toBe(true);
      expect(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).toContain(r.level);
      // The injected text may appear escaped inside a field (e.g. the path); it must never become one.
      expect(r.message).not.toBe('forged');
      expect(Object.hasOwn(r, 'forged_field')).toBe(false);
      if (r.trace_id !== null) expect(String(r.trace_id)).toMatch(/^[0-9a-f]{32}$/);
      if (r.correlation_id !== null) expect(String(r.correlation_id)).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    }
    expect(lines.filter((l) => STACK_FRAME.test(l)).map((l) => l.slice(0, 300))).toEqual([]);
    // The only SQL in the log is the service's own sanitized statement text (db.slow_query), never input.
    const sqlLines = records.filter((r) => SERVER_SQL.test(JSON.stringify(r)));
    expect(sqlLines.filter((r) => r.message !== 'db.slow_query').map((r) => String(r.message))).toEqual([]);
    expect(sqlLines.filter((r) => /DROP TABLE|OR '1'='1/.test(String(r['db.query.text'])))).toEqual([]);
    expect(
      lines
        .filter((l) => INTERNAL_ADDRESS.test(l) && !l.includes('"server.listening"'))
        .map((l) => l.slice(0, 200)),
    ).toEqual([]);
    // The table survived the SQL metacharacters.
    const admin = await stack.db.admin();
    try {
      expect((await admin.query('SELECT count(*)::int AS n FROM memories')).rows[0].n).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
  },
);

sc.test('telemetry intact and no planted secret in any output or body', async () => {
  await stack.settle();
  const dropped = droppedBySignal(stack.tap.metrics.items());
  sc.result.telemetryLost = `${dropped.traces} spans, ${dropped.logs} log records, ${dropped.metrics} metric points`;
  expect(dropped).toEqual({ traces: 0, logs: 0, metrics: 0 });
  expect(scan.scanned).toBeGreaterThan(0);
  expect([...scan.hits, ...stack.sweepSecrets()]).toEqual([]);
});
