import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { type AppLogger, createApp } from './app';
import type { ServiceConfig } from './config';
import { createDatabase, type Database } from './database';
import { correlation, notFound, problemHandler } from './interimHttp';
import { createMemoryRepository } from './memoryRepository';
import { migrate } from './migrate';
import { passThroughCache, type QueryCache } from './queryCache';

/** A running memory service. */
export type RunningService = {
  url: string;
  server: Server;
  database: Database;
  cache: QueryCache;
  /** Graceful stop: refuse new connections, drain in-flight requests, close pool and Redis. */
  close(): Promise<void>;
};

const stdoutLog: AppLogger = {
  info: (message, fields) =>
    process.stdout.write(`${JSON.stringify({ level: 'info', message, ...fields })}\n`),
  warn: (message, fields) =>
    process.stdout.write(`${JSON.stringify({ level: 'warn', message, ...fields })}\n`),
  error: (message, fields) =>
    process.stdout.write(`${JSON.stringify({ level: 'error', message, ...fields })}\n`),
};

/**
 * Migrates the database, connects Redis (without waiting: Redis down means degraded, not
 * dead), and listens. Tests and the benchmark start it in-process; server.ts adds signals.
 * @example const svc = await startService(loadConfig({ ...process.env, PORT: '0' })); await svc.close();
 */
export async function startService(
  config: ServiceConfig,
  opts: { log?: AppLogger } = {},
): Promise<RunningService> {
  const log = opts.log ?? stdoutLog;
  const database = createDatabase({
    url: config.databaseUrl,
    max: config.poolMax,
    slowQueryMs: config.slowQueryMs,
    log,
  });
  try {
    const applied = await migrate(database.pool);
    log.info('db.migrated', { 'migrations.applied': applied.length });
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }

  const redis = createClient({
    url: config.redisUrl,
    socket: { connectTimeout: 2000, reconnectStrategy: (n) => Math.min(50 * 2 ** n, 2000) },
    // Commands fail fast while disconnected instead of queueing behind a dead server.
    disableOfflineQueue: true,
  });
  redis.on('error', () => {}); // it reconnects by itself; /readyz reports the state
  redis.connect().catch(() => {});
  const cache: QueryCache = passThroughCache();

  const app = createApp({
    config,
    repo: createMemoryRepository(database.db),
    cache,
    log,
    checkDatabase: () => database.check(),
    checkRedis: async () => redis.isReady && (await redis.ping()) === 'PONG',
    stats: () => ({ db: { queries: database.queryCount() } }),
    before: [correlation],
    errorHandler: problemHandler,
    notFound,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  // Longer than any proxy/load balancer idle timeout, so they close first and never
  // send a request on a socket we are closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  const { port } = server.address() as AddressInfo;
  log.info('server.listening', { 'server.port': port });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const drained = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      // Keep-alive sockets that finish a request after close() must not linger.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      await drained;
      clearInterval(sweep);
      await Promise.allSettled([
        database.close(),
        cache.close(),
        redis.isOpen ? redis.close() : Promise.resolve(),
      ]);
      log.info('server.stopped', {});
    })();
    return closing;
  };
  return { url: `http://127.0.0.1:${port}`, server, database, cache, close };
}
