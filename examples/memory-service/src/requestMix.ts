import { createRandom, memoryContent, SEARCH_TERMS, userId, zipf } from './dataset';

/** One HTTP request of the synthetic workload. */
export type MixRequest = {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  headers: Record<string, string>;
  body?: string;
};

/** Shape and seed of the workload. */
export type RequestMixOptions = {
  /** Number of users (ranks 0..users-1, ids from `userId`). */
  users: number;
  /** Zipf exponent of user activity: a few hot users, a long tail. */
  zipfS?: number;
  seed?: number;
  /** Known memory ids per user, for GET /:id and PATCH (may grow as the caller learns new ids). */
  ids?: Map<string, string[]>;
};

/**
 * The service's synthetic workload, shared by the benchmark and the demo: ≈ 90% reads, 10%
 * writes over Zipf-distributed users. Reads: 45% first page of the user's list, 25% a search
 * for one of the seed vocabulary's terms, 20% one of the user's 20 newest known memories.
 * Writes: 8% new memories (content from the seed vocabulary), 2% metadata updates.
 * @example const next = createRequestMix({ users: 500, seed: 1 }); const { method, path } = next();
 */
export function createRequestMix(opts: RequestMixOptions): () => MixRequest {
  const random = createRandom(opts.seed ?? 1);
  const pickUser = zipf(opts.users, opts.zipfS ?? 1.1, random);
  const ids = opts.ids ?? new Map<string, string[]>();
  const json = { 'content-type': 'application/json' };
  const list = (u: string): MixRequest => ({
    method: 'GET',
    path: `/v1/memories?user_id=${u}&limit=20`,
    headers: {},
  });
  return () => {
    const u = userId(pickUser());
    const r = random();
    if (r < 0.08) {
      return {
        method: 'POST',
        path: '/v1/memories',
        headers: json,
        body: JSON.stringify({ user_id: u, content: memoryContent(random, Math.floor(random() * 1e9)) }),
      };
    }
    const mine = ids.get(u) ?? [];
    if (r < 0.1) {
      if (mine.length === 0) return list(u);
      const id = mine[Math.floor(random() * mine.length)] as string;
      return {
        method: 'PATCH',
        path: `/v1/memories/${id}`,
        headers: json,
        body: JSON.stringify({ metadata: { touched: Math.floor(random() * 1e6) } }),
      };
    }
    if (r < 0.55) return list(u);
    if (r < 0.8) {
      const q = SEARCH_TERMS[Math.floor(random() * SEARCH_TERMS.length)] as string;
      return { method: 'GET', path: `/v1/memories/search?user_id=${u}&q=${q}&limit=10`, headers: {} };
    }
    if (mine.length === 0) return list(u);
    const id = mine[Math.floor(random() * Math.min(mine.length, 20))] as string;
    return { method: 'GET', path: `/v1/memories/${id}`, headers: {} };
  };
}
