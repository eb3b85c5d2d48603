// A load generator with per-request accounting. autocannon reports totals; the scenarios need
// to know, for every request, whether it was answered, refused or cut, with which status and
// body, and under which trace id (each request carries a traceparent of its own, so its spans and
// log records can be looked up at the collector).
import { randomBytes } from 'node:crypto';
import { Agent, type IncomingMessage, request } from 'node:http';

export type RequestSpec = {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Free label for grouping results (e.g. the route). */
  tag?: string;
};

export type Outcome = {
  tag: string;
  method: string;
  path: string;
  /** The trace id sent in traceparent (undefined when the spec set its own headers for it). */
  traceId: string | undefined;
  status?: number;
  contentType?: string;
  /** Response body (kept for non-2xx, or always when `keepBodies`). */
  body?: string;
  bodyBytes: number;
  /** Node error code when no response arrived (ECONNREFUSED, ECONNRESET, TIMEOUT…). */
  error?: string;
  /** The request went out on a keep-alive socket that had served a request before. */
  reusedSocket: boolean;
  /** ms from start until a new socket connected (undefined when reused or never connected). */
  connectMs?: number;
  startedAt: number;
  ms: number;
};

export type LoadOptions = {
  base: string;
  connections: number;
  /** Requests per second across all connections (default: as fast as they go). */
  rate?: number;
  durationMs?: number;
  /** Stop when this returns true (checked before each request). */
  until?: () => boolean;
  /** Builds request number `i`. */
  next: (i: number) => RequestSpec;
  headers?: Record<string, string>;
  timeoutMs?: number;
  keepBodies?: boolean;
  /** Sees every body (e.g. to grep for secrets) before it is dropped. */
  onBody?: (o: Outcome, body: Buffer) => void;
  /** Called for every finished request. */
  onOutcome?: (o: Outcome) => void;
};

export type LoadResult = {
  outcomes: Outcome[];
  wallMs: number;
};

export function newTraceparent(): { traceparent: string; traceId: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

/** Sends one request on `agent`; never throws. */
export function send(
  base: string,
  spec: RequestSpec,
  opts: {
    agent?: Agent;
    headers?: Record<string, string>;
    timeoutMs?: number;
    onBody?: (b: Buffer) => void;
  } = {},
): Promise<Outcome & { raw?: Buffer }> {
  const url = new URL(spec.path, base);
  const headers: Record<string, string> = { ...opts.headers, ...spec.headers };
  let traceId: string | undefined;
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'traceparent')) {
    const tp = newTraceparent();
    headers.traceparent = tp.traceparent;
    traceId = tp.traceId;
  }
  const startedAt = Date.now();
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let reused = false;
    // A response or a CONNECT answer arrived: 'close' is then not the end of the story.
    let answered = false;
    const done = (o: Partial<Outcome> & { raw?: Buffer }) => {
      if (settled) return;
      settled = true;
      resolve({
        tag: spec.tag ?? spec.method,
        method: spec.method,
        path: spec.path,
        traceId,
        bodyBytes: 0,
        reusedSocket: reused,
        startedAt,
        ms: performance.now() - t0,
        connectMs,
        ...o,
      });
    };
    // A complete answer, read from the response or from the socket of a CONNECT.
    const answer = (res: IncomingMessage, raw: Buffer) => {
      opts.onBody?.(raw);
      done({ status: res.statusCode, contentType: res.headers['content-type'], bodyBytes: raw.length, raw });
    };
    const req = request(
      url,
      // No agent given: a connection of its own, closed after the answer (nothing left open).
      { method: spec.method, headers, agent: opts.agent ?? false, timeout: opts.timeoutMs ?? 20_000 },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e: NodeJS.ErrnoException) =>
          done({ error: e.code ?? e.message, status: res.statusCode }),
        );
        res.on('aborted', () => done({ error: 'RESPONSE_ABORTED', status: res.statusCode }));
        res.on('end', () => answer(res, Buffer.concat(chunks)));
      },
    );
    let connectMs: number | undefined;
    req.on('socket', (sock) => {
      reused = req.reusedSocket;
      if (!reused)
        sock.once('connect', () => {
          connectMs = performance.now() - t0;
        });
    });
    req.on('timeout', () => {
      req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }));
    // Node hands any answer to a CONNECT to 'connect' (never to the response callback) and,
    // without a listener, destroys the socket silently: read the answer here instead.
    req.on('connect', (res, socket, head) => {
      answered = true;
      const chunks: Buffer[] = [head];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => undefined);
      socket.setTimeout(2000, () => socket.destroy());
      socket.on('close', () => answer(res, Buffer.concat(chunks)));
    });
    // A request can also end with no response, no error and no timeout (the socket is destroyed
    // without an error): settle it then, instead of leaving the caller waiting forever.
    req.on('close', () => {
      if (!answered) done({ error: 'CLOSED_WITHOUT_RESPONSE' });
    });
    if (spec.body !== undefined) req.end(spec.body);
    else req.end();
  });
}

export type LoadHandle = {
  /** Requests sent and not yet finished. */
  readonly inflight: number;
  /** Age in ms of the oldest request still waiting for its answer (0 when none). */
  oldestPendingMs(): number;
  /** Finished so far (the array keeps growing until the run ends). */
  readonly outcomes: Outcome[];
  /** Ask the loops to stop after their current request. */
  stop(): void;
  done: Promise<LoadResult>;
};

/**
 * Runs `connections` concurrent request loops (keep-alive) until `durationMs` passes or `until()`
 * says stop, optionally paced to `rate` requests per second overall. A loop whose request got no
 * response waits 20 ms before the next one, so a refused port is not hammered.
 */
export function startLoad(opts: LoadOptions): LoadHandle {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const outcomes: Outcome[] = [];
  const t0 = Date.now();
  const deadline = opts.durationMs !== undefined ? t0 + opts.durationMs : Number.POSITIVE_INFINITY;
  let i = 0;
  let inflight = 0;
  const pending = new Map<number, number>();
  let stopped = false;
  const over = () => stopped || Date.now() >= deadline || (opts.until?.() ?? false);
  const worker = async () => {
    for (;;) {
      if (over()) return;
      const n = i++;
      if (opts.rate) {
        const due = t0 + (n * 1000) / opts.rate;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (over()) return;
      }
      const spec = opts.next(n);
      inflight++;
      pending.set(n, performance.now());
      const r = await send(opts.base, spec, {
        agent,
        headers: opts.headers,
        timeoutMs: opts.timeoutMs,
      });
      pending.delete(n);
      inflight--;
      const { raw, ...o } = r;
      if (raw) {
        opts.onBody?.(o, raw);
        if (opts.keepBodies || (o.status ?? 0) >= 300) o.body = raw.toString('utf8');
      }
      outcomes.push(o);
      opts.onOutcome?.(o);
      if (o.error) await new Promise((r) => setTimeout(r, 20));
    }
  };
  const done = Promise.all(Array.from({ length: opts.connections }, worker)).then(() => {
    agent.destroy();
    return { outcomes, wallMs: Date.now() - t0 };
  });
  return {
    get inflight() {
      return inflight;
    },
    oldestPendingMs() {
      let oldest = Number.POSITIVE_INFINITY;
      for (const t of pending.values()) oldest = Math.min(oldest, t);
      return pending.size === 0 ? 0 : performance.now() - oldest;
    },
    outcomes,
    stop() {
      stopped = true;
    },
    done,
  };
}

/** {@link startLoad} to the end. */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  return startLoad(opts).done;
}

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Counts outcomes by status class / error code, for messages and reports. */
export function summarize(outcomes: Outcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.error ? `error:${o.error}` : `${o.status}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
