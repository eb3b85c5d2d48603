import { diag } from '@opentelemetry/api';
import type { AnyValue, LogAttributes } from '@opentelemetry/api-logs';

/** OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT / _VALUE_LENGTH_LIMIT, resolved. */
export type LogRecordLimits = { attributeCountLimit: number; attributeValueLengthLimit: number };

/** The attributes a log record is exported with, and how many were dropped by the count limit. */
export type LimitedAttributes = { attributes: LogAttributes; dropped: number };

const EMPTY: LogAttributes = Object.freeze({});

/**
 * The attributes @opentelemetry/sdk-logs would keep for a record (its LogRecordImpl
 * constructor: setAttributes, then the exception's `exception.*` attributes), without
 * building an SDK record. When every attribute is already valid and within the limits and
 * there is no exception — the common case, e.g. records from @mem0-stack/logging, which
 * sanitises them — the caller's object is returned as is: nothing is copied. Otherwise the
 * SDK's rules apply one by one: empty keys and invalid values (functions, symbols, bigints,
 * class instances, cycles or repeated objects) are dropped with a diag warning, attributes past
 * the count limit are dropped and counted, strings (also nested) are cut at the length limit.
 * @example
 * const { attributes, dropped } = limitLogAttributes(record.attributes, record.exception, limits);
 */
export function limitLogAttributes(
  attrs: LogAttributes | undefined,
  exception: unknown,
  limits: LogRecordLimits,
): LimitedAttributes {
  if (exception == null) {
    if (attrs === undefined) return { attributes: EMPTY, dropped: 0 };
    if (withinLimits(attrs, limits)) return { attributes: attrs, dropped: 0 };
  }
  const out: LogAttributes = {};
  let count = 0;
  let dropped = 0;
  const add = (key: string, value: unknown) => {
    if (key.length === 0) {
      diag.warn(`Invalid attribute key: ${key}`);
      return;
    }
    if (!isLogAttributeValue(value)) {
      diag.warn(`Invalid attribute value set for key: ${key}`);
      return;
    }
    const isNew = !Object.hasOwn(out, key);
    if (isNew && count >= limits.attributeCountLimit) {
      if (++dropped === 1) diag.warn('Dropping extra attributes.');
      return;
    }
    out[key] = truncate(value as AnyValue, limits.attributeValueLengthLimit);
    if (isNew) count++;
  };
  if (attrs) for (const [key, value] of Object.entries(attrs)) add(key, value);
  if (exception != null) addException(out, exception, add);
  return { attributes: out, dropped };
}

/**
 * Scope attributes as the SDK's LoggerProvider keeps them: invalid ones count as dropped too.
 * @example const scope = { name, version, ...limitScopeAttributes(options?.attributes, limits) };
 */
export function limitScopeAttributes(
  attrs: LogAttributes | undefined,
  limits: LogRecordLimits,
): { attributes?: LogAttributes; droppedAttributesCount?: number } {
  if (attrs == null) return {};
  const out: LogAttributes = {};
  let count = 0;
  let dropped = 0;
  for (const [key, value] of Object.entries(attrs)) {
    if (key.length === 0 || !isLogAttributeValue(value) || count >= limits.attributeCountLimit) {
      dropped++;
      continue;
    }
    out[key] = truncate(value, limits.attributeValueLengthLimit);
    count++;
  }
  return { attributes: count > 0 ? out : undefined, droppedAttributesCount: dropped };
}

function withinLimits(attrs: LogAttributes, limits: LogRecordLimits): boolean {
  let n = 0;
  for (const key in attrs) {
    if (!Object.hasOwn(attrs, key)) continue;
    // (`__proto__`: the SDK copies attributes into a plain object, where that key is not kept)
    if (key.length === 0 || key === '__proto__' || ++n > limits.attributeCountLimit) return false;
    const v = attrs[key];
    switch (typeof v) {
      case 'string':
        if (v.length > limits.attributeValueLengthLimit) return false;
        break;
      case 'number':
      case 'boolean':
      case 'undefined':
        break;
      case 'object':
        if (v === null || v instanceof Uint8Array) break;
        if (!isLogAttributeValue(v) || needsCopy(v, limits.attributeValueLengthLimit)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * Whether the SDK's copy (truncateToSize) of an (already validated, so acyclic) value differs
 * from it: a string longer than `limit`, or a map with a `__proto__` key (the copy assigns it,
 * which sets the prototype instead of keeping the key), at any depth.
 */
function needsCopy(v: unknown, limit: number): boolean {
  if (typeof v === 'string') return v.length > limit;
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return false;
  if (Array.isArray(v)) return v.some((item) => needsCopy(item, limit));
  for (const key in v)
    if (
      Object.hasOwn(v, key) &&
      (key === '__proto__' || needsCopy((v as Record<string, unknown>)[key], limit))
    )
      return true;
  return false;
}

/** The SDK's isLogAttributeValue: AnyValue of plain data; an object seen twice (cycle or not) is invalid. */
function isLogAttributeValue(val: unknown, visited?: WeakSet<object>): boolean {
  if (val == null) return true;
  const t = typeof val;
  if (t === 'string' || t === 'number' || t === 'boolean' || val instanceof Uint8Array) return true;
  if (t !== 'object') return false;
  const obj = val as object;
  const seen = visited ?? new WeakSet<object>();
  if (seen.has(obj)) return false;
  seen.add(obj);
  if (Array.isArray(obj)) {
    for (const item of obj) if (!isLogAttributeValue(item, seen)) return false;
    return true;
  }
  const ctor = (obj as { constructor?: unknown }).constructor;
  if (ctor !== Object && ctor !== undefined) return false;
  for (const key in obj) {
    if (Object.hasOwn(obj, key) && !isLogAttributeValue((obj as Record<string, unknown>)[key], seen))
      return false;
  }
  return true;
}

/** The SDK's truncateToSize: strings cut at `limit`, arrays and maps copied with theirs cut. */
function truncate(value: AnyValue, limit: number): AnyValue {
  if (value == null || typeof value !== 'object') {
    return typeof value === 'string' && value.length > limit ? value.substring(0, limit) : value;
  }
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((item) => truncate(item, limit));
  const out: Record<string, AnyValue> = {};
  for (const [k, v] of Object.entries(value)) out[k] = truncate(v as AnyValue, limit);
  return out;
}

/** The SDK's LogRecordImpl._setException: exception.type / .message / .stacktrace unless already set. */
function addException(
  out: LogAttributes,
  exception: unknown,
  add: (key: string, value: unknown) => void,
): void {
  let recorded = false;
  if (typeof exception === 'string' || typeof exception === 'number') {
    if (!Object.hasOwn(out, 'exception.message')) add('exception.message', String(exception));
    recorded = true;
  } else if (exception && typeof exception === 'object') {
    const e = exception as {
      code?: { toString(): string };
      name?: unknown;
      message?: unknown;
      stack?: unknown;
    };
    if (e.code) {
      if (!Object.hasOwn(out, 'exception.type')) add('exception.type', e.code.toString());
      recorded = true;
    } else if (e.name) {
      if (!Object.hasOwn(out, 'exception.type')) add('exception.type', e.name);
      recorded = true;
    }
    if (e.message) {
      if (!Object.hasOwn(out, 'exception.message')) add('exception.message', e.message);
      recorded = true;
    }
    if (e.stack) {
      if (!Object.hasOwn(out, 'exception.stacktrace')) add('exception.stacktrace', e.stack);
      recorded = true;
    }
  }
  if (!recorded) diag.warn(`Failed to record an exception ${exception}`);
}
