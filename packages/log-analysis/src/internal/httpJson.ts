import { LogAnalysisError } from '../LogAnalysisError';

/**
 * GET a JSON document with a timeout, turning every failure into a LogAnalysisError that
 * names the service: unreachable/5xx → SOURCE (exit 3), 400 → USAGE (exit 2, a bad query).
 * Credentials in the URL become a Basic Authorization header (fetch refuses them inline).
 */
export async function getJson(
  service: string,
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ status: number; body: unknown }> {
  const h: Record<string, string> = { accept: 'application/json', ...headers };
  const target = new URL(url);
  if (target.username || target.password) {
    const user = decodeURIComponent(target.username);
    const pass = decodeURIComponent(target.password);
    h.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  const timeout = AbortSignal.timeout(timeoutMs);
  const unreachable = (e: unknown) => {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = timeout.aborted
      ? `no answer within ${timeoutMs} ms`
      : (cause?.code ?? cause?.message ?? (e as Error).message);
    return new LogAnalysisError('SOURCE', `cannot reach ${service} at ${target.origin}: ${why}`, {
      cause: e,
    });
  };
  let res: Response;
  let text: string;
  try {
    res = await fetch(target, { headers: h, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    // The body can fail too (connection reset, timeout while it streams): same failure, exit 3.
    text = await res.text();
  } catch (e) {
    throw unreachable(e);
  }
  if (res.status === 404) return { status: 404, body: undefined };
  if (res.status === 400) {
    throw new LogAnalysisError('USAGE', `${service} rejected the request: ${text.trim().slice(0, 300)}`);
  }
  if (!res.ok) {
    throw new LogAnalysisError(
      'SOURCE',
      `${service} answered HTTP ${res.status}: ${text.trim().slice(0, 300)}`,
    );
  }
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch (e) {
    throw new LogAnalysisError(
      'SOURCE',
      `${service} answered something that is not JSON: ${text.slice(0, 120)}`,
      {
        cause: e,
      },
    );
  }
}
