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
