import express, { type NextFunction, type Request, type Response } from 'express';
import type { ServiceConfig } from './config';
import type { Memory, MemoryRepository } from './memoryRepository';
import { ApiProblem } from './problem';
import type { QueryCache } from './queryCache';
import { selectFields, sendJson } from './sendJson';
import { createValidators } from './validation';

/** Minimal structured logger the app writes business events to. */
export type AppLogger = {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
};

/** Everything the HTTP layer needs, injected so tests and the bench can vary it. */
export type AppDeps = {
  config: ServiceConfig;
  repo: MemoryRepository;
  cache: QueryCache;
  log: AppLogger;
  /** Throws when PostgreSQL is not usable. */
  checkDatabase(): Promise<void>;
  /** Resolves false when Redis is not usable (the service then runs degraded, uncached). */
  checkRedis(): Promise<boolean>;
  /** Counters for /internal/stats. */
  stats(): Record<string, unknown>;
  /** Installed first: request logging / correlation middleware. */
  before?: express.RequestHandler[];
  /** Renders any error as problem+json. */
  errorHandler: express.ErrorRequestHandler;
  notFound: express.RequestHandler;
};

const userTag = (u: string) => `user:${u}`;

/**
 * Builds the express app: routes, validation, caching with tag invalidation.
 * @example const app = createApp(deps); app.listen(3000);
 */
export function createApp(deps: AppDeps): express.Express {
  const { config, repo, cache, log } = deps;
  const v = createValidators(config);
  const send = { compressAbove: config.compressThresholdBytes };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // sendJson computes ETags only where a cached read makes them useful
  app.set('query parser', 'simple');
  for (const mw of deps.before ?? []) app.use(mw);

  const body = express.json({ limit: Math.max(16_384, config.maxContentChars * 4 + 8192), strict: true });
  const requireJson = (req: Request, _res: Response, next: NextFunction) => {
    if (!req.is('application/json'))
      return next(new ApiProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json'));
    next();
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    let database = 'ok';
    try {
      await deps.checkDatabase();
    } catch {
      database = 'down';
    }
    const redis = (await deps.checkRedis().catch(() => false)) ? 'ok' : 'down';
    // Redis down only costs speed (reads go to the database), so the service stays ready.
    const status = database !== 'ok' ? 'unavailable' : redis === 'ok' ? 'ok' : 'degraded';
    res.status(database === 'ok' ? 200 : 503).json({ status, checks: { database, redis } });
  });

  app.get('/internal/stats', (_req, res) => {
    res.json({ cache: { enabled: cache.enabled, ...cache.stats() }, ...deps.stats() });
  });

  app.post('/v1/memories', requireJson, body, async (req, res) => {
    const input = v.createBody(req.body);
    const memory = await repo.create(input.user_id, input.content, input.metadata ?? {});
    await cache.invalidateTags([userTag(memory.user_id)]);
    log.info('memory.created', {
      'memory.id': memory.id,
      'user.id': memory.user_id,
      'memory.size': input.content.length,
    });
    res.setHeader('location', `/v1/memories/${memory.id}`);
    await sendJson(req, res, 201, memory, send);
  });

  app.get('/v1/memories', async (req, res) => {
    const q = v.listQuery(req.query);
    const page = await cache.getOrSet(
      `list:${q.userId}:${q.limit}:${q.cursor ?? ''}`,
      [userTag(q.userId)],
      () => repo.list(q.userId, q.limit, q.after),
    );
    const out = q.fields ? { ...page, items: page.items.map((m) => selectFields(m, q.fields)) } : page;
    await sendJson(req, res, 200, out, { ...send, etag: true });
  });

  app.get('/v1/memories/search', async (req, res) => {
    const q = v.searchQuery(req.query);
    const items = await cache.getOrSet(`search:${q.userId}:${q.limit}:${q.q}`, [userTag(q.userId)], () =>
      repo.search(q.userId, q.q, q.limit),
    );
    await sendJson(
      req,
      res,
      200,
      { items: q.fields ? items.map((m) => selectFields(m, q.fields)) : items },
      {
        ...send,
        etag: true,
      },
    );
  });

  app.get('/v1/memories/:id', async (req, res) => {
    const id = v.id(req.params.id as string);
    const { fields } = v.itemQuery(req.query);
    const memory = await cache.getOrSet<Memory | null>(
      `mem:${id}`,
      [`mem:${id}`],
      async () => (await repo.get(id)) ?? null,
    );
    if (!memory) throw new ApiProblem(404, 'MEMORY_NOT_FOUND', 'Memory not found');
    await sendJson(req, res, 200, selectFields(memory, fields), { ...send, etag: true });
  });

  app.patch('/v1/memories/:id', requireJson, body, async (req, res) => {
    const id = v.id(req.params.id as string);
    const patch = v.patchBody(req.body);
    const memory = await repo.update(id, patch);
    if (!memory) throw new ApiProblem(404, 'MEMORY_NOT_FOUND', 'Memory not found');
    await cache.invalidateTags([userTag(memory.user_id), `mem:${id}`]);
    log.info('memory.updated', { 'memory.id': id, 'user.id': memory.user_id });
    await sendJson(req, res, 200, memory, send);
  });

  app.delete('/v1/memories/:id', async (req, res) => {
    const id = v.id(req.params.id as string);
    const userId = await repo.delete(id);
    if (userId === undefined) throw new ApiProblem(404, 'MEMORY_NOT_FOUND', 'Memory not found');
    await cache.invalidateTags([userTag(userId), `mem:${id}`]);
    log.info('memory.deleted', { 'memory.id': id, 'user.id': userId });
    res.status(204).end();
  });

  app.use(deps.notFound);
  app.use(deps.errorHandler);
  return app;
}
