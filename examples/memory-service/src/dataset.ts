/**
 * A deterministic synthetic dataset: users with Zipf-distributed activity and memories
 * built from a small vocabulary, so full-text searches hit real rows.
 */

const SUBJECTS = [
  'user',
  'alice',
  'bob',
  'team',
  'customer',
  'manager',
  'friend',
  'doctor',
  'partner',
  'sister',
];
const VERBS = [
  'prefers',
  'likes',
  'dislikes',
  'mentioned',
  'booked',
  'ordered',
  'forgot',
  'scheduled',
  'asked about',
  'visited',
];
const OBJECTS = [
  'green tea',
  'espresso',
  'vegetarian food',
  'morning meetings',
  'window seats',
  'jazz concerts',
  'hiking trips',
  'python tutorials',
  'italian restaurants',
  'dark mode',
  'weekly reports',
  'dentist appointments',
  'flights to berlin',
  'running shoes',
  'sci-fi novels',
  'yoga classes',
  'quarterly planning',
  'birthday gifts',
  'cloud invoices',
  'piano lessons',
];
const WHEN = [
  'on mondays',
  'last week',
  'every morning',
  'in december',
  'after lunch',
  'before travel',
  'on weekends',
  'yesterday',
];

/** Search terms that match the generated content (for the read mix). */
export const SEARCH_TERMS = [
  'tea',
  'espresso',
  'meetings',
  'jazz',
  'hiking',
  'python',
  'restaurants',
  'berlin',
  'yoga',
  'piano',
  'reports',
  'gifts',
];

/** A small, fast, seedable PRNG (mulberry32) so runs are repeatable. */
export function createRandom(seed = 42): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Samples ranks 0..n-1 with probability ∝ 1/(rank+1)^s: a few hot users, a long tail.
 * @example const pick = zipf(500, 1.1, createRandom(1)); const userIndex = pick();
 */
export function zipf(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1) ** s;
    cdf[k] = sum;
  }
  for (let k = 0; k < n; k++) cdf[k] = (cdf[k] as number) / sum;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** The user id for rank `i` (stable across runs). */
export function userId(i: number): string {
  return `user-${String(i).padStart(5, '0')}`;
}

/** One memory's content and metadata. */
export type SeedMemory = { user_id: string; content: string; metadata: Record<string, unknown> };

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)] as T;
}

/**
 * One memory's text from the vocabulary ("alice booked flights to berlin last week; note 7").
 * @example memoryContent(createRandom(1), 7)
 */
export function memoryContent(random: () => number, n: number): string {
  return `${pick(SUBJECTS, random)} ${pick(VERBS, random)} ${pick(OBJECTS, random)} ${pick(WHEN, random)}; note ${n}`;
}

/**
 * Generates `count` memories over `users` users; every user gets at least one, the rest
 * follow the Zipf distribution, like real per-user activity.
 * @example for (const m of generateMemories({ count: 10_000, users: 500 })) insert(m);
 */
export function* generateMemories(opts: {
  count: number;
  users: number;
  seed?: number;
}): Generator<SeedMemory> {
  const random = createRandom(opts.seed ?? 7);
  const pickUser = zipf(opts.users, 1.0, random);
  for (let i = 0; i < opts.count; i++) {
    const u = i < opts.users ? i : pickUser();
    const content = memoryContent(random, i);
    yield { user_id: userId(u), content, metadata: { source: 'seed', n: i, topic: pick(OBJECTS, random) } };
  }
}
