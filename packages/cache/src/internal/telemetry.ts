import { type Counter, type Histogram, metrics, trace } from '@opentelemetry/api';

export const RESULTS = ['hit', 'miss', 'stale', 'error'] as const;
export type Result = (typeof RESULTS)[number];
export const TIERS = ['l1', 'l2'] as const;
export type Tier = (typeof TIERS)[number];

/** Index into a cache's request counters: result × tier. */
export function slot(result: Result, tier: Tier): number {
  return RESULTS.indexOf(result) * 2 + (tier === 'l1' ? 0 : 1);
}

/** What the metrics callback reads from each live cache. */
export type Observed = { readonly name: string; readonly requests: Float64Array };

const live = new Set<Observed>();
let instruments: { loadDuration: Histogram; invalidations: Counter } | undefined;

function meter() {
  return metrics.getMeter('@mem0-stack/cache');
}

/**
 * Requests are plain array increments on the hot path; an observable counter reports them at
 * collection time, so a hit pays no OTel call. Registered on the first createCache(), never at
 * module load.
 */
export function register(o: Observed): void {
  live.add(o);
  if (instruments !== undefined) return;
  const m = meter();
  const requests = m.createObservableCounter('cache.requests', {
    description: 'Cache lookups by result (hit, miss, stale, error) and tier (l1, l2)',
    unit: '{request}',
  });
  requests.addCallback((r) => {
    // Caches sharing a name are summed: one series per attribute set.
    const byName = new Map<string, Float64Array>();
    for (const c of live) {
      const acc = byName.get(c.name) ?? new Float64Array(RESULTS.length * 2);
      for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] ?? 0) + (c.requests[i] ?? 0);
      byName.set(c.name, acc);
    }
    for (const [name, acc] of byName) {
      for (let ri = 0; ri < RESULTS.length; ri++) {
        for (let ti = 0; ti < 2; ti++) {
          const v = acc[ri * 2 + ti] ?? 0;
          if (v > 0)
            r.observe(v, { 'cache.name': name, 'cache.result': RESULTS[ri], 'cache.tier': TIERS[ti] });
        }
      }
    }
  });
  instruments = {
    loadDuration: m.createHistogram('cache.load.duration', {
      description: 'Duration of loader calls made on a miss or a background refresh',
      unit: 's',
    }),
    invalidations: m.createCounter('cache.invalidations', {
      description: 'Invalidations by kind (key, tag, prefix) and origin (local, remote)',
      unit: '{invalidation}',
    }),
  };
}

export function unregister(o: Observed): void {
  live.delete(o);
}

export function recordLoad(name: string, seconds: number, ok: boolean): void {
  instruments?.loadDuration.record(seconds, {
    'cache.name': name,
    'cache.load.outcome': ok ? 'success' : 'error',
  });
}

export function recordInvalidation(
  name: string,
  kind: 'key' | 'tag' | 'prefix',
  origin: 'local' | 'remote',
  n = 1,
): void {
  instruments?.invalidations.add(n, {
    'cache.name': name,
    'cache.invalidation.kind': kind,
    'cache.invalidation.origin': origin,
  });
}

/** Marks the active span (usually the request span) with whether this lookup was served from cache. */
export function markSpan(hit: boolean): void {
  const span = trace.getActiveSpan();
  // A joined single-flight load can settle after the caller's span ended.
  if (span?.isRecording()) span.setAttribute('cache.hit', hit);
}
