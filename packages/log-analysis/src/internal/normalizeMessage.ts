/**
 * Masks the variable parts of a log message so that "user 123 not found" and "user 456 not
 * found" count as one message: UUIDs, timestamps, e-mail addresses, IP addresses, long
 * hex/alphanumeric ids and numbers. One regex pass with alternation keeps it cheap.
 */
const MASK =
  /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})|(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)|([\w.+-]+@[\w-]+(?:\.[\w-]+)+)|(\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b)|(\b[0-9a-f]{8,}\b)|(\b(?=[\w-]*\d)(?=[\w-]*[a-z])[\w-]{10,}\b)|(\d+(?:\.\d+)?)/gi;

const MAX_CHARS = 240;

function replace(
  _m: string,
  uuid?: string,
  ts?: string,
  email?: string,
  ip?: string,
  hex?: string,
  id?: string,
): string {
  if (uuid) return '<uuid>';
  if (ts) return '<ts>';
  if (email) return '<email>';
  if (ip) return '<ip>';
  if (hex) return '<hex>';
  if (id) return '<id>';
  return '<n>';
}

/**
 * @example normalizeMessage('user 42 not found (req 7f3a9c2e11)') // 'user <n> not found (req <hex>)'
 */
export function normalizeMessage(message: string): string {
  const m = message.length > MAX_CHARS ? message.slice(0, MAX_CHARS) : message;
  return m.replace(MASK, replace).replace(/\s+/g, ' ').trim();
}
