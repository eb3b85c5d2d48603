import { z } from 'zod';
import { type ClassifiedError, classify } from '../src/index';
import { type Env, http, pg, redis, startEnv, syscall } from './realFailures';

// Root `npx jest` ignores per-project testTimeout; real databases and child processes on a
// shared 2-core machine need more than jest's 5 s default.
jest.setTimeout(60_000);

let env: Env;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env?.cleanup();
});

type Row = [
  name: string,
  produce: () => Promise<unknown>,
  expected: Partial<ClassifiedError> & Record<string, unknown>,
];

const unavailable = { category: 'unavailable', severity: 'high', retryable: true, status: 503 } as const;
const timeout = { category: 'timeout', severity: 'medium', retryable: true, status: 504 } as const;
const validation = { category: 'validation', severity: 'low', retryable: false, status: 400 } as const;

const postgres: Row[] = [
  [
    'unique violation',
    () => pg.uniqueViolation(env),
    { code: 'DB_UNIQUE_VIOLATION', category: 'conflict', severity: 'low', retryable: false, status: 409 },
  ],
  ['not-null violation', () => pg.notNull(env), { code: 'DB_NOT_NULL_VIOLATION', ...validation }],
  ['check violation', () => pg.checkViolation(env), { code: 'DB_CHECK_VIOLATION', ...validation }],
  ['foreign-key violation', () => pg.foreignKey(env), { code: 'DB_FOREIGN_KEY_VIOLATION', ...validation }],
  ['value too long', () => pg.valueTooLong(env), { code: 'DB_VALUE_TOO_LONG', ...validation }],
  ['invalid input syntax', () => pg.invalidInput(env), { code: 'DB_INVALID_DATA', ...validation }],
  [
    'undefined table (our bug)',
    () => pg.undefinedTable(env),
    { code: 'DB_QUERY_ERROR', category: 'internal', severity: 'high', retryable: false, status: 500 },
  ],
  [
    'deadlock between two real transactions',
    () => pg.deadlock(env),
    { code: 'DB_DEADLOCK', category: 'database', severity: 'medium', retryable: true, status: 503 },
  ],
  [
    'serialization failure under SERIALIZABLE',
    () => pg.serializationFailure(env),
    {
      code: 'DB_SERIALIZATION_FAILURE',
      category: 'database',
      severity: 'medium',
      retryable: true,
      status: 503,
    },
  ],
  [
    'lock not available (NOWAIT)',
    () => pg.lockNotAvailable(env),
    { code: 'DB_LOCK_NOT_AVAILABLE', category: 'database', retryable: true, status: 503 },
  ],
  [
    // Refused before it ran: safe to retry (the pool may reconnect to the new primary).
    'write in a read-only transaction (a standby after failover)',
    () => pg.readOnlyTransaction(env),
    { code: 'DB_READ_ONLY', ...unavailable, maybeSent: false },
  ],
  [
    'statement timeout',
    () => pg.statementTimeout(env),
    { code: 'DB_STATEMENT_TIMEOUT', ...timeout, maybeSent: false },
  ],
  [
    'backend terminated by pg_terminate_backend during a query',
    () => pg.terminatedDuringQuery(env),
    { code: 'DB_SHUTDOWN', ...unavailable, maybeSent: true },
  ],
  [
    // pg refuses it locally ("not queryable"): the statement never left, so any work may retry it.
    'query on a client whose backend was terminated',
    () => pg.queryAfterTermination(env),
    { code: 'DB_CONNECTION_LOST', ...unavailable, maybeSent: false },
  ],
  [
    'unknown database',
    () => pg.unknownDatabase(env),
    {
      code: 'DB_UNKNOWN_DATABASE',
      category: 'configuration',
      severity: 'critical',
      retryable: false,
      status: 500,
    },
  ],
  [
    'connection refused',
    () => pg.connectionRefused(env),
    { code: 'CONNECTION_REFUSED', ...unavailable, maybeSent: false },
  ],
  [
    'pool exhausted (connect timeout)',
    () => pg.poolExhausted(env),
    { code: 'DB_CONNECT_TIMEOUT', ...timeout },
  ],
];

const redisRows: Row[] = [
  [
    'connection refused',
    () => redis.connectionRefused(env),
    { code: 'CONNECTION_REFUSED', ...unavailable, maybeSent: false },
  ],
  ['BUSY (long Lua script)', () => redis.busy(env), { code: 'REDIS_BUSY', ...unavailable, maybeSent: false }],
  [
    'WRONGTYPE',
    () => redis.wrongType(),
    { code: 'REDIS_WRONGTYPE', category: 'internal', severity: 'high', retryable: false, status: 500 },
  ],
  ['READONLY replica', () => redis.readOnly(env), { code: 'REDIS_READONLY', ...unavailable }],
  ['NOSCRIPT', () => redis.noScript(), { code: 'REDIS_NOSCRIPT', category: 'internal', retryable: false }],
  ['socket timeout (silent server)', () => redis.socketTimeout(env), { code: 'REDIS_TIMEOUT', ...timeout }],
  [
    'connection lost with a pending command',
    () => redis.connectionLost(),
    { code: 'REDIS_CONNECTION_LOST', ...unavailable, maybeSent: true },
  ],
  [
    'offline while reconnecting',
    () => redis.offline(),
    { code: 'REDIS_OFFLINE', ...unavailable, maybeSent: false },
  ],
  [
    'closed client',
    () => redis.clientClosed(),
    { code: 'REDIS_CLIENT_CLOSED', category: 'unavailable', retryable: false },
  ],
];

const syscallRows: Row[] = [
  ['ECONNREFUSED', () => syscall.connectionRefused(env), { code: 'CONNECTION_REFUSED', ...unavailable }],
  [
    'ECONNRESET',
    () => syscall.connectionReset(env),
    { code: 'CONNECTION_RESET', ...unavailable, maybeSent: true },
  ],
  ['EPIPE', () => syscall.brokenPipe(), { code: 'CONNECTION_RESET', ...unavailable, maybeSent: true }],
  [
    'ENOTFOUND / EAI_AGAIN',
    () => syscall.dnsNotFound(),
    { code: expect.stringMatching(/^DNS_(NOT_FOUND|TEMPORARY_FAILURE)$/), ...unavailable },
  ],
  [
    'EADDRINUSE',
    () => syscall.addressInUse(env),
    { code: 'ADDRESS_IN_USE', category: 'configuration', severity: 'critical' },
  ],
  ['ENOENT', () => syscall.fileNotFound(), { code: 'FILE_NOT_FOUND', category: 'internal', status: 500 }],
];

const fetchRows: Row[] = [
  ['refused port', () => http.refused(env), { code: 'CONNECTION_REFUSED', ...unavailable, maybeSent: false }],
  ['AbortSignal.timeout', () => http.timeout(env), { code: 'TIMEOUT', ...timeout }],
  ['manual abort', () => http.aborted(env), { code: 'ABORTED', category: 'timeout', retryable: false }],
  ['socket closed by the server', () => http.socketClosed(env), { code: 'CONNECTION_RESET', ...unavailable }],
  [
    '429 with Retry-After: 7',
    () => http.status(env, 429),
    {
      code: 'UPSTREAM_RATE_LIMITED',
      category: 'rate_limited',
      retryable: true,
      status: 429,
      retryAfterMs: 7000,
    },
  ],
  [
    '503 with an HTTP-date Retry-After',
    () => http.status(env, 503),
    {
      code: 'UPSTREAM_UNAVAILABLE',
      ...unavailable,
      retryAfterMs: expect.any(Number),
    },
  ],
  [
    '404',
    () => http.status(env, 404),
    { code: 'UPSTREAM_NOT_FOUND', category: 'not_found', retryable: false, status: 404 },
  ],
  [
    '500 → 502 bad gateway, not retryable',
    () => http.status(env, 500),
    { code: 'UPSTREAM_ERROR', category: 'unavailable', retryable: false, status: 502 },
  ],
  [
    'HTTPError wrapping a 503 response',
    () => http.wrapped(env, 503),
    { code: 'UPSTREAM_UNAVAILABLE', ...unavailable },
  ],
];

describe.each([
  ['PostgreSQL', postgres],
  ['Redis', redisRows],
  ['Node syscall', syscallRows],
  ['fetch', fetchRows],
] as const)('classify: real %s failures', (_group, rows) => {
  it.each(rows)('%s', async (_name, produce, expected) => {
    const err = await produce();
    const c = classify(err);
    expect(c).toMatchObject(expected);
    expect(c.cause).toBe(err);
    expect(c.unclassified).toBeUndefined();
    expect(c.userMessage.length).toBeGreaterThan(20);
  });
});

it('503 Retry-After as an HTTP-date is parsed to about two minutes', async () => {
  const c = classify(await http.status(env, 503));
  expect(c.retryAfterMs).toBeGreaterThan(110_000);
  expect(c.retryAfterMs).toBeLessThanOrEqual(120_000);
});

it('zod: validation with field details', () => {
  const schema = z.object({ text: z.string().min(1), tags: z.array(z.string()) });
  const r = schema.safeParse({ text: '', tags: ['ok', 3] });
  expect(r.success).toBe(false);
  const c = classify(r.error);
  expect(c).toMatchObject({ code: 'VALIDATION_FAILED', ...validation, source: 'validation' });
  expect(c.details).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ path: 'text', code: 'too_small' }),
      expect.objectContaining({ path: 'tags.1', code: 'invalid_type' }),
    ]),
  );
});

it('syscall codes without a live reproduction here (ETIMEDOUT, EAI_AGAIN) map by code', () => {
  // The network in this sandbox cannot produce these on demand; Node builds them the same way
  // (an Error with code/syscall), so the table is checked by shape.
  const make = (code: string) =>
    Object.assign(new Error(`connect ${code} 10.0.0.1:5432`), { code, syscall: 'connect' });
  expect(classify(make('ETIMEDOUT'))).toMatchObject({ code: 'NETWORK_TIMEOUT', ...timeout, maybeSent: true });
  expect(classify(make('EAI_AGAIN'))).toMatchObject({ code: 'DNS_TEMPORARY_FAILURE', ...unavailable });
});
