import type { Agent, IncomingMessage, RequestOptions } from 'node:http';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import { asOwnRequest } from './asOwnRequest';

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const MAX_ATTEMPTS = 5;
// A kept-alive socket the collector closed while idle fails the next request sent on it
// (ECONNRESET/EPIPE before any answer). That request never reached the collector: send it again
// at once on a fresh socket, not after a backoff (and not as one of the retries). Bounded by the
// agent's socket count: each stale socket fails once and is gone.
const MAX_STALE_RESENDS = 4;
const STALE_CODES = new Set(['ECONNRESET', 'EPIPE']);

type Attempt = ExportResponse & { stale?: boolean };

export type HttpTransportOptions = {
  url: string;
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
  contentType: string;
  userAgent: string;
  /** Asked before each retry: false once shutdown or process exit has begun. */
  retry: () => boolean;
};

/** An OTLP export that failed for good; `status` is the HTTP status when there was one. */
export class OtlpHttpError extends Error {
  readonly status: number | undefined;
  readonly code: string;
  constructor(message: string, status?: number, code = 'OTLP_EXPORT_FAILED') {
    super(message);
    this.name = 'OtlpHttpError';
    this.status = status;
    this.code = code;
  }
}

/**
 * OTLP/HTTP transport with bounded retries. Unlike the upstream one, every retry timer is
 * unref'd and retries stop as soon as shutdown begins, so a short script whose collector
 * is down is never held open by backoff timers.
 */
export function createHttpTransport(
  opts: HttpTransportOptions,
): IExporterTransport & { stopRetrying(): void } {
  const url = new URL(opts.url);
  const secure = url.protocol === 'https:';
  let agent: Agent | undefined;
  let mod: typeof import('node:http') | undefined;
  let closing = false;
  const waits = new Set<() => void>();

  // Loaded on the first export, not at startup; once, not through the require hooks per send.
  const httpModule = (): typeof import('node:http') => {
    if (mod === undefined)
      mod = (secure ? require('node:https') : require('node:http')) as typeof import('node:http');
    return mod;
  };

  const attempt = (body: Buffer, timeoutMillis: number): Promise<Attempt> =>
    new Promise((resolve) => {
      const http = httpModule();
      if (!agent) agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      const headers: Record<string, string | number> = {
        ...opts.headers,
        'Content-Type': opts.contentType,
        'Content-Length': body.length,
        'User-Agent': opts.userAgent,
      };
      if (opts.compression === 'gzip') headers['Content-Encoding'] = 'gzip';
      const options: RequestOptions = { method: 'POST', headers, agent };
      let done = false;
      let answered = false;
      const finish = (r: Attempt) => {
        if (!done) {
          done = true;
          resolve(r);
        }
      };
      // Not the app's traffic: no client span, no http.client.request.duration point, no
      // context bound to the request (see asOwnRequest).
      const req = asOwnRequest(() =>
        http.request(url, options, (res: IncomingMessage) => {
          answered = true;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) {
              finish({
                status: 'failure',
                error: new OtlpHttpError('OTLP response body too large', res.statusCode),
              });
              res.destroy();
              return;
            }
            chunks.push(c);
          });
          res.on('error', () => {
            const s = res.statusCode ?? 0;
            if (s >= 200 && s < 300) finish({ status: 'success' });
            else finish({ status: 'retryable', error: new OtlpHttpError(`HTTP ${s}`, s) });
          });
          res.on('end', () => {
            const s = res.statusCode ?? 0;
            if (s >= 200 && s < 300) finish({ status: 'success', data: Buffer.concat(chunks) });
            else if (RETRYABLE_STATUS.has(s)) {
              finish({
                status: 'retryable',
                retryInMillis: parseRetryAfter(res.headers['retry-after']),
                error: new OtlpHttpError(`collector answered HTTP ${s}`, s),
              });
            } else {
              finish({ status: 'failure', error: new OtlpHttpError(`collector answered HTTP ${s}`, s) });
            }
          });
        }),
      );
      req.setTimeout(Math.max(1, timeoutMillis), () => {
        req.destroy();
        finish({
          status: 'retryable',
          error: new OtlpHttpError('request timed out', undefined, 'ETIMEDOUT'),
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        const code = typeof err.code === 'string' ? err.code : 'EUNKNOWN';
        const error = new OtlpHttpError(`${code}: ${err.message}`, undefined, code);
        if (req.reusedSocket && !answered && STALE_CODES.has(code)) {
          finish({ status: 'retryable', error, stale: true });
          return;
        }
        finish(RETRYABLE_CODES.has(code) ? { status: 'retryable', error } : { status: 'failure', error });
      });
      req.end(body);
    });

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(t);
        waits.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      t.unref();
      waits.add(wake);
    });

  const mayRetry = () => !closing && opts.retry();

  return {
    async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
      const deadline = Date.now() + timeoutMillis;
      let body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      if (opts.compression === 'gzip') {
        const { gzip } = require('node:zlib') as typeof import('node:zlib');
        body = await new Promise<Buffer>((res, rej) => gzip(body, (e, out) => (e ? rej(e) : res(out)))).catch(
          () => body,
        );
      }
      let stale = 0;
      const once = async (): Promise<ExportResponse> => {
        let r = await attempt(body, deadline - Date.now());
        while (r.stale && stale < MAX_STALE_RESENDS && !closing && Date.now() < deadline) {
          stale++;
          r = await attempt(body, deadline - Date.now());
        }
        return r;
      };
      let backoff = 1000;
      let result = await once();
      for (let n = 1; n < MAX_ATTEMPTS && result.status === 'retryable' && mayRetry(); n++) {
        const jitter = 1 + (Math.random() * 0.4 - 0.2);
        const delay = Math.min(result.retryInMillis ?? backoff * jitter, 5000);
        backoff *= 1.5;
        if (Date.now() + delay >= deadline) break;
        await wait(delay);
        // Woken early by stopRetrying() (a flush before exit): the batch gets this one last
        // try now instead of being dropped; the loop then stops. Not after shutdown/abort.
        if (closing) break;
        result = await once();
      }
      if (result.status === 'retryable') {
        return { status: 'failure', error: result.error ?? new OtlpHttpError('export retries exhausted') };
      }
      return result;
    },
    /**
     * Ends backoff waits now: `retry()` has just turned false (exit is near), so each waiting
     * batch makes its last attempt at once instead of holding up the flush.
     */
    stopRetrying() {
      for (const wake of waits) wake();
    },
    shutdown() {
      closing = true;
      for (const wake of waits) wake();
      agent?.destroy();
      agent = undefined;
    },
  };
}

function parseRetryAfter(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const s = Number.parseInt(v, 10);
  if (Number.isInteger(s)) return Math.max(0, s * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
