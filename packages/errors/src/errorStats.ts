import type { ClassifiedError, ErrorCategory, ErrorSeverity } from './types';

/** In-process error counts for a health or debug endpoint. */
export type ErrorStats = {
  /** When counting started (process start or last reset), ISO-8601. */
  since: string;
  total: number;
  /** Errors no rule recognised: each is a gap in the classifiers. */
  unclassified: number;
  byCategory: Partial<Record<ErrorCategory, number>>;
  bySeverity: Partial<Record<ErrorSeverity, number>>;
  byCode: Record<
    string,
    { count: number; category: ErrorCategory; severity: ErrorSeverity; lastSeen: string }
  >;
};

// Codes are low-cardinality by design, but a buggy classifier could mint one per error; past
// this many distinct codes the rest are folded into OTHER so memory stays bounded.
const MAX_CODES = 500;

let since = Date.now();
let total = 0;
let unclassified = 0;
let byCategory = new Map<ErrorCategory, number>();
let bySeverity = new Map<ErrorSeverity, number>();
let byCode = new Map<
  string,
  { count: number; category: ErrorCategory; severity: ErrorSeverity; lastSeen: number }
>();

/**
 * Counts one recorded error (internal; recordError calls it). Returns the code it was counted
 * under (`OTHER` past the cap), which the `app.errors` metric uses too, so its label set is
 * bounded the same way.
 */
export function countError(c: ClassifiedError): string {
  total++;
  if (c.unclassified) unclassified++;
  byCategory.set(c.category, (byCategory.get(c.category) ?? 0) + 1);
  bySeverity.set(c.severity, (bySeverity.get(c.severity) ?? 0) + 1);
  const key = byCode.has(c.code) || byCode.size < MAX_CODES ? c.code : 'OTHER';
  const entry = byCode.get(key);
  if (entry) {
    entry.count++;
    entry.lastSeen = Date.now();
  } else byCode.set(key, { count: 1, category: c.category, severity: c.severity, lastSeen: Date.now() });
  return key;
}

/**
 * Counts of errors recorded by {@link recordError} in this process, by code, category and
 * severity (a snapshot; safe to serialise).
 * @example app.get('/debug/errors', (_req, res) => res.json(errorStats()));
 */
export function errorStats(): ErrorStats {
  const codes: ErrorStats['byCode'] = {};
  for (const [code, e] of byCode) {
    codes[code] = {
      count: e.count,
      category: e.category,
      severity: e.severity,
      lastSeen: new Date(e.lastSeen).toISOString(),
    };
  }
  return {
    since: new Date(since).toISOString(),
    total,
    unclassified,
    byCategory: Object.fromEntries(byCategory),
    bySeverity: Object.fromEntries(bySeverity),
    byCode: codes,
  };
}

/**
 * Starts counting from zero (tests, or a periodic report).
 * @example resetErrorStats();
 */
export function resetErrorStats(): void {
  since = Date.now();
  total = 0;
  unclassified = 0;
  byCategory = new Map();
  bySeverity = new Map();
  byCode = new Map();
}
