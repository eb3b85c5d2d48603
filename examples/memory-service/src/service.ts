import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Cache, createCache } from '@mem0-stack/cache';
import { createLogger, type Logger, timed } from '@mem0-stack/logging';
import { presets, timeout } from '@mem0-stack/resilience';
import { createClient } from 'redis';
import { createApp } from './app';
import type { ServiceConfig } from './config';
import { createDatabase, type Database } from './database';
import { flushTelemetry } from './flushTelemetry';
import { createInflight } from './inflight';
import { createMemoryRepository } from './memoryRepository';
import { migrate } from './migrate';
import { answerRejectedRequests } from './rejectedRequests';

/** A running memory service. */
export type RunningService = {
  url: string;
  server: Server;
  database: Database;
  cache: Cache | undefined;
  logger: Logger;
  /**
   * Graceful stop: refuse new connections, drain in-flight requests, close the cache, the pool
   * and Redis, flush telemetry. Idempotent.
   */
  close(): Promise<void>;
};

/**
 * Migrates the database, connects Redis (without waiting: Redis down means degraded, not
 * dead), and listens. Tests and the benchmark start it in-process; server.ts adds signals.
 * @example const svc = await startService(loadConfig({ ...process.env, PORT: '0' })); await svc.close();
 */
export async function startService(
  config: ServiceConfig,
  opts: { logger?: Logger } = {},
): Promise<RunningService> {
  const logger = opts.logger ?? createLogger({ service: { name: 'memory-service' } });
  const database = createDatabase({
    url: config.databaseUrl,
    max: config.poolMax,
    slowQueryMs: config.slowQueryMs,
    timeoutMs: config.dbTimeoutMs,
    logger,
  });
  try {
    const applied = await timed('db.migrate', () => migrate(database.pool), {}, { logger });
    logger.event('db.migrated', { 'migrations.applied': applied });
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }

  // Redis serves only the cache: with the cache off there is no client, and readiness does not
  // depend on it.
  const redis = config.cacheEnabled ? await connectRedis(config.redisUrl, logger) : undefined;

  // presets.redis: a short deadline and a breaker that opens after 5 consecutive failures, so a
  // dead Redis costs microseconds per request and every read goes to PostgreSQL instead.
  const cache = redis
    ? createCache({
        redis,
        name: 'memory-service',
        prefix: config.cachePrefix,
        defaultTtl: config.cacheTtlSeconds * 1000,
        l1: config.cacheL1 ? { ttl: 5000, maxEntries: 20_000 } : false,
        policy: presets.redis({
          name: 'cache.memory-service',
          retry: false,
          timeoutMs: config.cacheTimeoutMs,
        }),
        logger,
      })
    : undefined;

  const ping = timeout(500);
  const inflight = createInflight();
  const app = createApp({
    inflight,
    config,
    repo: createMemoryRepository(database.db),
    cache,
    logger,
    checkDatabase: () => database.check(),
    checkRedis: redis && (async () => redis.isReady && (await ping.execute(() => redis.ping())) === 'PONG'),
    stats: () => ({ db: { queries: database.queryCount(), breaker: database.policy.breaker?.state } }),
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  // Longer than any proxy/load balancer idle timeout, so they close first and never
  // send a request on a socket we are closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  answerRejectedRequests(server);
  // Once draining, every response not yet started says `Connection: close` (and node then closes
  // the socket after it): a keep-alive client told it may reuse the socket would race the idle
  // sweep in close() and get a reset on a request it cannot know is safe to retry.
  let draining = false;
  const unanswered = new Set<ServerResponse>();
  const closeAfter = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };
  server.prependListener('request', (_req, res: ServerResponse) => {
    if (draining) return closeAfter(res);
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
  });
  const { port } = server.address() as AddressInfo;
  logger.event('server.listening', {
    'server.port': port,
    'cache.enabled': cache !== undefined,
    'cache.l1': config.cacheL1,
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      for (const res of unanswered) closeAfter(res);
      unanswered.clear();
      const drained = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      // Keep-alive sockets that finish a request after close() must not linger.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      await drained;
      clearInterval(sweep);
      // Sockets are gone, but handlers of clients that disconnected may still be awaiting the
      // database: let them finish before closing what they use (server.ts bounds the wait).
      await inflight.idle();
      await cache?.close().catch(() => {});
      await Promise.allSettled([database.close(), redis?.isOpen ? redis.close() : Promise.resolve()]);
      logger.event('server.stopped');
      await flushTelemetry(2000);
    })();
    return closing;
  };
  return { url: `http://127.0.0.1:${port}`, server, database, cache, logger, close };
}

/** The cache's Redis client, connected (or still trying: Redis down at start is a degraded start). */
async function connectRedis(url: string, logger: Logger) {
  const redis = createClient({
    url,
    socket: { connectTimeout: 2000, reconnectStrategy: (n) => Math.min(50 * 2 ** n, 2000) },
    // Commands fail fast while disconnected instead of queueing behind a dead server.
    disableOfflineQueue: true,
  });
  let redisDown = false;
  redis.on('error', (err: Error) => {
    // It reconnects by itself; say so once per outage, not once per retry.
    if (!redisDown) logger.warn('redis.unavailable', { 'error.message': err.message });
    redisDown = true;
  });
  redis.on('ready', () => {
    if (redisDown) logger.event('redis.recovered');
    redisDown = false;
  });
  // Not awaited beyond a short wait: Redis down at start is a degraded start, not a failed one.
  const connected = redis.connect().catch(() => undefined);
  await Promise.race([connected, new Promise((r) => setTimeout(r, 2000).unref())]);
  return redis;
}
