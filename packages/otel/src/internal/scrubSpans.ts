import type { Attributes } from '@opentelemetry/api';
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
  for (const span of spans) scrubAttributes(span.attributes as Attributes);
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
      if (typeof v === 'string') attrs[k] = sanitizeSql(v);
    }
  }
  for (const key in attrs) {
    if (isSensitiveHeaderKey(key)) attrs[key] = [REDACTED];
  }
}
