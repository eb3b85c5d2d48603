import { CATEGORY_DEFAULTS, isCategory, isSeverity, validStatus } from './internal/defaults';
import { installBuiltins } from './internal/rules/builtins';
import { causeChain, get, isObjectLike } from './internal/safe';
import { configVersion } from './internal/state';
import { type Classification, registeredClassifiers } from './registerClassifier';
import type { ClassifiedError, FieldIssue } from './types';
import { userMessageFor } from './userMessages';

// Results are instances of one internal class: the brand lives on its prototype (so
// classify(classify(x)) is free and works across package copies through Symbol.for), and the
// rule's explicit user message and the config version ride in private fields. No per-result
// defineProperty: these objects are made on every failure.
const CLASSIFIED = Symbol.for('@mem0-stack/errors.ClassifiedError');

class Classified implements ClassifiedError {
  code: string;
  category: ClassifiedError['category'];
  severity: ClassifiedError['severity'];
  retryable: boolean;
  status: number;
  userMessage: string;
  cause: unknown;
  declare retryAfterMs?: number;
  declare maybeSent?: boolean;
  declare unclassified?: boolean;
  declare details?: FieldIssue[];
  declare source?: string;
  declare rule?: string;
  readonly #explicit: string | undefined;
  readonly #version: number;

  constructor(base: Omit<ClassifiedError, 'userMessage'>, explicit: string | undefined) {
    this.code = base.code;
    this.category = base.category;
    this.severity = base.severity;
    this.retryable = base.retryable;
    this.status = base.status;
    this.userMessage = '';
    this.cause = base.cause;
    if (base.retryAfterMs !== undefined) this.retryAfterMs = base.retryAfterMs;
    if (base.maybeSent !== undefined) this.maybeSent = base.maybeSent;
    if (base.unclassified) this.unclassified = true;
    if (base.details !== undefined) this.details = base.details;
    if (base.source !== undefined) this.source = base.source;
    if (base.rule !== undefined) this.rule = base.rule;
    this.#explicit = explicit;
    this.#version = configVersion();
    this.userMessage = userMessageFor(this, undefined, explicit);
  }

  static explicit(c: unknown): string | undefined {
    return c instanceof Classified ? c.#explicit : undefined;
  }

  static version(c: Classified): number {
    return c.#version;
  }
}
Object.defineProperty(Classified.prototype, CLASSIFIED, { value: true });

const MAX_AGGREGATE = 20;
const MAX_NESTING = 3;
const MAX_RETRY_AFTER = 24 * 60 * 60 * 1000;

const cache = new WeakMap<object, Classified>();

function sanitizeCode(code: unknown): string | undefined {
  if (typeof code !== 'string') return undefined;
  const c = code
    .trim()
    .slice(0, 64)
    .replace(/[^A-Za-z0-9_.-]/g, '_');
  return c.length > 0 ? c : undefined;
}

function sanitizeDetails(details: unknown): FieldIssue[] | undefined {
  if (!Array.isArray(details)) return undefined;
  const out: FieldIssue[] = [];
  for (const d of details.slice(0, 100)) {
    const path = get(d, 'path');
    const message = get(d, 'message');
    const code = get(d, 'code');
    if (typeof path !== 'string' || typeof message !== 'string') continue;
    out.push(typeof code === 'string' ? { path, message, code } : { path, message });
  }
  return out.length > 0 ? out : undefined;
}

/** Turns a rule's partial answer into a full, validated ClassifiedError. */
function build(r: Classification, cause: unknown, rule: string): Classified {
  const category = isCategory(r.category) ? r.category : 'internal';
  const d = CATEGORY_DEFAULTS[category];
  const retryable = typeof r.retryable === 'boolean' ? r.retryable : d.retryable;
  const status = validStatus(r.status) ? r.status : category === 'database' && retryable ? 503 : d.status;
  const code = sanitizeCode(r.code) ?? (category === 'internal' ? 'INTERNAL_ERROR' : category.toUpperCase());
  const retryAfterMs =
    typeof r.retryAfterMs === 'number' && Number.isFinite(r.retryAfterMs) && r.retryAfterMs >= 0
      ? Math.min(Math.round(r.retryAfterMs), MAX_RETRY_AFTER)
      : undefined;
  const explicit = typeof r.userMessage === 'string' && r.userMessage.length > 0 ? r.userMessage : undefined;
  const base: Omit<ClassifiedError, 'userMessage'> = {
    code,
    category,
    severity: isSeverity(r.severity) ? r.severity : d.severity,
    retryable,
    status,
    cause,
    rule,
  };
  if (retryAfterMs !== undefined) base.retryAfterMs = retryAfterMs;
  if (typeof r.maybeSent === 'boolean') base.maybeSent = r.maybeSent;
  const details = sanitizeDetails(r.details);
  if (details) base.details = details;
  if (typeof r.source === 'string') base.source = r.source;
  return new Classified(base, explicit);
}

function unclassified(cause: unknown): Classified {
  return new Classified(
    {
      code: 'UNCLASSIFIED',
      category: 'internal',
      severity: 'high',
      retryable: false,
      status: 500,
      cause,
      unclassified: true,
    },
    undefined,
  );
}

function runRules(node: unknown, fallback: boolean, cause: unknown): Classified | undefined {
  for (const rule of registeredClassifiers()) {
    if (rule.fallback !== fallback) continue;
    let r: Classification | undefined | null | false;
    try {
      r = rule.fn(node);
    } catch {
      continue; // a broken custom rule must not break classification
    }
    if (r && typeof r === 'object' && typeof r.code === 'string') return build(r, cause, rule.name);
  }
  return undefined;
}

function isAggregate(v: unknown): boolean {
  return isObjectLike(v) && get(v, 'name') === 'AggregateError' && Array.isArray(get(v, 'errors'));
}

/**
 * An AggregateError (Promise.any, happy-eyeballs connect) is as bad as its worst member: the
 * first non-retryable member wins, and the whole is retryable only if every member is.
 */
function aggregate(node: unknown, cause: unknown, nesting: number): Classified | undefined {
  const members = (get(node, 'errors') as unknown[]).slice(0, MAX_AGGREGATE);
  const results = members.map((m) => classifyValue(m, nesting + 1)).filter((r) => !r.unclassified);
  if (results.length === 0) return undefined;
  const primary = results.find((r) => !r.retryable) ?? results[0]!;
  const { userMessage: _ignored, ...rest } = primary;
  const merged: Omit<ClassifiedError, 'userMessage'> = {
    ...rest,
    cause,
    retryable: results.every((r) => r.retryable),
  };
  if (results.some((r) => r.maybeSent)) merged.maybeSent = true;
  return new Classified(merged, Classified.explicit(primary));
}

function classifyValue(err: unknown, nesting: number): Classified {
  if (nesting > MAX_NESTING) return unclassified(err);
  const chain = causeChain(err);
  for (const node of chain) {
    const hit = runRules(node, false, err);
    if (hit) return hit;
    if (isAggregate(node)) {
      const agg = aggregate(node, err, nesting);
      if (agg) return agg;
    }
  }
  for (const node of chain) {
    const hit = runRules(node, true, err);
    if (hit) return hit;
  }
  return unclassified(err);
}

/** True when `v` is a result of {@link classify} (from any copy of this package). */
export function isClassifiedError(v: unknown): v is ClassifiedError {
  return isObjectLike(v) && get(v, CLASSIFIED) === true;
}

// The brand is global (Symbol.for), so anything can carry it: a Proxy answering `true` to every
// key, a plain object. Only a value with a valid shape is returned as is by classify().
function isWellFormed(v: unknown): v is ClassifiedError {
  if (v instanceof Classified) return true;
  if (!isClassifiedError(v)) return false;
  const code = get(v, 'code');
  const details = get(v, 'details');
  const retryAfterMs = get(v, 'retryAfterMs');
  return (
    typeof code === 'string' &&
    sanitizeCode(code) === code &&
    isCategory(get(v, 'category')) &&
    isSeverity(get(v, 'severity')) &&
    typeof get(v, 'retryable') === 'boolean' &&
    validStatus(get(v, 'status')) &&
    typeof get(v, 'userMessage') === 'string' &&
    (retryAfterMs === undefined || (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs))) &&
    (details === undefined || (Array.isArray(details) && sanitizeDetails(details)?.length === details.length))
  );
}

/** The message the rule itself supplied (AppError.userMessage), if any. Internal. */
export function explicitUserMessage(c: ClassifiedError): string | undefined {
  return Classified.explicit(c);
}

/**
 * Classifies ANY thrown value — Error, string, null, plain object, symbol, AggregateError,
 * cyclic cause chains — into a {@link ClassifiedError}. Never throws. The result is memoised
 * per error object, and classifying a classification returns it unchanged.
 * @example
 * try { await pool.query(sql) } catch (err) {
 *   const c = classify(err); // { code: 'DB_DEADLOCK', category: 'database', retryable: true, … }
 * }
 */
export function classify(err: unknown): ClassifiedError {
  try {
    if (isWellFormed(err)) return err;
    installBuiltins();
    const version = configVersion();
    const isObj = isObjectLike(err);
    if (isObj) {
      const hit = cache.get(err);
      if (hit !== undefined && Classified.version(hit) === version) return hit;
    }
    const result = classifyValue(err, 0);
    if (isObj) cache.set(err, result);
    return result;
  } catch {
    return unclassified(err);
  }
}
