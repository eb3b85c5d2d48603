import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { buildResource } from './internal/buildResource';
import { createDiag } from './internal/createDiag';
import { CATALOG } from './internal/instrumentationCatalog';
import { REDACTED, redactUrl } from './internal/redactUrl';
import { type OtelConfig, readConfig, type Signal } from './readConfig';

/**
 * Options for {@link runDoctor}.
 * @example await runDoctor({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, write: () => {} });
 */
export type DoctorOptions = {
  env?: NodeJS.ProcessEnv;
  /** Where the report goes (default stdout). */
  write?: (text: string) => void;
  /** Per-endpoint check timeout (default 3000 ms). */
  timeoutMillis?: number;
};

export type EndpointCheck = { signal: Signal; url: string; ok: boolean; detail: string };
export type InstrumentationCheck = {
  name: string;
  enabled: boolean;
  /** Target module(s) found, with versions; empty for built-ins. */
  modules: Array<{ name: string; version?: string }>;
  /** Whether it would load for this application. */
  wouldLoad: boolean;
  /** What it records under the configured MEM0_OTEL_SPAN_DETAIL, where that matters. */
  detail?: string;
};
/**
 * The doctor's findings; `exitCode` is 1 when `problems` is not empty.
 * @example const { problems } = await runDoctor({ write: () => {} });
 */
export type DoctorReport = {
  config: OtelConfig;
  serviceName: string;
  warnings: string[];
  endpoints: EndpointCheck[];
  instrumentations: InstrumentationCheck[];
  problems: string[];
  /** 0 when healthy, 1 when any problem was found. (`config` is redacted: no header values.) */
  exitCode: number;
};

const EMPTY_BODY: Record<string, Buffer> = {
  'http/json': Buffer.from('{}'),
  'http/protobuf': Buffer.alloc(0),
};

/**
 * `mem0-otel doctor`: prints the effective configuration (secrets redacted), posts an empty
 * OTLP payload to every configured endpoint, and lists which instrumentations would load
 * and which of their target modules are installed. Exit code 1 on any problem.
 * @example
 * const report = await runDoctor();
 * process.exitCode = report.exitCode;
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const write = options.write ?? ((t: string) => process.stdout.write(t));
  const { config, warnings } = readConfig(env);
  const problems = warnings.map((w) => `config: ${w}`);
  const quiet = createDiag('none');
  const resource = buildResource(config, quiet);
  const serviceName = String(resource.attributes['service.name']);

  const endpoints: EndpointCheck[] = [];
  if (!config.disabled) {
    const signals = (['traces', 'metrics', 'logs'] as Signal[]).filter((s) =>
      config[s].exporters.includes('otlp'),
    );
    const checks = await Promise.all(
      signals.map((s) => checkEndpoint(s, config, options.timeoutMillis ?? 3000)),
    );
    endpoints.push(...checks);
    for (const c of checks) {
      if (!c.ok) problems.push(`${c.signal}: ${c.url} ${c.detail}`);
    }
  }

  const instrumentations: InstrumentationCheck[] = CATALOG.map((e) => {
    const enabled =
      config.instrumentations.mode === 'all' || config.instrumentations.enabled.includes(e.name);
    const modules = (e.installed ?? [])
      .map((m) => ({ name: m, version: installedVersion(m) }))
      .filter((m) => m.version !== undefined);
    const wouldLoad = enabled && (!e.installed || modules.length > 0);
    // The upstream bundle (MEM0_OTEL_INSTRUMENTATIONS=all) has its own express instrumentation.
    const detail = config.instrumentations.mode === 'all' ? undefined : e.detail?.[config.spanDetail];
    return { name: e.name, enabled, modules, wouldLoad, ...(detail ? { detail } : {}) };
  });
  if (
    config.instrumentations.mode === 'all' &&
    installedVersion('@opentelemetry/auto-instrumentations-node') === undefined
  ) {
    problems.push(
      'MEM0_OTEL_INSTRUMENTATIONS=all but @opentelemetry/auto-instrumentations-node is not installed',
    );
  }

  const report: DoctorReport = {
    config: redactConfig(config),
    serviceName,
    warnings,
    endpoints,
    instrumentations,
    problems,
    exitCode: problems.length > 0 ? 1 : 0,
  };
  write(formatReport(report));
  return report;
}

/** The config as printed: header values and URL credentials/queries replaced by REDACTED. */
function redactConfig(config: OtelConfig): OtelConfig {
  const copy = structuredClone(config);
  for (const s of ['traces', 'metrics', 'logs'] as Signal[]) {
    copy[s].otlp.url = redactUrl(copy[s].otlp.url);
    for (const k of Object.keys(copy[s].otlp.headers)) copy[s].otlp.headers[k] = REDACTED;
  }
  return copy;
}

function redactHeaders(h: Record<string, string>): string {
  const keys = Object.keys(h);
  return keys.length === 0 ? '(none)' : keys.map((k) => `${k}=${REDACTED}`).join(', ');
}

function formatReport(r: DoctorReport): string {
  const c = r.config;
  const lines: string[] = [];
  lines.push('@mem0-stack/otel doctor', '');
  lines.push('Effective configuration');
  lines.push(`  sdk:              ${c.disabled ? 'DISABLED (OTEL_SDK_DISABLED=true)' : 'enabled'}`);
  lines.push(`  service.name:     ${r.serviceName}`);
  lines.push(`  log level:        ${c.logLevel}`);
  lines.push(
    `  sampler:          ${c.sampler.name}${c.sampler.name.endsWith('traceidratio') ? ` (${c.sampler.ratio})` : ''}`,
  );
  lines.push(`  propagators:      ${c.propagators.join(', ') || 'none'}`);
  lines.push(`  resource detect.: ${c.resourceDetectors.join(', ')}`);
  for (const s of ['traces', 'metrics', 'logs'] as Signal[]) {
    const o = c[s].otlp;
    const exp = c[s].exporters.length > 0 ? c[s].exporters.join('+') : 'none';
    lines.push(
      `  ${`${s}:`.padEnd(17)} ${exp}${c[s].exporters.includes('otlp') ? ` → ${redactUrl(o.url)} (${o.protocol}, timeout ${o.timeoutMillis} ms, compression ${o.compression}, headers ${redactHeaders(o.headers)})` : ''}`,
    );
  }
  lines.push(
    `  span batch:       delay ${c.traces.batch.scheduledDelayMillis} ms, queue ${c.traces.batch.maxQueueSize}, batch ${c.traces.batch.maxExportBatchSize}`,
  );
  lines.push(`  metric interval:  ${c.metrics.exportIntervalMillis} ms`);
  lines.push(`  ignored paths:    ${c.ignorePaths.join(', ')}`);
  lines.push(`  span detail:      ${c.spanDetail}`);
  lines.push(`  shutdown timeout: ${c.shutdownTimeoutMillis} ms`);
  lines.push('');
  lines.push('Collector');
  if (r.endpoints.length === 0) lines.push('  (no OTLP exporter configured)');
  for (const e of r.endpoints)
    lines.push(`  ${e.ok ? 'ok  ' : 'FAIL'} ${e.signal.padEnd(8)} ${e.url}  ${e.detail}`);
  lines.push('');
  lines.push(`Instrumentations (${c.instrumentations.mode})`);
  for (const i of r.instrumentations) {
    const mods = i.modules.map((m) => `${m.name}@${m.version}`).join(', ');
    const state = !i.enabled ? 'disabled' : i.wouldLoad ? 'will load' : 'not installed';
    const detail = i.wouldLoad && i.detail ? ` (${i.detail})` : '';
    lines.push(
      `  ${i.name.padEnd(13)} ${state.padEnd(14)} ${mods || (i.wouldLoad ? '(built in)' : '')}${detail}`.trimEnd(),
    );
  }
  lines.push('');
  if (r.problems.length === 0) lines.push('No problems found.');
  else {
    lines.push(`${r.problems.length} problem(s):`);
    for (const p of r.problems) lines.push(`  - ${p}`);
  }
  return `${lines.join('\n')}\n`;
}

function checkEndpoint(signal: Signal, config: OtelConfig, timeoutMillis: number): Promise<EndpointCheck> {
  const o = config[signal].otlp;
  const shown = redactUrl(o.url);
  return new Promise((done) => {
    let url: URL;
    try {
      url = new URL(o.url);
    } catch {
      done({ signal, url: shown, ok: false, detail: 'invalid URL' });
      return;
    }
    const body = EMPTY_BODY[o.protocol] ?? Buffer.alloc(0);
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: {
          ...o.headers,
          'Content-Type': o.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
          'Content-Length': body.length,
        },
        timeout: timeoutMillis,
      },
      (res) => {
        res.resume();
        const s = res.statusCode ?? 0;
        // An OTLP receiver answers in the request's encoding (protobuf or JSON); a web server
        // that says 200 to any POST (a UI, a proxy's default page) would swallow every export.
        const type = String(res.headers['content-type'] ?? '')
          .split(';')[0]
          ?.trim()
          .toLowerCase();
        const otlpType = type === '' || type === 'application/x-protobuf' || type === 'application/json';
        done({
          signal,
          url: shown,
          ok: s >= 200 && s < 300 && otlpType,
          detail:
            s < 200 || s >= 300
              ? `answered HTTP ${s} to an empty OTLP payload`
              : otlpType
                ? `HTTP ${s}`
                : `HTTP ${s} but not an OTLP response (Content-Type ${type}): is this the OTLP/HTTP receiver?`,
        });
      },
    );
    req.on('timeout', () => {
      req.destroy();
      done({ signal, url: shown, ok: false, detail: `no answer within ${timeoutMillis} ms` });
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      done({ signal, url: shown, ok: false, detail: `unreachable (${err.code ?? err.message})` }),
    );
    req.end(body);
  });
}

function installedVersion(pkg: string): string | undefined {
  const bases = [join(process.cwd(), 'noop.js')];
  if (process.argv[1]) bases.push(join(dirname(resolve(process.argv[1])), 'noop.js'));
  for (const base of bases) {
    try {
      const req = createRequire(base);
      const pj = req(`${pkg}/package.json`) as { version?: string };
      return pj.version ?? 'unknown';
    } catch {
      // try the next base, or fall back to resolving the main file
      try {
        createRequire(base).resolve(pkg);
        return 'unknown';
      } catch {
        // not here
      }
    }
  }
  return undefined;
}
