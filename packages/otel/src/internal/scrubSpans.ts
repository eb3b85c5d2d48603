import type { Attributes, SpanStatus } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { sanitizeSql } from '../sanitizeSql';
import { REDACTED, redactQuery, redactUrl } from './redactUrl';

const SENSITIVE_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-access-token',
  'x-csrf-token',
  'x-xsrf-token',
  'x-amz-security-token',
  'x-goog-api-key',
]);
const SQL_SYSTEMS = new Set([
  'postgresql',
  'mysql',
  'mariadb',
  'mssql',
  'microsoft.sql_server',
  'sqlite',
  'oracle',
  'oracle.db',
  'cockroachdb',
]);
/** SQL systems whose strings take backslash escapes and double quotes. */
const MYSQL_SYSTEMS = new Set(['mysql', 'mariadb']);
const URL_KEYS = ['url.full', 'http.url'];
const QUERY_KEYS = ['url.query'];
const TARGET_KEYS = ['http.target'];
const SQL_KEYS = ['db.query.text', 'db.statement'];

function isSensitiveHeaderKey(key: string): boolean {
  const prefix = key.startsWith('http.request.header.')
    ? 20
    : key.startsWith('http.response.header.')
      ? 21
      : 0;
  if (prefix === 0) return false;
  const name = key.slice(prefix).replace(/_/g, '-').toLowerCase();
  return (
    // Anywhere in the name, as the README promises (`x-apitoken`, `sessionid`): redacting a
    // harmless header costs less than exporting a credential.
    SENSITIVE_HEADERS.has(name) || /token|secret|password|passwd|session|signature/.test(name)
  );
}

/**
 * Redacts secrets from span attributes just before export (off the request path, once per
 * batch): query values in URLs, credentials in URLs, sensitive request/response headers,
 * and literals in SQL text.
 */
export function scrubSpans(spans: ReadableSpan[]): void {
  for (const span of spans) scrubSpan(span);
}

/** {@link scrubAttributes}, then {@link scrubErrorValues}: everything a span exports. */
export function scrubSpan(span: ReadableSpan): void {
  scrubAttributes(span.attributes as Attributes);
  // Only an exception event marks a data exception; a span without events has nothing to hide.
  if (span.events.length > 0) scrubErrorValues(span);
}

// SQLSTATE class 22, "data exception": PostgreSQL quotes the offending input value in the
// message (`invalid input syntax for type integer: "…"`, `value "…" is out of range`).
const DATA_EXCEPTION = /^22[0-9A-Z]{3}$/;
// instrumentation-pg's own exception event: "PostgreSQL error of type 'error' occurred (code: 22P02)".
const PG_EVENT_CODE = /\(code: (22[0-9A-Z]{3})\)$/;
// From the first to the last double quote of each line: PostgreSQL does not escape quotes
// inside the value, so a pairwise match could leave part of it.
const QUOTED = /"[^\n]*"/g;

/**
 * Hides the quoted input values in data-exception messages (SQLSTATE class 22), in the span
 * status message and in exception events (message and the stack's first line). Other errors
 * keep their text: they name identifiers (`relation "x" does not exist`), which debugging needs.
 * Upstream instrumentation-pg already sanitises its exception event but copies the raw message
 * into the span status.
 */
export function scrubErrorValues(span: ReadableSpan): void {
  let dataError = false;
  for (const event of span.events) {
    const attrs = event.attributes;
    if (event.name !== 'exception' || attrs === undefined) continue;
    const type = attrs['exception.type'];
    const message = attrs['exception.message'];
    const isData =
      (typeof type === 'string' && DATA_EXCEPTION.test(type)) ||
      (typeof message === 'string' && PG_EVENT_CODE.test(message));
    if (!isData) continue;
    dataError = true;
    if (typeof message === 'string') attrs['exception.message'] = message.replace(QUOTED, '"?"');
    const stack = attrs['exception.stacktrace'];
    if (typeof stack === 'string') attrs['exception.stacktrace'] = stack.replace(QUOTED, '"?"');
  }
  const status = span.status;
  if (dataError && typeof status.message === 'string')
    (span as { status: SpanStatus }).status = { ...status, message: status.message.replace(QUOTED, '"?"') };
}

export function scrubAttributes(attrs: Attributes): void {
  for (const k of URL_KEYS) {
    const v = attrs[k];
    if (typeof v === 'string' && (v.includes('?') || v.includes('@') || v.includes('#')))
      attrs[k] = redactUrl(v);
  }
  for (const k of QUERY_KEYS) {
    const v = attrs[k];
    if (typeof v === 'string' && v !== '') attrs[k] = redactQuery(v.startsWith('?') ? v.slice(1) : v);
  }
  for (const k of TARGET_KEYS) {
    const v = attrs[k];
    if (typeof v === 'string' && v.includes('?')) attrs[k] = redactUrl(v);
  }
  const system = attrs['db.system.name'] ?? attrs['db.system'];
  if (typeof system === 'string' && SQL_SYSTEMS.has(system)) {
    for (const k of SQL_KEYS) {
      const v = attrs[k];
      if (typeof v === 'string')
        attrs[k] = sanitizeSql(v, MYSQL_SYSTEMS.has(system) ? 'mysql' : 'postgresql');
    }
  }
  for (const key in attrs) {
    if (isSensitiveHeaderKey(key)) attrs[key] = [REDACTED];
  }
}
