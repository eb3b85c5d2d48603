import { randomUUID } from 'node:crypto';
import type { Cache, WriteThroughOptions } from '@mem0-stack/cache';
import { AppError, errorHandler, NotFoundError, notFoundHandler } from '@mem0-stack/errors';
import { type Logger, requestLogger, timed } from '@mem0-stack/logging';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  changedTags,
  createdTags,
  deletedTags,
  itemTags,
  cacheTags as tags,
  searchTags as tagsOfSearch,
} from './cacheTags';
import type { ServiceConfig } from './config';
import type { Inflight } from './inflight';
import {
  type Memory,
  type MemoryPage,
  type MemoryRepository,
  type SearchPlan,
  withNewMemory,
} from './memoryRepository';
import { selectFields, sendJson } from './sendJson';
import { createValidators, METADATA_MAX } from './validation';

/** Everything the HTTP layer needs, injected so tests and the bench can vary it. */
export type AppDeps = {
  config: ServiceConfig;
  repo: MemoryRepository;
  /** The query-result cache; undefined when caching is off (the benchmark's baseline). */
  cache: Cache | undefined;
  logger: Logger;
  /** Throws when PostgreSQL is not usable. */
  checkDatabase(): Promise<void>;
  /** Resolves false when Redis is not usable (the service then runs degraded, uncached); undefined when the cache is off (no Redis). */
  checkRedis: (() => Promise<boolean>) | undefined;
  /** Extra counters for /internal/stats. */
  stats(): Record<string, unknown>;
  /** Counts running route handlers (shutdown waits for them). */
  inflight: Inflight;
};

const memoryNotFound = (id: string) =>
  new NotFoundError(`memory ${id} not found`, {
    code: 'MEMORY_NOT_FOUND',
    userMessage: 'No memory has this id (it may have been deleted).',
  });

/**
 * Builds the express app: request logging and correlation first, then routes with validation
 * and query-result caching (tag invalidation on every write), then problem+json for anything
 * that fails.
 * @example const app = createApp(deps); app.listen(3000);
 */
export function createApp(deps: AppDeps): express.Express {
  const { config, repo, cache, logger } = deps;
  const v = createValidators(config);
  const send = { compressAbove: config.compressThresholdBytes };
  const ttl = config.cacheTtlSeconds * 1000;
  const cached = <T>(
    key: string,
    tags: string[],
    load: () => Promise<T>,
    tagsOf?: (value: T) => readonly string[],
  ): Promise<T> => (cache ? cache.getOrSet(key, load, { tags, ttl, tagsOf }) : load());
  // A write that reached the database must not fail because Redis is down: the cache keeps the
  // invalidation and replays it when Redis is back (and refuses stale writes meanwhile).
  const invalidate = async (tags: string[]) => {
    if (!cache) return;
    await timed(
      'cache.invalidate',
      () => cache.invalidateTags(tags),
      { 'cache.tags': tags },
      {
        logger,
        level: 'debug',
        errorLevel: 'warn',
      },
    ).catch(() => {});
  };

  // A write whose result keeps some cached entries fresh (see cache.writeThrough). The database
  // write decides the response: a cache failure after it (a bug; Redis trouble never throws)
  // is logged, and one before it (the cache closed) runs the write uncached.
  const writeThrough = async <R>(write: () => Promise<R>, o: WriteThroughOptions<R>): Promise<R> => {
    if (!cache) return write();
    let done: { value: R } | undefined;
    let wrote = false;
    try {
      return await cache.writeThrough(async () => {
        wrote = true;
        const value = await write();
        done = { value };
        return value;
      }, o);
    } catch (err) {
      if (done !== undefined) {
        logger.warn('cache.write_through_failed', { 'error.message': (err as Error)?.message });
        return done.value;
      }
      if (!wrote) return write();
      throw err;
    }
  };
  // A user id may contain ":" (and a search query anything): escaped, it cannot run into the
  // next part of the key, so two users' entries never share a key (`X` searching "5:tea" at
  // limit 20 would otherwise read and write user `X:20`'s search for "tea" at limit 5).
  const userKey = (userId: string) => encodeURIComponent(userId);
  const listKey = (userId: string, limit: number, cursor = '') =>
    `list:${userKey(userId)}:${limit}:${cursor}`;
  const pageTags = (p: MemoryPage) => itemTags(p.items);

  // A search's lexemes depend only on its text: ask PostgreSQL once per distinct query.
  const plans = new Map<string, Promise<SearchPlan>>();
  const searchPlan = (q: string): Promise<SearchPlan> => {
    let p = plans.get(q);
    if (!p) {
      if (plans.size >= 10_000) plans.delete(plans.keys().next().value as string);
      p = repo.searchPlan(q);
      plans.set(q, p);
      p.catch(() => plans.delete(q));
    }
    return p;
  };

  const searchTags = async (u: string, q: string): Promise<string[]> => {
    if (!cache) return [];
    return tagsOfSearch(u, await searchPlan(q));
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // sendJson computes ETags only where a cached read makes them useful
  // Requests answered and in flight (API routes only), for /internal/stats: the benchmark and the
  // demo divide database queries and CPU by what the server actually finished.
  let served = 0;
  app.use((req, res, next) => {
    if (req.path.startsWith('/v1/')) res.once('close', () => served++);
    next();
  });
  const track = deps.inflight.track;
  app.use(requestLogger({ logger }));

  // Sized for the largest valid body however the client escapes it: one character of content or
  // metadata can take 6 bytes on the wire (`\u0001` always; `\u8a18` from clients that escape
  // every non-ASCII character, as Python's json.dumps does by default).
  const body = express.json({ limit: (config.maxContentChars + METADATA_MAX) * 6 + 8192, strict: true });
  const requireJson = (req: Request, _res: Response, next: NextFunction) => {
    if (!req.is('application/json'))
      return next(
        new AppError(`content-type ${req.headers['content-type'] ?? '(none)'} refused`, {
          code: 'UNSUPPORTED_MEDIA_TYPE',
          category: 'validation',
          status: 415,
          userMessage: 'Send the body as JSON with Content-Type: application/json.',
        }),
      );
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
    // No check at all when the cache (Redis' only use) is off: nothing depends on Redis then.
    const redis =
      deps.checkRedis === undefined
        ? 'disabled'
        : (await deps.checkRedis().catch(() => false))
          ? 'ok'
          : 'down';
    // Redis down only costs speed (reads go to the database), so the service stays ready.
    const status = database !== 'ok' ? 'unavailable' : redis === 'down' ? 'degraded' : 'ok';
    res.status(database === 'ok' ? 200 : 503).json({ status, checks: { database, redis } });
  });

  app.get('/internal/stats', (_req, res) => {
    res.json({
      http: { requests: served, inFlight: deps.inflight.active },
      cache: { enabled: cache !== undefined, ...cache?.stats() },
      ...deps.stats(),
    });
  });

  app.post(
    '/v1/memories',
    requireJson,
    body,
    track(async (req: Request, res: Response) => {
      const input = v.createBody(req.body);
      const u = input.user_id;
      // Known before the insert, so the new memory can be written through to its entry.
      const id = randomUUID();
      const limit = config.defaultPageSize;
      type Created = Awaited<ReturnType<MemoryRepository['create']>>;
      // The first page at the default size gets the new memory instead of being dropped. The
      // user's other pages keep today's invalidation (u:<user>:list): an insert cannot change a
      // cursor page only while every insert sorts above its cursor, and created_at is the
      // insert's clock, so a slow insert committing after newer rows can land on any page.
      const { memory } = await writeThrough(() => repo.create(u, input.content, input.metadata ?? {}, id), {
        invalidate: (c: Created) => createdTags(u, c.lexemes),
        refresh: [
          {
            key: listKey(u, limit),
            tags: [tags.lists(u)],
            tagsOf: pageTags,
            update: (page: MemoryPage, c: Created) => withNewMemory(page, c.memory, limit),
            // Concurrent inserts into a hot user's list: recompute from the page another one
            // stored instead of dropping it (withNewMemory is idempotent and inserts commute).
            retry: true,
          },
        ],
        set: [{ key: `mem:${id}`, tags: [tags.memory(id)], ttl, value: (c: Created) => c.memory }],
      });
      logger.event('memory.created', {
        'memory.id': memory.id,
        'user.id': memory.user_id,
        'memory.size': input.content.length,
      });
      res.setHeader('location', `/v1/memories/${memory.id}`);
      await sendJson(req, res, 201, memory, send);
    }),
  );

  app.get(
    '/v1/memories',
    track(async (req: Request, res: Response) => {
      const q = v.listQuery(req.query);
      // Tagged with its memories too: editing or deleting one drops only the pages that hold it.
      const page = await cached(
        listKey(q.userId, q.limit, q.cursor),
        [tags.lists(q.userId)],
        () => repo.list(q.userId, q.limit, q.after),
        pageTags,
      );
      const out = q.fields ? { ...page, items: page.items.map((m) => selectFields(m, q.fields)) } : page;
      await sendJson(req, res, 200, out, { ...send, etag: true });
    }),
  );

  app.get(
    '/v1/memories/search',
    track(async (req: Request, res: Response) => {
      const q = v.searchQuery(req.query);
      const items = await cached(
        `search:${userKey(q.userId)}:${q.limit}:${q.q}`,
        await searchTags(q.userId, q.q),
        () => repo.search(q.userId, q.q, q.limit),
        itemTags,
      );
      const out = { items: q.fields ? items.map((m) => selectFields(m, q.fields)) : items };
      await sendJson(req, res, 200, out, { ...send, etag: true });
    }),
  );

  app.get(
    '/v1/memories/:id',
    track(async (req: Request, res: Response) => {
      const id = v.id(req.params.id as string);
      const { fields } = v.itemQuery(req.query);
      // undefined = "not found", which the cache keeps briefly (negative caching).
      const memory = await cached<Memory | undefined>(`mem:${id}`, [tags.memory(id)], () => repo.get(id));
      if (!memory) throw memoryNotFound(id);
      await sendJson(req, res, 200, selectFields(memory, fields), { ...send, etag: true });
    }),
  );

  app.patch(
    '/v1/memories/:id',
    requireJson,
    body,
    track(async (req: Request, res: Response) => {
      const id = v.id(req.params.id as string);
      const patch = v.patchBody(req.body);
      // The updated memory replaces its own entry; the pages and searches holding it are dropped.
      const memory = await writeThrough(() => repo.update(id, patch), {
        invalidate: (m: Memory | undefined) =>
          m ? changedTags(m.user_id, id, { contentChanged: patch.content !== undefined }) : [],
        set: [{ key: `mem:${id}`, tags: [tags.memory(id)], ttl, value: (m: Memory | undefined) => m }],
      });
      if (!memory) throw memoryNotFound(id);
      logger.event('memory.updated', {
        'memory.id': id,
        'user.id': memory.user_id,
        'memory.fields': Object.keys(patch),
      });
      await sendJson(req, res, 200, memory, send);
    }),
  );

  app.delete(
    '/v1/memories/:id',
    track(async (req: Request, res: Response) => {
      const id = v.id(req.params.id as string);
      const userId = await repo.delete(id);
      if (userId === undefined) throw memoryNotFound(id);
      await invalidate(deletedTags(userId, id));
      logger.event('memory.deleted', { 'memory.id': id, 'user.id': userId });
      res.status(204).end();
    }),
  );

  app.use(notFoundHandler({ logger }));
  app.use(errorHandler({ logger }));
  return app;
}
