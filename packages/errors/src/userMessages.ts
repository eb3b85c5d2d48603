import { bumpConfigVersion } from './internal/state';
import type { ErrorCategory } from './types';

/** What a message function or translator gets to build the text. */
export type MessageContext = {
  code: string;
  category: ErrorCategory;
  /** BCP 47 tag from the request's Accept-Language (first entry), when known. */
  locale?: string;
  /** Whole seconds the client should wait, when the error carries a Retry-After hint. */
  retryAfterSeconds?: number;
};

/** A catalogue entry: fixed text, or a function of the context (for waits, plurals…). */
export type UserMessage = string | ((ctx: MessageContext) => string);

/**
 * i18n hook: return the text in `ctx.locale`, or `undefined` to keep `ctx.message` (the
 * catalogue's English text for this code).
 */
export type MessageTranslator = (ctx: MessageContext & { message: string }) => string | undefined;

const retryIn = (ctx: MessageContext): string =>
  ctx.retryAfterSeconds !== undefined && ctx.retryAfterSeconds > 0
    ? `in ${ctx.retryAfterSeconds} second${ctx.retryAfterSeconds === 1 ? '' : 's'}`
    : 'in a few seconds';

const SOMETHING_WRONG =
  'Something went wrong on our side. Please try again later; if it keeps happening, contact support and quote the correlation ID.';

const BY_CATEGORY: Record<ErrorCategory, UserMessage> = {
  validation: 'The request is not valid. Check the listed fields and try again.',
  authentication: 'You need to sign in to do this. Check your credentials or token and try again.',
  authorization: 'You do not have permission to do this. Ask an administrator for access if you need it.',
  not_found: 'We could not find what you asked for. Check the address or identifier and try again.',
  conflict: 'This conflicts with the current state of the resource. Reload it and try again.',
  rate_limited: (c) => `Too many requests. Please wait and retry ${retryIn(c)}.`,
  timeout: (c) => `The request took too long to complete. Please retry ${retryIn(c)}.`,
  unavailable: (c) => `The service is temporarily unavailable. Please retry ${retryIn(c)}.`,
  database: SOMETHING_WRONG,
  cache: (c) => `The service is temporarily unavailable. Please retry ${retryIn(c)}.`,
  configuration: SOMETHING_WRONG,
  internal: SOMETHING_WRONG,
};

const CONCURRENT = (c: MessageContext) =>
  `The item was being changed by another request at the same time. Please retry ${retryIn(c)}.`;

const BY_CODE: Record<string, UserMessage> = {
  DB_UNIQUE_VIOLATION:
    'An item with the same identifier already exists. Use a different value or update the existing item.',
  DB_EXCLUSION_VIOLATION: 'This overlaps with an existing item. Change the values and try again.',
  DB_FOREIGN_KEY_VIOLATION:
    'This refers to an item that does not exist, or one that is still in use. Check the identifiers and try again.',
  DB_NOT_NULL_VIOLATION: 'A required value is missing. Fill in every required field and try again.',
  DB_CHECK_VIOLATION: 'A value is outside the allowed range. Check the values and try again.',
  DB_VALUE_TOO_LONG: 'A value is too long. Shorten it and try again.',
  DB_INVALID_DATA: 'A value has the wrong format. Check the values and try again.',
  DB_INTEGRITY_VIOLATION: 'The data breaks a consistency rule. Check the values and try again.',
  DB_SERIALIZATION_FAILURE: CONCURRENT,
  DB_DEADLOCK: CONCURRENT,
  DB_LOCK_NOT_AVAILABLE: CONCURRENT,
  DB_TRANSACTION_ROLLBACK: CONCURRENT,
  DB_STATEMENT_TIMEOUT:
    'The request took too long to complete. Retry, or narrow it down (fewer items, a smaller time range).',
  MALFORMED_JSON: 'The request body is not valid JSON. Fix the syntax and try again.',
  PAYLOAD_TOO_LARGE: 'The request body is too large. Send a smaller body and try again.',
  UNSUPPORTED_MEDIA_TYPE:
    'This content type or encoding is not supported. Send the body as application/json.',
  METHOD_NOT_ALLOWED: 'This HTTP method is not allowed here. Check the API reference for this endpoint.',
  ROUTE_NOT_FOUND: 'There is no such endpoint. Check the URL and the HTTP method.',
  UNAUTHENTICATED: 'You need to sign in to do this. Check your credentials or token and try again.',
  ABORTED: 'The request was cancelled before it completed. Send it again if you still need it.',
  CIRCUIT_OPEN: (c) => `The service is temporarily unavailable. Please retry ${retryIn(c)}.`,
  OVERLOADED: (c) => `The service is busy right now. Please retry ${retryIn(c)}.`,
};

let overrides: Record<string, UserMessage> = {};
let translator: MessageTranslator | undefined;

/**
 * Overrides catalogue entries by code (`MEMORY_NOT_FOUND`) or by category (`category:unavailable`).
 * An `undefined` value removes an override. Returns a function restoring the previous entries.
 * @example
 * setUserMessages({ 'category:unavailable': 'The memory service is temporarily unavailable. Please retry in a few seconds.' });
 */
export function setUserMessages(messages: Record<string, UserMessage | undefined>): () => void {
  const previous = overrides;
  const next = { ...overrides };
  for (const [key, value] of Object.entries(messages)) {
    if (value === undefined) delete next[key];
    else if (typeof value === 'string' || typeof value === 'function') next[key] = value;
  }
  overrides = next;
  bumpConfigVersion();
  return () => {
    overrides = previous;
    bumpConfigVersion();
  };
}

/**
 * Installs the i18n hook used by {@link userMessageFor} (and so by problemDetails); pass
 * `undefined` to remove it.
 * @example
 * setMessageTranslator(({ code, locale, message }) => (locale?.startsWith('de') ? de[code] : undefined) ?? message);
 */
export function setMessageTranslator(fn: MessageTranslator | undefined): void {
  translator = fn;
  bumpConfigVersion();
}

function render(entry: UserMessage | undefined, ctx: MessageContext): string | undefined {
  if (entry === undefined) return undefined;
  if (typeof entry === 'string') return entry;
  try {
    const out = entry(ctx);
    return typeof out === 'string' && out.length > 0 ? out : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The end-user text for a code: override → built-in code entry → category entry, then the
 * translator for `locale`. Never throws.
 * @example userMessageFor({ code: 'DB_DEADLOCK', category: 'database' }, 'en'); // "The item was being changed…"
 */
export function userMessageFor(
  c: { code: string; category: ErrorCategory; retryAfterMs?: number },
  locale?: string,
  explicit?: string,
): string {
  const ctx: MessageContext = { code: c.code, category: c.category };
  if (locale !== undefined) ctx.locale = locale;
  if (c.retryAfterMs !== undefined) ctx.retryAfterSeconds = Math.ceil(c.retryAfterMs / 1000);
  // Own entries only: a code like `toString` must not find Object.prototype's method.
  const own = (table: Record<string, UserMessage>, key: string) =>
    Object.hasOwn(table, key) ? table[key] : undefined;
  const message =
    explicit ??
    render(own(overrides, c.code), ctx) ??
    render(own(BY_CODE, c.code), ctx) ??
    render(own(overrides, `category:${c.category}`), ctx) ??
    render(BY_CATEGORY[c.category], ctx) ??
    SOMETHING_WRONG;
  if (!translator) return message;
  try {
    const t = translator({ ...ctx, message });
    return typeof t === 'string' && t.length > 0 ? t : message;
  } catch {
    return message;
  }
}
