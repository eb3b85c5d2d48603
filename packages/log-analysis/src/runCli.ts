import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { createAlertEvaluator } from './alertEvaluator';
import { DEFAULT_RULES_PATH, loadRules } from './alertRules';
import { createErrorStats } from './errorStats';
import { fetchTempoTrace, type TempoSpan } from './internal/fetchTempoTrace';
import { type CompiledFields, compileFields, validateFieldConfig } from './internal/fields';
import { HELP, MAIN_HELP } from './internal/helpText';
import { parseDuration, parseTimePoint } from './internal/parseDuration';
import { createEventReader, type LogEvent } from './internal/readEvent';
import { emptyStats, type InputSpec, type InputStats, readInputs } from './internal/readInputs';
import { renderAlerts } from './internal/renderAlerts';
import { renderErrors } from './internal/renderErrors';
import { inputJson, renderInput } from './internal/renderInput';
import { renderLatency } from './internal/renderLatency';
import { renderReport } from './internal/renderReport';
import { renderTrace } from './internal/renderTrace';
import { isLogAnalysisError, LogAnalysisError } from './LogAnalysisError';
import { createLatencyStats } from './latencyStats';
import { createTraceCollector, type TraceTimeline } from './traceTimeline';

/** Where the CLI reads and writes; tests pass their own, `cli.ts` passes the process's. */
export type CliIO = {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Aborting ends --follow (the CLI wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
  now: () => number;
};

type Opt = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

const COMMON: Record<string, Opt> = {
  json: { type: 'boolean' },
  loki: { type: 'string' },
  query: { type: 'string', short: 'q' },
  'loki-limit': { type: 'string' },
  'loki-header': { type: 'string', multiple: true },
  since: { type: 'string' },
  until: { type: 'string' },
  service: { type: 'string', multiple: true },
  follow: { type: 'boolean', short: 'f' },
  refresh: { type: 'string' },
  'poll-ms': { type: 'string' },
  fields: { type: 'string' },
  'max-line-bytes': { type: 'string' },
  timeout: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const EXTRA: Record<string, Record<string, Opt>> = {
  trace: {
    tempo: { type: 'string' },
    'tempo-header': { type: 'string', multiple: true },
    limit: { type: 'string' },
  },
  errors: { interval: { type: 'string' }, top: { type: 'string' } },
  latency: { top: { type: 'string' }, route: { type: 'string' } },
  alerts: {
    rules: { type: 'string' },
    now: { type: 'boolean' },
    any: { type: 'boolean' },
    'print-rules': { type: 'boolean' },
  },
  report: {
    format: { type: 'string' },
    out: { type: 'string' },
    title: { type: 'string' },
    rules: { type: 'string' },
    now: { type: 'boolean' },
    interval: { type: 'string' },
    top: { type: 'string' },
  },
};

type Values = Record<string, string | boolean | string[] | undefined>;

function usage(msg: string, command?: string): LogAnalysisError {
  return new LogAnalysisError(
    'USAGE',
    `${msg}\nRun 'mem0-logs ${command ? `${command} ` : ''}--help' for usage.`,
  );
}

function str(v: Values, k: string): string | undefined {
  const x = v[k];
  return typeof x === 'string' ? x : undefined;
}

function int(v: Values, k: string, def: number, min: number, max: number, cmd: string): number {
  const s = str(v, k);
  if (s === undefined) return def;
  const n = Number(s);
  if (!Number.isInteger(n) || n < min || n > max)
    throw usage(`--${k} must be an integer from ${min} to ${max} (got "${s}")`, cmd);
  return n;
}

function dur(v: Values, k: string, def: number, cmd: string): number {
  const s = str(v, k);
  if (s === undefined) return def;
  const d = /^\d+$/.test(s) ? Number(s) : parseDuration(s);
  if (d === undefined || d <= 0)
    throw usage(`--${k} must be a duration like 500ms, 10s, 5m (got "${s}")`, cmd);
  return d;
}

function headers(list: string[] | undefined, flag: string, cmd: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw usage(`--${flag} must look like "Name: value" (got "${h}")`, cmd);
    out[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  return out;
}

function loadFields(path: string | undefined): CompiledFields {
  if (path === undefined) return compileFields();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new LogAnalysisError('USAGE', `cannot read --fields file "${path}"`);
  }
  try {
    return compileFields(validateFieldConfig(parseYaml(text)));
  } catch (e) {
    throw new LogAnalysisError(
      'USAGE',
      `invalid --fields file "${path}": ${(e as Error).message.split('\n')[0]}`,
    );
  }
}

type Ctx = {
  cmd: string;
  io: CliIO;
  v: Values;
  positionals: string[];
  json: boolean;
  quiet: boolean;
  follow: boolean;
  refreshMs: number;
  timeoutMs: number;
  now: number;
  spec: InputSpec;
  since: number | undefined;
  until: number | undefined;
  services: Set<string> | undefined;
  fields: CompiledFields;
};

function buildContext(cmd: string, io: CliIO, v: Values, positionals: string[]): Ctx {
  const now = io.now();
  const time = (k: string) => {
    const s = str(v, k);
    if (s === undefined) return undefined;
    const t = parseTimePoint(s, now);
    if (t === undefined)
      throw usage(`--${k} must be a duration (1h, 30m) or an ISO-8601 time (got "${s}")`, cmd);
    return t;
  };
  let since = time('since');
  const until = time('until');
  if (since !== undefined && until !== undefined && since >= until)
    throw usage('--since must be before --until', cmd);
  const follow = v.follow === true;
  const timeoutMs = dur(v, 'timeout', 30_000, cmd);
  const loki = str(v, 'loki');
  const query = str(v, 'query');
  let spec: InputSpec;
  const common = {
    follow,
    maxLineChars: int(v, 'max-line-bytes', 1 << 20, 64, 1 << 30, cmd),
    pollMs: dur(v, 'poll-ms', 250, cmd),
    signal: io.signal,
    stdin: io.stdin,
  };
  if (loki !== undefined) {
    if (positionals.length > 0)
      throw usage(`give either files or --loki, not both (got "${positionals[0]}")`, cmd);
    if (!query) throw usage('--loki needs --query, e.g. --query \'{service_name="memory-service"}\'', cmd);
    try {
      new URL(loki);
    } catch {
      throw usage(`--loki "${loki}" is not a URL (e.g. http://localhost:3100)`, cmd);
    }
    since ??= now - 3_600_000;
    spec = {
      ...common,
      paths: [],
      loki: {
        url: loki,
        query,
        start: since,
        end: until ?? now,
        limit: int(v, 'loki-limit', 5000, 1, 1_000_000, cmd),
        headers: headers(v['loki-header'] as string[] | undefined, 'loki-header', cmd),
        timeoutMs,
      },
    };
  } else {
    if (query !== undefined) throw usage('--query is only for --loki', cmd);
    let paths = positionals;
    if (paths.length === 0) {
      if (io.stdin.isTTY)
        throw usage('no input: give log files or globs, pipe logs to stdin, or use --loki', cmd);
      paths = ['-'];
    }
    if (paths.filter((p) => p === '-').length > 1) throw usage('stdin ("-") can be read only once', cmd);
    spec = { ...common, paths };
  }
  const svc = v.service as string[] | undefined;
  return {
    cmd,
    io,
    v,
    positionals,
    json: v.json === true,
    quiet: v.quiet === true,
    follow,
    refreshMs: dur(v, 'refresh', 10_000, cmd),
    timeoutMs,
    now,
    spec,
    since,
    until,
    services: svc && svc.length > 0 ? new Set(svc) : undefined,
    fields: loadFields(str(v, 'fields')),
  };
}

/**
 * Streams all inputs through `consumers`; in follow mode calls `snapshot` every refresh.
 * Never throws for bad lines: a record the reader cannot handle is counted as malformed.
 */
async function analyze(
  ctx: Ctx,
  consumers: Array<(ev: LogEvent) => void>,
  snapshot?: (s: InputStats) => void,
): Promise<InputStats> {
  const stats = emptyStats();
  const read = createEventReader(ctx.fields);
  const { since, until, services } = ctx;
  const filtering = since !== undefined || until !== undefined || services !== undefined;
  let timer: NodeJS.Timeout | undefined;
  if (ctx.follow && snapshot) timer = setInterval(() => snapshot(stats), ctx.refreshMs);
  try {
    await readInputs(ctx.spec, stats, (rec) => {
      let ev: LogEvent;
      try {
        ev = read(rec);
      } catch (e) {
        stats.records--;
        stats.malformed++;
        if (stats.malformedSamples.length < 3)
          stats.malformedSamples.push(`(unreadable record: ${(e as Error).message})`);
        return;
      }
      if (filtering) {
        const ts = ev.ts;
        if (
          (since !== undefined && !(ts >= since)) ||
          (until !== undefined && !(ts < until)) ||
          (services !== undefined && (ev.service === undefined || !services.has(ev.service)))
        ) {
          stats.filtered++;
          return;
        }
      }
      for (let i = 0; i < consumers.length; i++) consumers[i]!(ev);
    });
  } finally {
    if (timer) clearInterval(timer);
  }
  if (!ctx.quiet && stats.malformed > 0) {
    ctx.io.stderr.write(
      `mem0-logs: skipped ${stats.malformed} malformed line${stats.malformed === 1 ? '' : 's'} (not JSON objects)` +
        `${stats.malformedSamples.length > 0 ? `, e.g.\n  ${stats.malformedSamples.join('\n  ')}` : ''}\n`,
    );
  }
  if (!ctx.quiet && stats.records === 0 && stats.lines === 0)
    ctx.io.stderr.write('mem0-logs: the input was empty\n');
  return stats;
}

function emit(ctx: Ctx, doc: unknown, text: () => string): void {
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(doc, null, ctx.follow ? undefined : 2)}\n`);
  else ctx.io.stdout.write(`${text()}\n`);
}

function snapshotHeader(ctx: Ctx): string {
  return `\n── ${new Date(ctx.io.now()).toISOString()} ──\n`;
}

async function runErrors(ctx: Ctx): Promise<number> {
  const interval = str(ctx.v, 'interval');
  const top = int(ctx.v, 'top', 10, 1, 10_000, 'errors');
  const stats = createErrorStats({
    interval: interval === undefined || interval === 'auto' ? undefined : dur(ctx.v, 'interval', 0, 'errors'),
    top,
  });
  const out = (s: InputStats) =>
    emit(
      ctx,
      { input: inputJson(s), ...stats.result() },
      () => `${renderInput(s)}\n${renderErrors(stats.result(), top)}`,
    );
  const s = await analyze(ctx, [stats.add], (s) => {
    if (!ctx.json) ctx.io.stdout.write(snapshotHeader(ctx));
    out(s);
  });
  out(s);
  return 0;
}

async function runLatency(ctx: Ctx): Promise<number> {
  const top = int(ctx.v, 'top', 10, 1, 10_000, 'latency');
  const lat = createLatencyStats({ top, route: str(ctx.v, 'route') });
  const out = (s: InputStats) =>
    emit(
      ctx,
      { input: inputJson(s), ...lat.result() },
      () => `${renderInput(s)}\n${renderLatency(lat.result())}`,
    );
  const s = await analyze(ctx, [lat.add], (s) => {
    if (!ctx.json) ctx.io.stdout.write(snapshotHeader(ctx));
    out(s);
  });
  out(s);
  return 0;
}

async function runAlerts(ctx: Ctx): Promise<number> {
  const path = str(ctx.v, 'rules') ?? DEFAULT_RULES_PATH;
  const rules = loadRules(path);
  // Follow mode watches live logs: windows end at the wall clock of each refresh.
  const now = ctx.follow ? () => ctx.io.now() : ctx.v.now === true ? ctx.now : undefined;
  const evaluator = createAlertEvaluator(rules, now === undefined ? {} : { now });
  const s = await analyze(ctx, [evaluator.add], (st) => {
    if (!ctx.json) ctx.io.stdout.write(snapshotHeader(ctx));
    const r = evaluator.result();
    emit(ctx, { input: inputJson(st), rulesFile: path, ...r }, () => renderAlerts(r));
  });
  const r = evaluator.result();
  emit(ctx, { input: inputJson(s), rulesFile: path, ...r }, () => `${renderInput(s)}\n${renderAlerts(r)}`);
  if (r.firing > 0) return 1;
  if (ctx.v.any === true && r.firedAnytime > 0) return 1;
  return 0;
}

async function runReport(ctx: Ctx): Promise<number> {
  const format = ctx.json ? 'json' : (str(ctx.v, 'format') ?? 'md');
  if (format !== 'md' && format !== 'json')
    throw usage(`--format must be md or json (got "${format}")`, 'report');
  const interval = str(ctx.v, 'interval');
  const top = int(ctx.v, 'top', 10, 1, 10_000, 'report');
  const rules = loadRules(str(ctx.v, 'rules') ?? DEFAULT_RULES_PATH);
  const errors = createErrorStats({
    interval: interval === undefined || interval === 'auto' ? undefined : dur(ctx.v, 'interval', 0, 'report'),
    top,
  });
  const latency = createLatencyStats({ top });
  const alerts = createAlertEvaluator(rules, ctx.v.now === true ? { now: ctx.now } : {});
  const s = await analyze(ctx, [errors.add, latency.add, alerts.add]);
  const e = errors.result();
  const day = e.period.from ? e.period.from.slice(0, 10) : new Date(ctx.now).toISOString().slice(0, 10);
  const data = {
    title: str(ctx.v, 'title') ?? `Operations report ${day}`,
    generatedAt: new Date(ctx.now).toISOString(),
    input: s,
    errors: e,
    latency: latency.result(),
    alerts: alerts.result(),
  };
  const text =
    format === 'json'
      ? `${JSON.stringify({ ...data, input: inputJson(s), rulesFile: rules.source }, null, 2)}\n`
      : renderReport(data, top);
  const outPath = str(ctx.v, 'out');
  if (outPath) {
    try {
      writeFileSync(outPath, text);
    } catch (err) {
      throw new LogAnalysisError(
        'USAGE',
        `cannot write --out "${outPath}": ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
    if (!ctx.quiet) ctx.io.stderr.write(`mem0-logs: wrote ${outPath}\n`);
  } else ctx.io.stdout.write(text);
  return 0;
}

async function runTrace(ctx: Ctx): Promise<number> {
  const id = ctx.positionals[0];
  if (!id) throw usage('trace needs an id: mem0-logs trace <trace-id|correlation-id> [files]', 'trace');
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(id))
    throw usage(`"${id}" is not a trace or correlation id ([A-Za-z0-9._-]{1,128})`, 'trace');
  const collector = createTraceCollector(id, { limit: int(ctx.v, 'limit', 10_000, 1, 1_000_000, 'trace') });
  const tempoUrl = str(ctx.v, 'tempo');
  if (tempoUrl !== undefined) {
    try {
      new URL(tempoUrl);
    } catch {
      throw usage(`--tempo "${tempoUrl}" is not a URL (e.g. http://localhost:3200)`, 'trace');
    }
  }
  const tempoHeaders = headers(ctx.v['tempo-header'] as string[] | undefined, 'tempo-header', 'trace');
  // Tempo is asked while the logs stream; its failure only costs the waterfall.
  const tempo: Promise<{ spans?: TempoSpan[]; info: TraceTimeline['tempo'] }> = tempoUrl
    ? fetchTempoTrace(tempoUrl, id, ctx.timeoutMs, tempoHeaders).then(
        (spans) =>
          spans && spans.length > 0
            ? { spans, info: { url: tempoUrl, status: 'ok' as const } }
            : { info: { url: tempoUrl, status: 'not_found' as const } },
        (e: unknown) => ({
          info: { url: tempoUrl, status: 'error' as const, message: (e as Error).message },
        }),
      )
    : Promise.resolve({ info: null });
  const s = await analyze(ctx, [collector.add]);
  const t = await tempo;
  if (t.info?.status === 'error' && !ctx.quiet)
    ctx.io.stderr.write(`mem0-logs: ${t.info.message}; showing logs only\n`);
  const result = collector.result(t.spans, t.info);
  emit(ctx, { input: inputJson(s), ...result }, () => renderTrace(result));
  return result.found > 0 || result.spans !== null ? 0 : 1;
}

const RUNNERS: Record<string, (ctx: Ctx) => Promise<number>> = {
  trace: runTrace,
  errors: runErrors,
  latency: runLatency,
  alerts: runAlerts,
  report: runReport,
};

function version(): string {
  try {
    return JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function defaultIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, now: Date.now };
}

/**
 * Runs `mem0-logs` with the given arguments and resolves with the exit code; never throws.
 * @example
 * const code = await runCli(['errors', '--json', 'app.log']);
 * process.exitCode = code;
 */
export async function runCli(argv: string[], io: Partial<CliIO> = {}): Promise<number> {
  const cio: CliIO = { ...defaultIO(), ...io };
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      const topic = cmd === 'help' ? rest[0] : undefined;
      if (topic !== undefined && !Object.hasOwn(HELP, topic)) throw usage(`unknown command "${topic}"`);
      cio.stdout.write(`${topic ? HELP[topic] : MAIN_HELP}\n`);
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === '--version' || cmd === '-V') {
      cio.stdout.write(`${version()}\n`);
      return 0;
    }
    // Own keys only: `toString`, `constructor`… are Object.prototype members, not commands.
    const runner = Object.hasOwn(RUNNERS, cmd) ? RUNNERS[cmd] : undefined;
    if (!runner) {
      const near = Object.keys(RUNNERS).find((c) => c.startsWith(cmd.slice(0, 2)));
      throw usage(`unknown command "${cmd}"${near ? ` (did you mean "${near}"?)` : ''}`);
    }
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...COMMON, ...EXTRA[cmd] },
        allowPositionals: true,
        strict: true,
      }) as {
        values: Values;
        positionals: string[];
      };
    } catch (e) {
      throw usage((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''), cmd);
    }
    if (parsed.values.help === true) {
      cio.stdout.write(`${HELP[cmd]}\n`);
      return 0;
    }
    if (cmd === 'alerts' && parsed.values['print-rules'] === true) {
      const p = str(parsed.values, 'rules') ?? DEFAULT_RULES_PATH;
      loadRules(p);
      cio.stdout.write(readFileSync(p, 'utf8'));
      return 0;
    }
    if (parsed.values.follow === true && (cmd === 'trace' || cmd === 'report')) {
      throw usage(`--follow is not available for ${cmd} (use errors, latency or alerts)`, cmd);
    }
    const ctx = buildContext(
      cmd,
      cio,
      parsed.values,
      cmd === 'trace' ? parsed.positionals.slice(1) : parsed.positionals,
    );
    if (cmd === 'trace') ctx.positionals = parsed.positionals;
    return await runner(ctx);
  } catch (e) {
    if (isLogAnalysisError(e)) {
      cio.stderr.write(`mem0-logs: ${e.message}\n`);
      return e.exitCode;
    }
    cio.stderr.write(`mem0-logs: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 70;
  }
}
