import { DEFAULT_REDACT_KEYS } from '@mem0-stack/logging';

// Internal messages go to logs and traces (never to responses), but even there a connection
// string's password has no business: `postgres://user:secret@host` → `postgres://user:[REDACTED]@host`.
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi;
const PASSWORD_PAIR = /\b(password|passwd|pwd)=([^\s&;]+)/gi;
// Span attributes do not pass through the logger's scrubbing: tokens must be masked here too.
const BEARER = /\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*/gi;

export function redactSecrets(text: string): string {
  return text
    .replace(URL_CREDENTIALS, '$1:[REDACTED]@')
    .replace(PASSWORD_PAIR, '$1=[REDACTED]')
    .replace(BEARER, '$1 [REDACTED]');
}

const normaliseKey = (key: string) => key.toLowerCase().replace(/[-_.\s]/g, '');
const SENSITIVE = DEFAULT_REDACT_KEYS.map(normaliseKey);

/** The logger's key rule (suffix match, or anywhere for words of 6+ letters): `db_password`, `x-api-key`. */
export function isSensitiveKey(key: string): boolean {
  const k = normaliseKey(key);
  return SENSITIVE.some((p) => k.endsWith(p) || (p.length >= 6 && k.includes(p)));
}
