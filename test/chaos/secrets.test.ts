// Secrets: a recognisable password in DATABASE_URL (a real login role), a password on Redis
// (requirepass), a bearer token, API key and session cookie on every request — then the paths
// where credentials classically leak: start-up failures with the URL in hand, a wrong Redis
// password, backends killed mid-query, Redis going away. Every stdout/stderr line, every record
// the collector received and stored, and every HTTP body is searched: zero hits.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@mem0-stack/testkit';
import { type ChaosStack, newSecrets, requirePassword, startChaosStack } from './helpers/chaosStack';
import { bodyScanner, parseStdout, responseProblems, scanFile } from './helpers/checks';
import { type LoadHandle, type Outcome, send, startLoad, summarize } from './helpers/load';
import { mib, scenario } from './helpers/results';
import { startServiceProcess } from './helpers/serviceProcess';
import { droppedBySignal } from './helpers/telemetry';

const sc = scenario(
  'secrets',
  8,
  'Secrets',
  '40 req/s, 8 connections, 20 s, every request with Authorization, X-Api-Key and Cookie secrets; a token in the query string every 50th',
  'PostgreSQL backends killed, Redis stopped; extra instances started with an unreachable database and a wrong Redis password',
);

const redisPassword = `ChaosRedisPw-${randomBytes(6).toString('hex')}`;
const apiKey = `chaos-key-${randomBytes(8).toString('hex')}`;
const cookie = `chaos-session-${randomBytes(8).toString('hex')}`;
const wrongRedisPassword = `ChaosWrongPw-${randomBytes(6).toString('hex')}`;
/** Planted on top of the stack's own (database password, Redis password, bearer token). */
const EXTRA = [apiKey, cookie, wrongRedisPassword];
const secrets = newSecrets();

let stack: ChaosStack;
let scan: ReturnType<typeof bodyScanner>;
let outcomes: Outcome[] = [];
const failedStarts: string[] = [];

jest.setTimeout(300_000);

beforeAll(async () => {
  stack = await startChaosStack({
    scenario: 'secrets',
    secrets,
    dedicatedRedis: true,
    redisPassword,
  });
  scan = bodyScanner([...stack.needles(), ...EXTRA]);
}, 120_000);

afterAll(async () => {
  sc.write();
  await stack?.stop();
}, 60_000);

sc.test('traffic with credentials in every request, through database and Redis faults', async () => {
  const base = stack.service.url;
  const json = { 'content-type': 'application/json' };
  const rssBefore = stack.service.rssKiB();
  const admin = await stack.db.admin();
  let load: LoadHandle | undefined;
  try {
    load = startLoad({
      base,
      connections: 8,
      rate: 40,
      durationMs: 20_000,
      headers: { ...stack.clientHeaders, 'x-api-key': apiKey, cookie: `session=${cookie}` },
      onBody: (o, b) => scan.scan(o, b),
      next: (i) =>
        i % 50 === 7
          ? // A token in the query string (clients do this): refused (unknown field), and never recorded.
            {
              method: 'GET',
              path: `/v1/memories?user_id=k1&access_token=${stack.secrets.token}`,
              tag: 'query token',
            }
          : i % 3 === 0
            ? {
                method: 'POST',
                path: '/v1/memories',
                headers: json,
                body: JSON.stringify({ user_id: `k${i % 5}`, content: `secret-scenario ${i}` }),
              }
            : { method: 'GET', path: `/v1/memories?user_id=k${i % 5}&limit=5` },
    });
    await new Promise((r) => setTimeout(r, 5000));
    // Backends killed mid-query: pg errors, pool errors, retries — all logged.
    for (let k = 0; k < 3; k++) {
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'memory-service' AND datname = $1`,
        [stack.db.name],
      );
      await new Promise((r) => setTimeout(r, 1000));
    }
    // Redis away for a while: connection errors with the URL in hand.
    await stack.redis?.stop();
    await new Promise((r) => setTimeout(r, 4000));
    await stack.redis?.start();
    await requirePassword(stack.redis?.url ?? '', redisPassword);
    outcomes = (await load.done).outcomes;
  } finally {
    load?.stop();
    await admin.end();
  }
  sc.result.rssBeforeMiB = mib(rssBefore);
  sc.result.rssAfterMiB = mib(stack.service.rssKiB());
  sc.result.requests = outcomes.length;
  sc.result.failed = outcomes.filter((o) => o.status === undefined || o.status >= 500).length;
  sc.figure('answers', JSON.stringify(summarize(outcomes)));
  expect(outcomes.length).toBeGreaterThan(400);
  expect(outcomes.flatMap((o) => responseProblems(o))).toEqual([]);
  expect(outcomes.filter((o) => o.tag === 'query token').map((o) => o.status)).toContain(400);
});

sc.test('start-up failures and a wrong Redis password are reported without the credentials', async () => {
  // An unreachable database: the URL (with its password) is in the process's hands when it fails.
  const closed = new URL(stack.db.appUrl);
  closed.port = String(await freePort());
  await expect(
    startServiceProcess({
      dir: stack.dir,
      name: 'unreachable-db',
      port: await freePort(),
      env: { ...stack.serviceEnv, DATABASE_URL: closed.toString() },
      timeoutMs: 40_000,
    }),
  ).rejects.toThrow(/exited during start/);
  failedStarts.push('unreachable database');
  // A role that does not exist, with a password.
  const noRole = new URL(stack.db.appUrl);
  noRole.username = 'mem0_chaos_nobody';
  await expect(
    startServiceProcess({
      dir: stack.dir,
      name: 'unknown-role',
      port: await freePort(),
      env: { ...stack.serviceEnv, DATABASE_URL: noRole.toString() },
      timeoutMs: 40_000,
    }),
  ).rejects.toThrow(/exited during start/);
  failedStarts.push('unknown role');
  // A wrong Redis password (its own secret): the service starts degraded and says why.
  const badRedis = new URL(stack.redisUrl);
  badRedis.password = wrongRedisPassword;
  const svc = await stack.startService('wrong-redis-password', { REDIS_URL: badRedis.toString() });
  const r = await send(svc.url, { method: 'GET', path: '/readyz' });
  expect(r.status).toBe(200);
  expect(JSON.parse(r.raw?.toString() ?? '{}').status).toBe('degraded');
  await svc.stop();
  const lines = svc.stdoutLines().join('\n');
  expect(lines).not.toContain(wrongRedisPassword);
  sc.figure('failed starts checked', failedStarts.join(', '));
  // The failures were logged (so the search below had something to search).
  const startFailed = parseStdout(
    readFileSync(join(stack.dir, 'unreachable-db.stdout.log'), 'utf8').trim().split('\n'),
  ).records.filter((x) => x.message === 'server.start_failed');
  expect(startFailed.length).toBe(1);
});

sc.test(
  'zero hits for any planted secret in stdout, stderr, collector records (received and stored) and HTTP bodies',
  async () => {
    await stack.stopServices();
    await stack.settle();
    const hits = [...scan.hits, ...stack.sweepSecrets()];
    // The sweep covers the stack's needles; search the other planted values too.
    for (const f of readdirSync(stack.dir))
      if (/\.(log|jsonl)$/.test(f)) hits.push(...scanFile(join(stack.dir, f), EXTRA, f));
    for (const f of readdirSync(stack.sink.dir))
      if (f.endsWith('.jsonl')) hits.push(...scanFile(join(stack.sink.dir, f), EXTRA, `sink/${f}`));
    const dropped = droppedBySignal(stack.tap.metrics.items());
    sc.result.telemetryLost = `${dropped.traces} spans, ${dropped.logs} log records, ${dropped.metrics} metric points (counted)`;
    sc.figure(
      'secrets searched',
      'PostgreSQL password, Redis password, wrong Redis password, bearer token, API key, session cookie',
    );
    sc.figure(
      'records searched at the collector (spans / logs)',
      `${stack.tap.spans.items().length} / ${stack.tap.logs.items().length}`,
    );
    sc.figure('secret hits', hits.length);
    expect(stack.tap.logs.items().length).toBeGreaterThan(100);
    expect(hits.map((h) => `${h.source}: …${h.context.replace(h.secret, '<SECRET>')}…`)).toEqual([]);
  },
);
