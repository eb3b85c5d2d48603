import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runCli } from '../src/runCli';

export const PKG = join(__dirname, '..');
export const CLI = join(PKG, 'dist', 'cli.js');

/** Child-process tests need the compiled CLI; say so clearly instead of failing obscurely. */
export function requireBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -b packages/log-analysis\` first`);
}

export function tempDir(prefix = 'mem0-logs-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export type Captured = { code: number; stdout: string; stderr: string };

/** Runs the CLI in-process with captured output (stdin from `input`, never a TTY). */
export async function cli(
  args: string[],
  opts: { input?: string; now?: number; signal?: AbortSignal } = {},
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const stdin = Readable.from(opts.input === undefined ? [] : [Buffer.from(opts.input)]) as Readable & {
    isTTY?: boolean;
  };
  const code = await runCli(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin,
    now: () => opts.now ?? Date.now(),
    signal: opts.signal,
  });
  return { code, stdout, stderr };
}

/** Runs `node dist/cli.js` as a child process. */
export function runBin(
  args: string[],
  opts: {
    input?: string;
    nodeArgs?: string[];
    cwd?: string;
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<Captured & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), CLI, ...args], {
      cwd: opts.cwd ?? PKG,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Starts a long-running child (follow mode) and returns it with its output so far. */
export function startBin(
  args: string[],
  cwd = PKG,
): { child: ChildProcess; out: () => string; err: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return { child, out: () => stdout, err: () => stderr };
}

export async function waitUntil(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A port nothing listens on (taken from the kernel, then released): connecting is refused. */
export function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(`http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export type LokiEntry = {
  /** Epoch nanoseconds. */
  ts: bigint;
  line: string;
  labels: Record<string, string>;
  /** Structured metadata (OTLP attributes). */
  meta?: Record<string, string>;
};

export type LokiStandIn = {
  url: string;
  requests: Array<{
    query: string;
    start: string;
    end: string;
    limit: number;
    direction: string;
    headers: IncomingMessage['headers'];
  }>;
  close(): Promise<void>;
};

/**
 * A local stand-in for Loki's /loki/api/v1/query_range: the stream selector is matched on
 * label equality (`{k="v", k2="v2"}`), `start` inclusive / `end` exclusive, `direction`
 * forward/backward and `limit` over all streams together, as Loki does. A selector it cannot
 * parse gets HTTP 400 with Loki's wording.
 */
export async function startLokiStandIn(
  entries: LokiEntry[],
  opts: { categorize?: boolean } = {},
): Promise<LokiStandIn> {
  const requests: LokiStandIn['requests'] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== '/loki/api/v1/query_range') {
      res.writeHead(404).end('404 page not found\n');
      return;
    }
    const query = u.searchParams.get('query') ?? '';
    const start = BigInt(u.searchParams.get('start') ?? '0');
    const end = BigInt(u.searchParams.get('end') ?? '0');
    const limit = Number(u.searchParams.get('limit') ?? '100');
    const direction = u.searchParams.get('direction') ?? 'backward';
    requests.push({
      query,
      start: start.toString(),
      end: end.toString(),
      limit,
      direction,
      headers: req.headers,
    });
    const m = /^\{(.*)\}$/.exec(query.trim());
    if (!m) {
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('parse error at line 1, col 1: syntax error: unexpected IDENTIFIER\n');
      return;
    }
    const matchers = (m[1] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => /^([a-zA-Z_]\w*)\s*=\s*"([^"]*)"$/.exec(p));
    if (matchers.some((x) => x === null)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('parse error: unexpected matcher\n');
      return;
    }
    const selected = entries
      .filter((e) => e.ts >= start && e.ts < end)
      .filter((e) => matchers.every((x) => e.labels[x![1]!] === x![2]))
      .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0) * (direction === 'forward' ? 1 : -1))
      .slice(0, limit);
    const streams = new Map<string, { stream: Record<string, string>; values: unknown[] }>();
    for (const e of selected) {
      const stream = opts.categorize ? e.labels : { ...e.labels, ...e.meta };
      const key = JSON.stringify(stream);
      let s = streams.get(key);
      if (!s) {
        s = { stream, values: [] };
        streams.set(key, s);
      }
      s.values.push(
        opts.categorize && e.meta
          ? [e.ts.toString(), e.line, { structuredMetadata: e.meta }]
          : [e.ts.toString(), e.line],
      );
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        status: 'success',
        data: { resultType: 'streams', result: [...streams.values()], stats: {} },
      }),
    );
  });
  const url = await listen(server);
  return { url, requests, close: () => close(server) };
}

export type TempoStandIn = { url: string; requests: string[]; close(): Promise<void> };

/** Base64, as Tempo's protobuf-JSON encodes ids (grafana/tempo#5437). */
export function b64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/**
 * A stand-in for Tempo's GET /api/traces/<id>: answers the documents it was given (Tempo's
 * `batches` shape, base64 ids, string nanos, enum names), 404 for unknown ids.
 */
export async function startTempoStandIn(traces: Record<string, unknown>): Promise<TempoStandIn> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const m = /^\/api\/traces\/([0-9a-fA-F]+)$/.exec(req.url ?? '');
    const doc = m ? traces[m[1]!.toLowerCase()] : undefined;
    if (!doc) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('trace not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  const url = await listen(server);
  return { url, requests, close: () => close(server) };
}

/** Builds a Tempo /api/traces document (batches per service) from a compact span list. */
export function tempoTrace(
  traceId: string,
  spans: Array<{
    id: string;
    parent?: string;
    name: string;
    service: string;
    startMs: number;
    durationMs: number;
    kind?: string;
    error?: string;
  }>,
): unknown {
  const byService = new Map<string, unknown[]>();
  for (const s of spans) {
    const list = byService.get(s.service) ?? [];
    const startNs = BigInt(Math.round(s.startMs * 1000)) * 1000n;
    list.push({
      traceId: b64(traceId),
      spanId: b64(s.id),
      ...(s.parent ? { parentSpanId: b64(s.parent) } : {}),
      name: s.name,
      kind: s.kind ?? 'SPAN_KIND_INTERNAL',
      startTimeUnixNano: startNs.toString(),
      endTimeUnixNano: (startNs + BigInt(Math.round(s.durationMs * 1e6))).toString(),
      attributes: [{ key: 'test.attr', value: { stringValue: 'x' } }],
      status: s.error ? { code: 'STATUS_CODE_ERROR', message: s.error } : {},
    });
    byService.set(s.service, list);
  }
  return {
    batches: [...byService.entries()].map(([service, list]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-http' }, spans: list }],
    })),
  };
}
