import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, waitFor } from '@mem0-stack/testkit';
import { ALLOW_LIST, allowRule, referenceProblems, words } from './helpers/allowList';
import { type DocCommand, docCommands, OWNED_DOCS, REPO } from './helpers/markdown';
import { type Stack, startStack } from './helpers/stack';

// Docs do not rot: every command line of every ```bash block in the operations docs is run
// here against a real stack (see helpers/stack.ts), or matches an allow-list entry that says
// why it cannot run and whose references are checked. Documented addresses are replaced by
// the stack's (table in `substitutions`); everything else runs exactly as written, in bash,
// from a scratch directory laid out like the repository root with the service's log in it.

jest.setTimeout(60_000);
const CONCURRENCY = 3;

const commands: DocCommand[] = OWNED_DOCS.flatMap((doc) => docCommands(doc));
const allowed = commands.filter((c) => allowRule(c.command));
const runnable = commands.filter((c) => !allowRule(c.command));

/** Checks on what some commands print, beyond their exit code. */
function expectations(stack: Stack): Array<[RegExp, RegExp]> {
  return [
    [/OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/localhost:4318 npx mem0-otel doctor$/, /No problems found\./],
    [/127\.0\.0\.1:9 npx mem0-otel doctor/, /unreachable \(ECONNREFUSED\)/],
    [/^node --require @mem0-stack\/otel\/register -e 0$/, /started: service=/],
    [/^OTEL_SDK_DISABLED=true .* -e 0$/, /telemetry is off/],
    // The brief's target: every request line carries a correlation id.
    [/select\(\."http\.route" != null and \.correlation_id == null\)/, /^\s*0\s*$/],
    [/resilience\.circuit\.to/, /"postgres"[\s\S]*"open"[\s\S]*"closed"/],
    [/redis\.unavailable/, /redis\.unavailable[\s\S]*redis\.recovered/],
    [/mem0-logs trace "\$TRACE_ID"/, new RegExp(stack.traceId)],
    [/^curl -s http:\/\/localhost:8080\/readyz$/, /"status":"ok"/],
    [/^curl -s http:\/\/localhost:8080\/healthz$/, /"status":"ok"/],
    [/^curl -s http:\/\/localhost:13133\/$/, /Server available/],
    [/^promtool test rules /, /SUCCESS/],
    [/^promtool check /, /SUCCESS/],
    [/mem0-logs errors .*memory-service\.log$/, /Errors: \d+/],
    [/mem0-logs latency .*memory-service\.log$/, /Requests: \d+/],
    [/^pg_isready /, /accepting connections/],
    [/redis-cli -u "\$REDIS_URL" ping$/, /PONG/],
    [/otelcol-mem0 components/, /- name: span_metrics/],
  ];
}

/** Documented address → the stack's. */
function substitutions(stack: Stack, servicePort: number): Array<[string | RegExp, string]> {
  const service = new URL(stack.serviceUrl).host;
  return [
    ['http://localhost:8080', `http://${service}`],
    ['localhost:8080', service],
    [/\bPORT=8080\b/, `PORT=${servicePort}`],
    ['http://localhost:4318', stack.collector.otlpHttpUrl],
    ['localhost:13133', stack.collector.env.OTELCOL_HEALTH_ENDPOINT!],
    ['localhost:8888', stack.collector.telemetryTarget],
    ['localhost:8889', stack.collector.prometheusExporterTarget],
    ['http://localhost:9090', stack.prom.url],
    ['postgres://postgres@127.0.0.1:5432/mem0_demo', stack.databaseUrl],
    ['redis://127.0.0.1:6379', stack.redisUrl],
  ];
}

let stack: Stack;
let workspace: string;
let baseEnv: NodeJS.ProcessEnv;
type Result = Run & { command: string; ready?: boolean };
/** Results by command (doc:line), filled in beforeAll. */
const results = new Map<string, Result>();
const key = (c: DocCommand) => `${c.doc}:${c.line}`;

/** A directory laid out like the repository root (symlinks) plus the CLIs of the packages. */
function makeWorkspace(dir: string): void {
  for (const d of ['collector', 'examples', 'packages', 'scripts'])
    if (!existsSync(join(dir, d))) symlinkSync(join(REPO, d), join(dir, d));
  const modules = join(dir, 'node_modules');
  const bin = join(modules, '.bin');
  mkdirSync(bin, { recursive: true });
  if (!existsSync(join(modules, '@mem0-stack')))
    symlinkSync(join(REPO, 'node_modules', '@mem0-stack'), join(modules, '@mem0-stack'));
  // What `npm install @mem0-stack/log-analysis @mem0-stack/otel` puts in node_modules/.bin: the
  // packages' declared bins (run with node, as npm's links would through their #! line).
  for (const pkg of ['log-analysis', 'otel']) {
    const dir = join(REPO, 'packages', pkg);
    const bins = (
      JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    ).bin;
    for (const [name, file] of Object.entries(bins)) {
      writeFileSync(join(bin, name), `#!/bin/sh\nexec "${process.execPath}" "${join(dir, file)}" "$@"\n`);
      chmodSync(join(bin, name), 0o755);
    }
  }
}

beforeAll(async () => {
  for (const cli of [
    'packages/log-analysis/dist/cli.js',
    'packages/otel/dist/cli.js',
    'examples/memory-service/dist/server.js',
  ])
    if (!existsSync(join(REPO, cli))) throw new Error(`${cli} is not built: run \`npm run build\` first`);
  workspace = mkdtempSync(join(tmpdir(), 'mem0-docs-'));
  makeWorkspace(workspace);
  stack = await startStack(workspace);
  mkdirSync(join(workspace, 'logs'));
  copyFileSync(stack.logFile, join(workspace, 'logs', 'memory-service.log'));
  baseEnv = {
    PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    // npx must find the local CLIs and never ask a registry.
    npm_config_offline: 'true',
    npm_config_yes: 'false',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    // "Run it with the service's environment", as the docs say.
    OTEL_EXPORTER_OTLP_ENDPOINT: stack.collector.otlpHttpUrl,
    DATABASE_URL: stack.databaseUrl,
    REDIS_URL: stack.redisUrl,
    TRACE_ID: stack.traceId,
  };
  await runAll();
}, 1_200_000);

/**
 * Runs every runnable command: the blocks concurrently (a few at a time: the machine is
 * shared), the commands of one block in order, as a reader would type them.
 */
async function runAll(): Promise<void> {
  const blocks = new Map<string, DocCommand[]>();
  for (const c of runnable) blocks.set(c.block, [...(blocks.get(c.block) ?? []), c]);
  const queue = [...blocks.values()];
  const worker = async () => {
    for (let b = queue.shift(); b; b = queue.shift()) {
      for (const c of b) {
        const command = substitute(c.command, substitutions(stack, await freePort()));
        const r = c.server ? await runServer(command) : await run(command, workspace, baseEnv);
        results.set(key(c), { ...r, command });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

afterAll(async () => {
  await stack?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
}, 60_000);

type Run = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

function run(command: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { cwd, env, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const kill = setTimeout(() => {
      stderr += `\n[docs test] killed after ${timeoutMs} ms`;
      process.kill(-child.pid!, 'SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Environment and readiness check of a documented server (`# runs until stopped`). */
async function serverSetup(command: string, dir: string) {
  const ports = await Promise.all(Array.from({ length: 8 }, () => freePort()));
  const [grpc, http, health, telemetry, pprof, zpages, prom, closed] = ports as [number, ...number[]];
  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    // A second collector must not take the ports of the one the stack runs (or anyone's).
    OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
    OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
    OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${health}`,
    OTELCOL_TELEMETRY_HOST: '127.0.0.1',
    OTELCOL_TELEMETRY_PORT: String(telemetry),
    OTELCOL_PPROF_ENDPOINT: `127.0.0.1:${pprof}`,
    OTELCOL_ZPAGES_ENDPOINT: `127.0.0.1:${zpages}`,
    PROMETHEUS_EXPORTER_ENDPOINT: `127.0.0.1:${prom}`,
    OTELCOL_STORAGE_DIR: join(dir, 'queue'),
    TEMPO_ENDPOINT: `127.0.0.1:${closed}`,
    LOKI_ENDPOINT: `http://127.0.0.1:${closed}/otlp`,
    PROMETHEUS_REMOTE_WRITE_ENDPOINT: `http://127.0.0.1:${closed}/api/v1/write`,
    GATEWAY_OTLP_PORT: String(closed),
  };
  if (/otelcol-mem0 --config/.test(command))
    return { env, readyUrl: `http://127.0.0.1:${health}/`, what: 'collector health_check' };
  const port = /\bPORT=(\d+)/.exec(command)?.[1];
  if (/memory-service\/dist\/server\.js/.test(command) && port)
    return { env, readyUrl: `http://127.0.0.1:${port}/healthz`, what: 'service /healthz' };
  throw new Error(`no readiness check known for the server command: ${command}`);
}

/** Starts a server command, waits until it is ready, stops it with SIGTERM like an operator. */
async function runServer(command: string): Promise<Run & { ready: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'mem0-docs-server-'));
  try {
    makeWorkspace(dir);
    const { env, readyUrl, what } = await serverSetup(command, dir);
    const child: ChildProcess = spawn('bash', ['-c', command], { cwd: dir, env, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.on('close', (code, signal) => r({ code, signal })),
    );
    let ready = false;
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
          const r = await fetch(readyUrl, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
          return r?.ok === true;
        },
        { timeoutMs: 60_000, intervalMs: 200, what },
      );
      ready = true;
    } catch (err) {
      stderr += `\n[docs test] not ready: ${(err as Error).message}`;
    }
    // SIGTERM to what bash started (bash itself waits and passes the exit code on).
    let kids: number[] = [];
    try {
      kids = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      // no children: it already exited
    }
    // No child: bash exec'd the command itself (a simple command without redirections).
    for (const k of kids.length > 0 ? kids : [child.pid!]) process.kill(k, 'SIGTERM');
    const hard = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 20_000);
    const { code, signal } = await closed;
    clearTimeout(hard);
    return { code, signal, stdout, stderr, ready };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function substitute(command: string, subs: Array<[string | RegExp, string]>): string {
  let out = command;
  for (const [from, to] of subs)
    out = typeof from === 'string' ? out.split(from).join(to) : out.replace(from, to);
  return out;
}

describe('commands in the docs', () => {
  it('finds the commands, and runs most of them', () => {
    expect(commands.length).toBeGreaterThan(80);
    expect(runnable.length).toBeGreaterThan(allowed.length * 3);
    // architecture.md describes; the others tell you what to run.
    for (const doc of OWNED_DOCS.filter((d) => d !== 'architecture.md'))
      expect(commands.some((c) => c.doc === doc)).toBe(true);
  });

  it('uses every allow-list entry (no stale exceptions)', () => {
    const unused = ALLOW_LIST.filter((r) => !commands.some((c) => r.pattern.test(c.command))).map((r) =>
      String(r.pattern),
    );
    expect(unused).toEqual([]);
  });

  it.each(allowed.map((c) => [`${c.doc}:${c.line} ${c.command}`, c] as const))(
    'allow-listed, references checked: %s',
    (_name, c) => {
      expect(allowRule(c.command)?.reason.length).toBeGreaterThan(20);
      expect(referenceProblems(c.command)).toEqual([]);
      expect(words(c.command).length).toBeGreaterThan(1);
    },
  );

  it.each(runnable.map((c) => [`${c.doc}:${c.line} ${c.command}`, c] as const))('runs: %s', (_name, c) => {
    const result = results.get(key(c));
    if (!result) throw new Error('not run (beforeAll failed?)');
    const { command } = result;
    const output = `${result.stdout}\n${result.stderr}`;
    const report = {
      command,
      exit: result.code,
      signal: result.signal,
      output: output.length > 4000 ? `${output.slice(0, 2000)}\n…\n${output.slice(-2000)}` : output,
    };
    expect({ ...report, exit: result.code, signal: result.signal }).toEqual({
      ...report,
      exit: c.exit,
      signal: null,
    });
    if (c.server) expect(result.ready).toBe(true);
    expect(output).not.toMatch(/internal error|command not found|Cannot find module|ENOTCACHED|E404/);
    for (const [match, expected] of expectations(stack))
      if (match.test(c.command)) expect(output).toMatch(expected);
  });
});

// PromQL words that are not metric or label names.
const PROMQL_WORDS = new Set(
  'sum by without rate increase irate histogram_quantile topk bottomk max min avg count sort sort_desc count_over_time max_over_time and or unless on ignoring group_left group_right bool offset'.split(
    ' ',
  ),
);

/**
 * Metric and label names a documented query may use although this test's traffic does not
 * produce them (a series exists only once something happened), with the reason.
 */
const MAY_BE_ABSENT: Record<string, string> = {
  ALERTS: 'exists only while an alert is pending or firing',
  alertname: 'label of ALERTS',
  alertstate: 'label of ALERTS',
  telemetry_dropped_total: 'counted only when the SDK drops telemetry; the test stack drops none',
  resilience_recovered_total: 'counted only when a retry succeeds; the test outage ends in exhausted retries',
};

describe('PromQL in the docs names metrics and labels that exist', () => {
  const queries = runnable
    .filter((c) => /^promtool query instant /.test(c.command))
    .map((c) => [`${c.doc}:${c.line}`, words(c.command)[4]!] as const);

  it('finds the queries, and every exception is still used by one', () => {
    expect(queries.length).toBeGreaterThan(25);
    const all = queries.map(([, q]) => q).join('\n');
    expect(Object.keys(MAY_BE_ABSENT).filter((n) => !new RegExp(`\\b${n}\\b`).test(all))).toEqual([]);
  });

  it.each(queries)('%s', async (_at, expr) => {
    const metrics = new Set(await stack.prom.labelValues('__name__'));
    const labels = new Set((await stack.prom.api('/api/v1/labels')) as string[]);
    const names = expr
      .replace(/"(?:[^"\\]|\\.)*"/g, ' ') // label values and regexes
      .replace(/\[[^\]]*\]/g, ' ') // ranges
      .match(/[A-Za-z_:][A-Za-z0-9_:]*/g);
    const unknown = [...new Set(names)].filter(
      (n) => !PROMQL_WORDS.has(n) && !metrics.has(n) && !labels.has(n) && !(n in MAY_BE_ABSENT),
    );
    expect(unknown).toEqual([]);
  });
});
