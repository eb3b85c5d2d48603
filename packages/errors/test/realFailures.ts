// Produces REAL failures from PostgreSQL, Redis, the OS network stack and fetch, so the
// classification tables are checked against what the libraries actually throw (not guesses).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import {
  createTestDatabase,
  freePort,
  type RedisServer,
  startRedisServer,
  waitFor,
} from '@mem0-stack/testkit';
import { Client, Pool } from 'pg';
import { createClient } from 'redis';

/** Runs `fn` and returns what it threw; fails the test if it did not throw. */
export async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the operation to fail, it succeeded');
}

const suffix = randomBytes(4).toString('hex');

export type Env = {
  dbUrl: string;
  table: string;
  admin: Pool;
  redisServer: RedisServer;
  http: Server;
  httpPort: number;
  silent: NetServer;
  silentPort: number;
  resetServer: NetServer;
  resetPort: number;
  closedPort: number;
  cleanup(): Promise<void>;
};

function listen(server: Server | NetServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    }),
  );
}

export async function startEnv(): Promise<Env> {
  const dbUrl = await createTestDatabase('mem0_errors_test');
  const admin = new Pool({ connectionString: dbUrl, max: 4 });
  const table = `t_${suffix}`;
  await admin.query(
    `CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL CHECK (v >= 0), name varchar(5), parent int REFERENCES ${table}(id))`,
  );
  await admin.query(`INSERT INTO ${table} (id, v) VALUES (1, 0), (2, 0)`);
  // --busy-reply-threshold: a script running longer than 50 ms makes Redis answer BUSY.
  const redisServer = await startRedisServer({ args: ['--busy-reply-threshold', '50'] });
  const sockets = new Set<Socket>();
  const http = createHttpServer((req, res) => {
    if (req.url === '/429') res.writeHead(429, { 'retry-after': '7' }).end('slow down');
    else if (req.url === '/503')
      res.writeHead(503, { 'retry-after': new Date(Date.now() + 120_000).toUTCString() }).end('down');
    else if (req.url === '/404') res.writeHead(404).end('nope');
    else if (req.url === '/500') res.writeHead(500).end('boom');
    else if (req.url === '/hang') {
      /* never answers: the client's timeout must fire */
    } else if (req.url === '/reset') req.socket.destroy();
    else res.end('ok');
  });
  http.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const httpPort = await listen(http);
  // Accepts and never answers (Redis socket timeout).
  const silent = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', () => {});
  });
  const silentPort = await listen(silent);
  // Accepts and resets the connection (RST) as soon as data arrives.
  const resetServer = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.once('data', () => s.resetAndDestroy());
  });
  const resetPort = await listen(resetServer);
  const closedPort = await freePort();
  return {
    dbUrl,
    table,
    admin,
    redisServer,
    http,
    httpPort,
    silent,
    silentPort,
    resetServer,
    resetPort,
    closedPort,
    async cleanup() {
      for (const s of sockets) s.destroy();
      await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
      await admin.end();
      await redisServer.stop();
      await Promise.all(
        [http, silent, resetServer].map((s) => new Promise((r) => s.close(() => r(undefined)))),
      );
    },
  };
}

async function client(env: Env): Promise<Client> {
  const c = new Client({ connectionString: env.dbUrl });
  c.on('error', () => {}); // terminated backends emit 'error'; the query promise carries it too
  await c.connect();
  return c;
}

async function withClients<T>(env: Env, n: number, fn: (cs: Client[]) => Promise<T>): Promise<T> {
  const cs = await Promise.all(Array.from({ length: n }, () => client(env)));
  try {
    return await fn(cs);
  } finally {
    await Promise.all(cs.map((c) => c.end().catch(() => {})));
  }
}

export const pg = {
  uniqueViolation: (env: Env) =>
    caught(() => env.admin.query(`INSERT INTO ${env.table} (id, v) VALUES (1, 0)`)),
  notNull: (env: Env) => caught(() => env.admin.query(`INSERT INTO ${env.table} (id, v) VALUES (90, NULL)`)),
  checkViolation: (env: Env) =>
    caught(() => env.admin.query(`INSERT INTO ${env.table} (id, v) VALUES (91, -1)`)),
  foreignKey: (env: Env) =>
    caught(() => env.admin.query(`INSERT INTO ${env.table} (id, v, parent) VALUES (92, 0, 999)`)),
  valueTooLong: (env: Env) =>
    caught(() => env.admin.query(`INSERT INTO ${env.table} (id, v, name) VALUES (93, 0, 'toolongname')`)),
  invalidInput: (env: Env) =>
    caught(() => env.admin.query(`SELECT * FROM ${env.table} WHERE id = $1`, ['abc'])),
  undefinedTable: (env: Env) => caught(() => env.admin.query('SELECT secret_column FROM no_such_table_here')),
  // What a write meets on a connection that a failover left on a standby (or a replica URL).
  readOnlyTransaction: (env: Env) =>
    withClients(env, 1, async ([c]) => {
      await c!.query('SET default_transaction_read_only = on');
      try {
        return await caught(() => c!.query(`UPDATE ${env.table} SET v = v WHERE id = 1`));
      } finally {
        await c!.query('SET default_transaction_read_only = off');
      }
    }),
  statementTimeout: (env: Env) =>
    withClients(env, 1, async ([c]) => {
      await c!.query("SET statement_timeout = '50ms'");
      return caught(() => c!.query('SELECT pg_sleep(5)'));
    }),
  deadlock: (env: Env) =>
    withClients(env, 2, async ([a, b]) => {
      for (const c of [a!, b!]) {
        await c.query('BEGIN');
        await c.query("SET LOCAL deadlock_timeout = '50ms'");
      }
      await a!.query(`UPDATE ${env.table} SET v = v + 1 WHERE id = 1`);
      await b!.query(`UPDATE ${env.table} SET v = v + 1 WHERE id = 2`);
      const settled = await Promise.allSettled([
        a!.query(`UPDATE ${env.table} SET v = v + 1 WHERE id = 2`),
        b!.query(`UPDATE ${env.table} SET v = v + 1 WHERE id = 1`),
      ]);
      await Promise.all([a!.query('ROLLBACK'), b!.query('ROLLBACK')]);
      const failed = settled.find((s) => s.status === 'rejected');
      if (!failed) throw new Error('no deadlock happened');
      return (failed as PromiseRejectedResult).reason;
    }),
  serializationFailure: (env: Env) =>
    withClients(env, 2, async ([a, b]) => {
      await a!.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      await a!.query(`SELECT v FROM ${env.table} WHERE id = 1`); // takes the snapshot
      await b!.query(`UPDATE ${env.table} SET v = v + 1 WHERE id = 1`); // commits outside it
      const err = await caught(() => a!.query(`UPDATE ${env.table} SET v = v + 1 WHERE id = 1`));
      await a!.query('ROLLBACK');
      return err;
    }),
  lockNotAvailable: (env: Env) =>
    withClients(env, 2, async ([a, b]) => {
      await a!.query('BEGIN');
      await a!.query(`SELECT * FROM ${env.table} WHERE id = 2 FOR UPDATE`);
      const err = await caught(() => b!.query(`SELECT * FROM ${env.table} WHERE id = 2 FOR UPDATE NOWAIT`));
      await a!.query('ROLLBACK');
      return err;
    }),
  /** pg_terminate_backend while a query runs: the query fails with the server's 57P01. */
  terminatedDuringQuery: (env: Env) =>
    withClients(env, 1, async ([c]) => {
      const pid = (await c!.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const running = caught(() => c!.query('SELECT pg_sleep(10)'));
      await waitFor(
        async () =>
          (await env.admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [pid]))
            .rowCount,
        { what: 'sleeping backend' },
      );
      await env.admin.query('SELECT pg_terminate_backend($1)', [pid]);
      return running;
    }),
  /** …and the next query on that client finds the connection gone. */
  queryAfterTermination: (env: Env) =>
    withClients(env, 1, async ([c]) => {
      const pid = (await c!.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const ended = new Promise((r) => c!.once('end', r));
      await env.admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await ended;
      return caught(() => c!.query('SELECT 1'));
    }),
  unknownDatabase: (env: Env) => {
    const url = new URL(env.dbUrl);
    url.pathname = '/mem0_errors_no_such_db';
    const c = new Client({ connectionString: url.toString() });
    return caught(() => c.connect());
  },
  connectionRefused: (env: Env) => {
    const c = new Client({ connectionString: `postgres://postgres:pw@127.0.0.1:${env.closedPort}/x` });
    return caught(() => c.connect());
  },
  poolExhausted: async (env: Env) => {
    // A generous timeout for the one real connection (the machine may be busy), then a short
    // one for the waiter that can only time out: pg-pool reads the option per connect().
    const pool = new Pool({ connectionString: env.dbUrl, max: 1, connectionTimeoutMillis: 10_000 });
    const held = await pool.connect();
    pool.options.connectionTimeoutMillis = 100;
    try {
      return await caught(() => pool.query('SELECT 1'));
    } finally {
      held.release();
      await pool.end();
    }
  },
};

type RedisClient = ReturnType<typeof createClient>;

async function redisClient(
  url: string,
  socket: Record<string, unknown> = {},
  extra = {},
): Promise<RedisClient> {
  const c = createClient({ url, socket: { reconnectStrategy: false, ...socket }, ...extra });
  c.on('error', () => {});
  await c.connect();
  return c;
}

export const redis = {
  connectionRefused: (env: Env) => {
    const c = createClient({
      url: `redis://127.0.0.1:${env.closedPort}`,
      socket: { reconnectStrategy: false },
    });
    c.on('error', () => {});
    return caught(() => c.connect());
  },
  /** A long Lua script on a dedicated server: every other client gets BUSY. */
  busy: async (env: Env) => {
    const a = await redisClient(env.redisServer.url);
    const b = await redisClient(env.redisServer.url);
    try {
      const looping = a.eval('while true do end', { keys: [], arguments: [] }).catch((e: unknown) => e);
      // Until the EVAL has reached the server a PING still answers PONG; after that it waits
      // for the busy threshold and gets BUSY.
      let err: unknown;
      await waitFor(
        async () => {
          err = await b.ping().then(
            () => undefined,
            (e: unknown) => e,
          );
          return err !== undefined;
        },
        { what: 'BUSY reply', intervalMs: 20 },
      );
      await b.sendCommand(['SCRIPT', 'KILL']);
      await looping;
      return err;
    } finally {
      a.destroy();
      b.destroy();
    }
  },
  wrongType: async () => {
    const c = await redisClient('redis://127.0.0.1:6379');
    const key = `test:errors:${suffix}:wrongtype`;
    try {
      await c.set(key, 'a string');
      return await caught(() => c.lPush(key, 'x'));
    } finally {
      await c.del(key);
      c.destroy();
    }
  },
  noScript: async () => {
    const c = await redisClient('redis://127.0.0.1:6379');
    try {
      return await caught(() => c.evalSha('0'.repeat(40)));
    } finally {
      c.destroy();
    }
  },
  readOnly: async (env: Env) => {
    const c = await redisClient(env.redisServer.url);
    try {
      await c.sendCommand(['REPLICAOF', '127.0.0.1', String(env.closedPort)]);
      return await caught(() => c.set('k', 'v'));
    } finally {
      await c.sendCommand(['REPLICAOF', 'NO', 'ONE']);
      c.destroy();
    }
  },
  socketTimeout: (env: Env) =>
    caught(async () => {
      const c = createClient({
        url: `redis://127.0.0.1:${env.silentPort}`,
        socket: { reconnectStrategy: false, socketTimeout: 100 },
      });
      c.on('error', () => {});
      await c.connect();
      await c.ping();
    }),
  clientClosed: async () => {
    const c = await redisClient('redis://127.0.0.1:6379');
    c.destroy();
    return caught(() => c.get('x'));
  },
  /** A pending command when the server dies. */
  connectionLost: async () => {
    const server = await startRedisServer();
    try {
      const c = await redisClient(server.url);
      const pending = caught(() => c.blPop(`q:${suffix}`, 5));
      await new Promise((r) => setTimeout(r, 50));
      await server.stop();
      return await pending;
    } finally {
      await server.stop();
    }
  },
  offline: async () => {
    const server = await startRedisServer();
    const c = createClient({
      url: server.url,
      socket: { reconnectStrategy: () => 50 },
      disableOfflineQueue: true,
    });
    c.on('error', () => {});
    await c.connect();
    await server.stop();
    await waitFor(() => !c.isReady, { what: 'client offline' });
    const err = await caught(() => c.get('x'));
    c.destroy();
    return err;
  },
};

export const syscall = {
  connectionRefused: (env: Env) =>
    caught(
      () =>
        new Promise((resolve, reject) => {
          const s = connect(env.closedPort, '127.0.0.1');
          s.on('connect', resolve);
          s.on('error', reject);
        }),
    ),
  connectionReset: (env: Env) =>
    caught(
      () =>
        new Promise((resolve, reject) => {
          const s = connect(env.resetPort, '127.0.0.1', () => s.write('hello'));
          s.on('error', reject);
          s.on('close', () => resolve(undefined));
        }),
    ),
  /** Writing to a pipe whose reader closed its end: EPIPE. */
  brokenPipe: () =>
    caught(async () => {
      const child: ChildProcess = spawn(
        process.execPath,
        ['-e', "require('fs').closeSync(0); process.stdout.write('closed'); setTimeout(() => {}, 5000)"],
        { stdio: ['pipe', 'pipe', 'ignore'] },
      );
      try {
        await new Promise((r) => child.stdout!.once('data', r));
        await new Promise((resolve, reject) => {
          child.stdin!.on('error', reject);
          child.stdin!.write(Buffer.alloc(1 << 20), (e) => (e ? reject(e) : resolve(undefined)));
        });
      } finally {
        child.kill('SIGKILL');
      }
    }),
  dnsNotFound: () => caught(() => lookup('no-such-host.invalid')),
  addressInUse: (env: Env) =>
    caught(
      () =>
        new Promise((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(env.httpPort, '127.0.0.1', () => s.close(resolve));
        }),
    ),
  fileNotFound: () => caught(() => readFile('/nonexistent/mem0-errors/file.json')),
};

/** What typical code does with a non-ok fetch: throw the Response. */
async function fetchOk(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (!res.ok) throw res;
  return res;
}

export const http = {
  refused: (env: Env) => caught(() => fetch(`http://127.0.0.1:${env.closedPort}/`)),
  timeout: (env: Env) =>
    caught(() => fetch(`http://127.0.0.1:${env.httpPort}/hang`, { signal: AbortSignal.timeout(50) })),
  aborted: (env: Env) => {
    const ac = new AbortController();
    const p = caught(() => fetch(`http://127.0.0.1:${env.httpPort}/hang`, { signal: ac.signal }));
    setTimeout(() => ac.abort(), 20);
    return p;
  },
  socketClosed: (env: Env) => caught(() => fetch(`http://127.0.0.1:${env.httpPort}/reset`)),
  status: (env: Env, s: number) => caught(() => fetchOk(`http://127.0.0.1:${env.httpPort}/${s}`)),
  /** ky/got style: an Error carrying the upstream response. */
  wrapped: async (env: Env, s: number) => {
    const res = await fetch(`http://127.0.0.1:${env.httpPort}/${s}`);
    await res.arrayBuffer();
    return Object.assign(new Error(`Request failed with status code ${s}`), {
      name: 'HTTPError',
      response: res,
    });
  },
};
