import { bumpConfigVersion } from './internal/state';
import type { ErrorCategory, ErrorSeverity, FieldIssue } from './types';

/** What a classifier returns when it recognises a value; omitted fields come from the category. */
export type Classification = {
  code: string;
  category: ErrorCategory;
  severity?: ErrorSeverity;
  retryable?: boolean;
  status?: number;
  userMessage?: string;
  retryAfterMs?: number;
  maybeSent?: boolean;
  details?: FieldIssue[];
  source?: string;
};

/**
 * A rule: return a {@link Classification} for values it recognises, `undefined` otherwise.
 * It is called with the thrown value and then each `cause` in its chain (outermost first), so
 * a rule only needs to recognise the one shape it knows. A classifier that throws is skipped.
 */
export type Classifier = (value: unknown) => Classification | undefined | null | false;

/** Options of {@link registerClassifier}. */
export type ClassifierOptions = {
  /** Shown as `rule` on the result and in logs. */
  name?: string;
  /**
   * Higher runs first. Built-in rules run at 0, AppError at 1000, yours default to 100: your
   * rules beat the built-ins but not an explicit AppError unless you pass more than 1000.
   * At equal priority the most recently registered rule wins.
   */
  priority?: number;
  /**
   * Run only after no ordinary rule matched anywhere in the cause chain (for broad rules like
   * "any TypeError"), so they do not shadow the specific cause of a wrapper error.
   */
  fallback?: boolean;
};

export type RegisteredClassifier = {
  readonly name: string;
  readonly priority: number;
  readonly fallback: boolean;
  readonly seq: number;
  readonly fn: Classifier;
};

let seq = 0;
let rules: RegisteredClassifier[] = [];

function sorted(list: RegisteredClassifier[]): RegisteredClassifier[] {
  return list.sort((a, b) => b.priority - a.priority || b.seq - a.seq);
}

/**
 * Adds a classification rule; returns a function that removes it.
 * @example
 * const off = registerClassifier(
 *   (e) => (e instanceof QuotaError ? { code: 'EMBEDDER_QUOTA', category: 'rate_limited', retryAfterMs: 60_000 } : undefined),
 *   { name: 'embedder' },
 * );
 */
export function registerClassifier(fn: Classifier, options: ClassifierOptions = {}): () => void {
  if (typeof fn !== 'function') throw new TypeError('registerClassifier: fn must be a function');
  const entry: RegisteredClassifier = {
    name: options.name ?? (fn.name || 'custom'),
    priority: Number.isFinite(options.priority) ? (options.priority as number) : 100,
    fallback: options.fallback === true,
    seq: seq++,
    fn,
  };
  rules = sorted([...rules, entry]);
  bumpConfigVersion();
  return () => {
    const before = rules.length;
    rules = rules.filter((r) => r !== entry);
    if (rules.length !== before) bumpConfigVersion();
  };
}

/** Current rules in run order (internal; the array is replaced, never mutated, on change). */
export function registeredClassifiers(): readonly RegisteredClassifier[] {
  return rules;
}
