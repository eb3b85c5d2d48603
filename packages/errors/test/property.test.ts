import fc from 'fast-check';
import { classify, problemDetails } from '../src/index';
import { type Env, pg, startEnv } from './realFailures';

// Root `npx jest` ignores per-project testTimeout; real databases and child processes on a
// shared 2-core machine need more than jest's 5 s default.
jest.setTimeout(60_000);

// Whatever is thrown — random values, or errors stuffed with the failing SQL, the database
// password, host names and stacks — classify/problemDetails never throw, always produce a
// valid problem+json, and the body never carries any of those secrets.

const PASSWORD = `pw_${Math.random().toString(36).slice(2)}Xq9`;
const HOST = 'db-primary-7.internal.example';
const TABLE = 'tbl_secret_memories';
const QUERY = `SELECT embedding, owner_email FROM ${TABLE} WHERE tenant_id = 42 FOR UPDATE`;
const CONN = `postgres://app:${PASSWORD}@${HOST}:5432/mem0`;
const SQL_KEYWORDS = ['SELECT', 'FROM', 'WHERE', 'FOR UPDATE', 'INSERT', 'DELETE', TABLE, 'owner_email'];
const STACK_FRAME = /\bat .*\(?[^\s()]+:\d+:\d+\)?|\n\s+at /;

const CATEGORIES = [
  'validation',
  'authentication',
  'authorization',
  'not_found',
  'conflict',
  'rate_limited',
  'timeout',
  'unavailable',
  'database',
  'cache',
  'configuration',
  'internal',
];

let env: Env;
let realErrors: unknown[] = [];
beforeAll(async () => {
  delete process.env.MEM0_EXPOSE_ERRORS;
  env = await startEnv();
  realErrors = await Promise.all([
    pg.uniqueViolation(env),
    pg.undefinedTable(env),
    pg.statementTimeout(env),
    pg.invalidInput(env),
    pg.unknownDatabase(env),
    pg.connectionRefused(env),
  ]);
});
afterAll(async () => {
  await env?.cleanup();
});

const secretText = fc.constantFrom(
  QUERY,
  `connect to ${CONN} failed`,
  `password authentication failed for user "app" (password=${PASSWORD})`,
  `getaddrinfo ENOTFOUND ${HOST}`,
  `duplicate key value violates unique constraint "${TABLE}_pkey" while running ${QUERY}`,
);

const withStack = (e: Error, text: string): Error => {
  e.stack = `${e.name}: ${text}\n    at Object.query (/srv/app/node_modules/pg/lib/client.js:526:17)\n    at ${CONN}`;
  return e;
};

const sqlState = fc.stringMatching(/^[0-9A-Z]{5}$/);

const pgError = fc
  .record({ code: sqlState, text: secretText, severity: fc.constantFrom('ERROR', 'FATAL') })
  .map((r) =>
    Object.assign(withStack(new Error(r.text), r.text), {
      name: 'error',
      code: r.code,
      severity: r.severity,
      detail: `Key (email)=(${PASSWORD}) already exists.`,
      hint: QUERY,
      where: `SQL statement "${QUERY}"`,
      internalQuery: QUERY,
      routine: 'ExecConstraints',
    }),
  );

const syscallError = fc
  .record({
    code: fc.constantFrom(
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'EAI_AGAIN',
      'ENOTFOUND',
      'EWHATEVER',
    ),
    text: secretText,
  })
  .map((r) =>
    Object.assign(withStack(new Error(r.text), r.text), { code: r.code, address: HOST, port: 5432 }),
  );

const redisReply = fc
  .record({
    prefix: fc.constantFrom('BUSY', 'WRONGTYPE', 'LOADING', 'READONLY', 'OOM', 'NOAUTH', 'ERR', 'XYZ'),
    text: secretText,
  })
  .map((r) => {
    class SimpleError extends Error {}
    return withStack(new SimpleError(`${r.prefix} ${r.text}`), r.text);
  });

const responseLike = fc
  .record({
    status: fc.integer({ min: 100, max: 700 }),
    retryAfter: fc.oneof(fc.string(), fc.nat().map(String)),
  })
  .map((r) => {
    try {
      return new Response(`${QUERY} ${PASSWORD}`, {
        status: r.status >= 200 && r.status <= 599 ? r.status : 500,
        headers: { 'retry-after': r.retryAfter.replace(/[^\x20-\x7e]/g, '') },
      });
    } catch {
      return { status: r.status, ok: false, headers: { 'retry-after': r.retryAfter }, body: QUERY };
    }
  });

const httpErrorLike = fc
  .record({ status: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(Number.NaN)), text: secretText })
  .map((r) =>
    Object.assign(withStack(new Error(r.text), r.text), { status: r.status, expose: true, body: QUERY }),
  );

const safeWord = fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/);
const zodLike = fc
  .array(
    fc.record({
      path: fc.array(fc.oneof(safeWord, fc.nat({ max: 50 })), { maxLength: 4 }),
      message: safeWord,
      code: safeWord,
    }),
    { maxLength: 5 },
  )
  .map((issues) => Object.assign(new Error(`${QUERY}`), { name: 'ZodError', issues }));

const plainError = fc
  .record({ text: secretText, ctor: fc.constantFrom(Error, TypeError, RangeError, SyntaxError) })
  .map((r) => withStack(new r.ctor(r.text), r.text));

const leaf = fc.oneof(
  fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withTypedArray: true,
    withSparseArray: true,
  }),
  secretText,
  pgError,
  syscallError,
  redisReply,
  responseLike,
  httpErrorLike,
  zodLike,
  plainError,
  fc.constant(Symbol(QUERY)),
  fc.constantFrom(undefined, null, Number.NaN, ''),
);

/** Wrappers: cause chains (possibly cyclic), AggregateErrors, fetch-style TypeErrors. */
const thrown = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(secretText, tie('value')).map(([t, cause]) => withStack(new Error(t, { cause }), t)),
    fc.tuple(tie('value')).map(([cause]) => Object.assign(new TypeError('fetch failed'), { cause })),
    fc.array(tie('value'), { maxLength: 4 }).map((errs) => new AggregateError(errs, QUERY)),
    fc.tuple(secretText, fc.boolean()).map(([t, twoNode]) => {
      const a = withStack(new Error(t), t);
      if (twoNode) {
        const b = new Error(t, { cause: a });
        (a as { cause?: unknown }).cause = b;
      } else (a as { cause?: unknown }).cause = a;
      return a;
    }),
  ),
})).value;

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'HEAD', 'DELETE'),
  url: fc
    .array(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { maxLength: 5 })
    .map((segs) => `/${segs.join('/')}?q=${encodeURIComponent(QUERY)}&password=${PASSWORD}`),
  headers: fc.record(
    {
      'accept-language': fc.string(),
      'x-correlation-id': fc.string(),
    },
    { requiredKeys: [] },
  ),
});

function assertValidProblem(p: ReturnType<typeof problemDetails>): void {
  const text = JSON.stringify(p.body);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toEqual(p.body); // JSON round-trip: nothing non-serialisable
  expect(typeof body.type).toBe('string');
  expect(body.type).toMatch(/^urn:mem0-stack:error:[a-z0-9._-]+$/);
  expect(typeof body.title).toBe('string');
  expect((body.title as string).length).toBeGreaterThan(0);
  expect(Number.isInteger(body.status)).toBe(true);
  expect(body.status).toBe(p.status);
  expect(p.status).toBeGreaterThanOrEqual(400);
  expect(p.status).toBeLessThanOrEqual(599);
  expect(typeof body.detail).toBe('string');
  expect((body.detail as string).length).toBeGreaterThan(0);
  expect(typeof body.retryable).toBe('boolean');
  expect(CATEGORIES).toContain(body.category);
  expect(body.correlation_id).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
  if (body.instance !== undefined) expect(body.instance).toMatch(/^\/[\x21-\x7e]*$/);
  expect(body.debug).toBeUndefined();
  expect(p.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  expect(p.headers['x-correlation-id']).toBe(body.correlation_id);
  if (p.headers['retry-after'] !== undefined) expect(p.headers['retry-after']).toMatch(/^\d+$/);
  // No secrets, no internals.
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(HOST);
  expect(text).not.toContain('postgres://');
  expect(text).not.toMatch(STACK_FRAME);
  for (const kw of SQL_KEYWORDS) expect(text).not.toContain(kw);
}

describe('property: classify and problemDetails on anything thrown', () => {
  it('classify never throws and always returns a valid classification', () => {
    fc.assert(
      fc.property(thrown, (value) => {
        const c = classify(value);
        expect(CATEGORIES).toContain(c.category);
        expect(['low', 'medium', 'high', 'critical']).toContain(c.severity);
        expect(typeof c.retryable).toBe('boolean');
        expect(Number.isInteger(c.status) && c.status >= 400 && c.status <= 599).toBe(true);
        expect(c.code).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
        expect(c.userMessage.length).toBeGreaterThan(0);
        if (c.retryAfterMs !== undefined) expect(c.retryAfterMs).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });

  it('problemDetails never throws, is valid problem+json and leaks nothing', () => {
    fc.assert(
      fc.property(thrown, fc.option(request, { nil: undefined }), (value, req) => {
        assertValidProblem(problemDetails(value, req));
      }),
      { numRuns: 500 },
    );
  });

  it('real PostgreSQL failures (query text, password in the URL) leak nothing', () => {
    expect(realErrors).toHaveLength(6);
    fc.assert(
      fc.property(fc.constantFrom(...realErrors), request, (err, req) => {
        const p = problemDetails(err, req);
        assertValidProblem(p);
        const text = JSON.stringify(p.body);
        const message = (err as Error).message;
        expect(text).not.toContain(message);
        expect(text).not.toMatch(/no_such_table_here|secret_column|pg_sleep|mem0_errors_no_such_db/);
        expect(text).not.toContain(env.table);
      }),
      { numRuns: 60 },
    );
  });
});
