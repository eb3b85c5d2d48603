// Property-based fuzzing with fast-check: the service's HTTP input validation (through HTTP,
// against an oracle of what the API documents as valid) and @mem0-stack/errors' classify() and
// problemDetails() in-process, with thousands of generated cases each.
import { AppError, classify, problemDetails } from '@mem0-stack/errors';
import fc from 'fast-check';
import { type ChaosStack, startChaosStack } from './helpers/chaosStack';
import { bodyScanner, CATEGORIES, parseStdout, responseProblems, STACK_FRAME } from './helpers/checks';
import { type Outcome, send } from './helpers/load';
import { mib, scenario } from './helpers/results';
import { droppedBySignal } from './helpers/telemetry';

const RUNS = Number(process.env.CHAOS_FUZZ_RUNS ?? 1000);
const IN_PROCESS_RUNS = Math.max(RUNS * 5, 1000);
const SEED = Number(process.env.CHAOS_FUZZ_SEED ?? Date.now() % 2 ** 31);

const sc = scenario(
  'fuzz',
  7,
  'Fuzz (fast-check)',
  `${RUNS} generated cases per HTTP property (3), ${IN_PROCESS_RUNS} per in-process property (3), seed ${SEED}`,
  'generated request bodies and query strings; generated thrown values',
);

let stack: ChaosStack;
let scan: ReturnType<typeof bodyScanner>;
const outcomes: Outcome[] = [];
let rssBefore: number | undefined;

jest.setTimeout(600_000);

beforeAll(async () => {
  stack = await startChaosStack({ scenario: 'fuzz' });
  scan = bodyScanner(stack.needles());
  rssBefore = stack.service.rssKiB();
}, 120_000);

afterAll(async () => {
  sc.result.requests = outcomes.length;
  sc.result.failed = outcomes.filter((o) => o.status === undefined || o.status >= 500).length;
  sc.result.rssBeforeMiB = mib(rssBefore);
  sc.result.rssAfterMiB = mib(stack?.service.rssKiB());
  sc.write();
  await stack?.stop();
}, 60_000);

async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const r = await send(stack.service.url, { method, path, body, headers }, { headers: stack.clientHeaders });
  const { raw, ...o } = r;
  if (raw) {
    scan.scan(o, raw);
    o.body = raw.toString('utf8');
  }
  outcomes.push(o);
  return o;
}

const USER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const MAX_CONTENT = 8192;

/** Strings PostgreSQL cannot store as text/jsonb (NUL) or that do not survive UTF-8 (lone surrogates). */
const unstorable = (s: string) =>
  s.includes('\u0000') || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
const anyUnstorable = (v: unknown): boolean =>
  typeof v === 'string'
    ? unstorable(v)
    : Array.isArray(v)
      ? v.some(anyUnstorable)
      : v !== null && typeof v === 'object'
        ? Object.entries(v).some(([k, x]) => unstorable(k) || anyUnstorable(x))
        : false;

/** What the API documents as a valid create body (README: API and errors). */
function validCreate(b: Record<string, unknown>): boolean {
  const keys = Object.keys(b);
  if (keys.some((k) => !['user_id', 'content', 'metadata'].includes(k))) return false;
  if (typeof b.user_id !== 'string' || !USER_ID.test(b.user_id)) return false;
  if (typeof b.content !== 'string' || b.content.length === 0 || b.content.length > MAX_CONTENT) return false;
  if (b.metadata !== undefined) {
    const m = b.metadata;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return false;
    // Refused on purpose (README: API and errors): a schema would drop it silently.
    if (Object.hasOwn(m, '__proto__')) return false;
    if (Object.keys(m).some((k) => k.length > 64)) return false;
    if (JSON.stringify(m).length > 4096) return false;
    // README: metadata numbers beyond ±(2^53 − 1) (up to 2^64) lose digits: refused.
    if (anyInexact(m)) return false;
  }
  // README: text PostgreSQL cannot store as sent (NUL, lone surrogates) is refused.
  if (anyUnstorable(b)) return false;
  return true;
}

const anyInexact = (v: unknown): boolean =>
  typeof v === 'number'
    ? !Number.isFinite(v) || (Math.abs(v) > Number.MAX_SAFE_INTEGER && Math.abs(v) < 2 ** 64)
    : v !== null && typeof v === 'object' && Object.values(v).some(anyInexact);

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.stringMatching(/^[A-Za-z0-9._:@-]{1,20}$/),
  fc.constantFrom(
    '',
    ' ',
    'a'.repeat(129),
    'x'.repeat(MAX_CONTENT),
    'x'.repeat(MAX_CONTENT + 1),
    '\u0000',
    "'; --",
    '\n{"level":"fatal"}',
  ),
);
const value = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
);

sc.test(
  `POST /v1/memories: ${RUNS} generated bodies — valid ones stored exactly, the rest a 400 problem, never a 5xx`,
  async () => {
    let stored = 0;
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          // Mostly-valid bodies (so the accepting side is exercised too)…
          fc.record(
            {
              user_id: fc.stringMatching(/^[A-Za-z0-9._:@-]{1,128}$/),
              content: fc.oneof(
                fc.string({ minLength: 1, maxLength: 200 }),
                fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }),
                fc.string({ unit: 'binary', minLength: 1, maxLength: 50 }),
              ),
              metadata: fc.dictionary(fc.string({ maxLength: 64 }), fc.jsonValue({ maxDepth: 2 }), {
                maxKeys: 4,
              }),
            },
            { requiredKeys: ['user_id', 'content'] },
          ),
          // …and anything at all in the same fields.
          fc.record(
            {
              user_id: fc.oneof(text, value),
              content: fc.oneof(text, value),
              metadata: fc.oneof(fc.dictionary(text, value, { maxKeys: 5 }), value),
            },
            { requiredKeys: [] },
          ),
        ),
        fc.dictionary(fc.string({ maxLength: 10 }), value, { maxKeys: 2 }),
        async (base, extra) => {
          const body: Record<string, unknown> = { ...base, ...(Math.random() < 0.2 ? extra : {}) };
          const o = await call('POST', '/v1/memories', JSON.stringify(body), {
            'content-type': 'application/json',
          });
          expect(responseProblems(o)).toEqual([]);
          expect(o.status).toBeLessThan(500);
          if (validCreate(body)) {
            expect(o.status).toBe(201);
            const m = JSON.parse(o.body ?? '{}');
            // What was sent, as JSON (-0 is 0 on the wire).
            const sent = JSON.parse(JSON.stringify(body));
            expect({ user_id: m.user_id, content: m.content, metadata: m.metadata }).toEqual({
              user_id: sent.user_id,
              content: sent.content,
              metadata: sent.metadata ?? {},
            });
            stored++;
          } else {
            expect(o.status).toBe(400);
            expect(JSON.parse(o.body ?? '{}').code).toMatch(/^(VALIDATION_FAILED|MALFORMED_JSON)$/);
            rejected++;
          }
        },
      ),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    sc.figure('generated creates stored / rejected', `${stored} / ${rejected}`);
    expect(stored).toBeGreaterThan(RUNS / 20);
    expect(rejected).toBeGreaterThan(RUNS / 20);
  },
);

sc.test(
  `GET list and search: ${RUNS} generated query strings — 200 or a 400 problem, never a 5xx`,
  async () => {
    const qv = fc.oneof(
      text,
      fc.integer().map(String),
      fc.constantFrom('1', '100', '101', '0', '-1', '1.5', 'id,content', 'id,nope', ''),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/memories', '/v1/memories/search'),
        fc.dictionary(
          fc.oneof(fc.constantFrom('user_id', 'q', 'limit', 'cursor', 'fields'), fc.string({ maxLength: 8 })),
          qv,
          { maxKeys: 5 },
        ),
        async (path, query) => {
          const qs = new URLSearchParams(query as Record<string, string>).toString();
          // Past Node's 16 KB header limit the parser answers (431) before the app: hostileInput covers it.
          fc.pre(qs.length < 8000);
          const o = await call('GET', `${path}?${qs}`);
          expect(responseProblems(o)).toEqual([]);
          expect([200, 400]).toContain(o.status);
          if (o.status === 200) {
            // Only documented parameters, with a valid user id, are accepted.
            const allowed = path.endsWith('search')
              ? ['user_id', 'q', 'limit', 'fields']
              : ['user_id', 'limit', 'cursor', 'fields'];
            expect(Object.keys(query).every((k) => allowed.includes(k))).toBe(true);
            expect(USER_ID.test(String(query.user_id))).toBe(true);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED + 1, endOnFailure: true },
    );
  },
);

sc.test(
  `item routes: ${RUNS} generated ids and patches — 200/204/404 or a 400 problem, never a 5xx`,
  async () => {
    const created = await call(
      'POST',
      '/v1/memories',
      JSON.stringify({ user_id: 'fuzz', content: 'patch me' }),
      {
        'content-type': 'application/json',
      },
    );
    const id = JSON.parse(created.body ?? '{}').id as string;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(id), fc.uuid(), fc.string({ maxLength: 40 }), fc.constant(id.toUpperCase())),
        fc.constantFrom('GET', 'PATCH', 'DELETE'),
        fc.record(
          {
            content: fc.oneof(text, value),
            metadata: fc.oneof(fc.dictionary(text, value, { maxKeys: 3 }), value),
          },
          { requiredKeys: [] },
        ),
        async (target, method, patch) => {
          // Never delete the one real memory: its PATCHes are the interesting ones.
          const m = method === 'DELETE' && target.toLowerCase() === id ? 'GET' : method;
          const o = await call(
            m,
            `/v1/memories/${encodeURIComponent(target)}`,
            m === 'PATCH' ? JSON.stringify(patch) : undefined,
            m === 'PATCH' ? { 'content-type': 'application/json' } : {},
          );
          expect(responseProblems(o)).toEqual([]);
          expect([200, 204, 400, 404]).toContain(o.status);
        },
      ),
      { numRuns: RUNS, seed: SEED + 2, endOnFailure: true },
    );
  },
);

/** Thrown values as they come: errors of every shape, hostile objects, cycles, throwing getters. */
const SECRET_MARK = 'fuzz-secret-9f3c';
const thrown = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.anything(),
    tie('errorLike'),
    fc.string().map((m) => new Error(`${SECRET_MARK} ${m}`)),
    fc.constantFrom(
      null,
      undefined,
      0,
      '',
      Symbol('s'),
      () => 1,
      new Proxy(
        {},
        {
          get() {
            throw new Error('trap');
          },
        },
      ),
    ),
  ),
  errorLike: fc.record(
    {
      name: fc.oneof(
        fc.string(),
        fc.constantFrom('AggregateError', 'AbortError', 'TimeoutError', 'DatabaseError', 'ZodError'),
      ),
      message: fc
        .string()
        .map(
          (m) =>
            `${SECRET_MARK} password=hunter2 at Object.<anonymous> (/work/x.ts:1:2) SELECT * FROM users ${m}`,
        ),
      code: fc.oneof(
        fc.string({ maxLength: 8 }),
        fc.constantFrom(
          '40001',
          '23505',
          '57P01',
          'ECONNRESET',
          'ETIMEDOUT',
          'ECONNREFUSED',
          'ERR_INVALID_ARG_TYPE',
        ),
        fc.integer(),
      ),
      status: fc.oneof(fc.integer({ min: -1, max: 1000 }), fc.string({ maxLength: 4 })),
      statusCode: fc.integer({ min: 0, max: 700 }),
      severity: fc.constantFrom('ERROR', 'FATAL', 'x'),
      retryAfter: fc.oneof(fc.integer(), fc.string()),
      stack: fc.constant('Error: x\n    at secret (/srv/app/db.js:10:5)'),
      errors: fc.array(tie('value'), { maxLength: 3 }),
      cause: tie('value'),
      details: fc.array(fc.record({ path: fc.string(), message: fc.string() }), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  ),
}));

sc.test(
  `classify(): ${IN_PROCESS_RUNS} generated thrown values — never throws, always a valid classification`,
  () => {
    fc.assert(
      fc.property(thrown.value, (err) => {
        const c = classify(err);
        expect(CATEGORIES).toContain(c.category);
        expect(['low', 'medium', 'high', 'critical']).toContain(c.severity);
        expect(Number.isInteger(c.status) && c.status >= 400 && c.status <= 599).toBe(true);
        expect(c.code).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
        expect(typeof c.retryable).toBe('boolean');
        expect(typeof c.userMessage === 'string' && c.userMessage.length > 0).toBe(true);
        // Stable: classifying the result again, or the same value again, gives the same answer.
        const again = classify(err);
        expect([again.code, again.status, again.retryable]).toEqual([c.code, c.status, c.retryable]);
      }),
      { numRuns: IN_PROCESS_RUNS, seed: SEED + 3 },
    );
  },
);

sc.test(
  `problemDetails(): ${IN_PROCESS_RUNS} generated thrown values — a complete RFC 9457 body that leaks nothing`,
  () => {
    fc.assert(
      fc.property(thrown.value, fc.option(fc.string(), { nil: undefined }), (err, lang) => {
        const req = {
          method: 'GET',
          url: '/v1/x?token=abc',
          originalUrl: '/v1/x?token=abc',
          headers: lang === undefined ? {} : { 'accept-language': lang },
        };
        const p = problemDetails(err, req as never);
        const body = JSON.stringify(p.body);
        expect(p.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(p.body.status).toBe(p.status);
        expect(
          responseProblems({
            tag: 'x',
            method: 'GET',
            path: '/',
            traceId: undefined,
            status: p.status,
            contentType: p.headers['content-type'],
            body,
            bodyBytes: 0,
            reusedSocket: false,
            startedAt: 0,
            ms: 0,
          }),
        ).toEqual([]);
        // Nothing from the thrown value's message, stack or SQL, and not the query string.
        expect(body).not.toContain(SECRET_MARK);
        expect(body).not.toContain('hunter2');
        expect(body).not.toContain('token=abc');
        expect(STACK_FRAME.test(body)).toBe(false);
      }),
      { numRuns: IN_PROCESS_RUNS, seed: SEED + 4 },
    );
  },
);

sc.test(
  `AppError round trip: ${IN_PROCESS_RUNS} generated options — the explicit user message and code come out, the internal message does not`,
  () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.stringMatching(/^[A-Z][A-Z0-9_]{0,30}$/),
        fc.constantFrom(...CATEGORIES),
        fc.option(fc.integer({ min: 400, max: 599 }), { nil: undefined }),
        (userMessage, code, category, status) => {
          const err = new AppError(`${SECRET_MARK} internal`, {
            code,
            category: category as never,
            status,
            userMessage,
          });
          const p = problemDetails(err);
          expect(p.body.code).toBe(code);
          expect(p.body.category).toBe(category);
          if (status !== undefined) expect(p.status).toBe(status);
          expect(p.body.detail).toBe(userMessage);
          expect(JSON.stringify(p.body)).not.toContain(SECRET_MARK);
        },
      ),
      { numRuns: IN_PROCESS_RUNS, seed: SEED + 5 },
    );
  },
);

sc.test(
  'the service survived: same process, log lines intact, telemetry intact, no planted secret anywhere',
  async () => {
    expect(stack.service.running).toBe(true);
    expect(
      outcomes.filter((o) => o.status === undefined || o.status >= 500).map((o) => `${o.method} ${o.path}`),
    ).toEqual([]);
    expect(parseStdout(stack.service.stdoutLines()).invalid).toEqual([]);
    await stack.settle();
    const dropped = droppedBySignal(stack.tap.metrics.items());
    sc.result.telemetryLost = `${dropped.traces} spans, ${dropped.logs} log records, ${dropped.metrics} metric points`;
    expect(dropped).toEqual({ traces: 0, logs: 0, metrics: 0 });
    expect([...scan.hits, ...stack.sweepSecrets()]).toEqual([]);
  },
);
