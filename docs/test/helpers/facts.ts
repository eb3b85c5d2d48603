import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO } from './markdown';

// Facts read from the code and configuration, so the docs are checked against what exists
// rather than against a second hand-written list.

function walk(dir: string, keep: (file: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === '_build') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path, keep));
    else if (keep(path)) out.push(path);
  }
  return out;
}

const read = (path: string) => readFileSync(path, 'utf8');

/** Sources of the packages and examples (tests excluded: they are not what users configure). */
export function sourceFiles(): string[] {
  const roots = ['packages', 'examples'].flatMap((p) =>
    readdirSync(join(REPO, p)).map((d) => join(REPO, p, d, 'src')),
  );
  return roots.flatMap((r) => walk(r, (f) => /\.(ts|mts|js|mjs)$/.test(f) && !/\.test\.[tj]s$/.test(f)));
}

const SIGNALS = ['TRACES', 'METRICS', 'LOGS'];
const BATCH_PREFIXES = ['OTEL_BSP', 'OTEL_BLRP'];

/** Expands the name templates of readConfig.ts (`OTEL_EXPORTER_OTLP_${S}_ENDPOINT`, `${prefix}_…`). */
function expand(name: string): string[] {
  const prefixed = /^\$\{prefix\}(.*)$/.exec(name);
  if (prefixed) return BATCH_PREFIXES.flatMap((p) => expand(p + prefixed[1]));
  const m = /\$\{[^}]+\}/.exec(name);
  if (!m) return [name];
  return SIGNALS.flatMap((s) => expand(name.replace(m[0], s)));
}

/**
 * Environment variables read by the code, per file: `process.env.X`, `env.X`, `env['X']`, the
 * validating readers of @mem0-stack/otel (`r.int('X', …)`, `readProtocol(\`…\`)`, …), the
 * example's `int(env, 'X', …)` and the logging package's `bool('X', …)`.
 */
export function envReadsInCode(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (name: string, file: string) => {
    for (const n of expand(name)) found.set(n, [...(found.get(n) ?? []), relative(REPO, file)]);
  };
  const patterns = [
    /\benv\.([A-Z][A-Z0-9_]+)\b/g,
    /\benv\[\s*['"]([A-Z][A-Z0-9_]+)['"]\s*\]/g,
    /\br\.(?:raw|bool|int|ratio|oneOf|list|url|keyValues)\(\s*[`'"]([^`'"]+)[`'"]/g,
    /\breadProtocol\(\s*[`'"]([^`'"]+)[`'"]/g,
    /\bconst (?:specificName|name) = `(OTEL_[^`]+)`/g,
    /\b(?:int|onOff)\(env,\s*'([A-Z][A-Z0-9_]+)'/g,
    /\bbool\('([A-Z][A-Z0-9_]+)'/g,
  ];
  for (const file of [...sourceFiles(), join(REPO, 'scripts', 'demo.mjs')]) {
    // Comments name variables in prose and examples (`process.env.REDIS_URL` in a TSDoc
    // @example); only code reads count.
    const text = read(file)
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const re of patterns) for (const m of text.matchAll(re)) add(m[1]!, file);
  }
  return found;
}

/** Collector configuration files (shipped config, gateway layout). */
export function collectorConfigs(): string[] {
  return [
    join(REPO, 'collector', 'otelcol-config.yaml'),
    ...walk(join(REPO, 'collector', 'gateway'), (f) => f.endsWith('.yaml')),
  ];
}

/** `${env:NAME:-default}` in the collector configs and `${NAME}` in Grafana provisioning. */
export function envReadsInConfig(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (name: string, file: string) =>
    found.set(name, [...(found.get(name) ?? []), relative(REPO, file)]);
  const uncommented = (file: string) => read(file).replace(/^\s*#.*$/gm, '');
  for (const file of collectorConfigs()) {
    for (const m of uncommented(file).matchAll(/\$\{env:([A-Z][A-Z0-9_]*)/g)) add(m[1]!, file);
  }
  for (const file of walk(join(REPO, 'collector', 'grafana', 'provisioning'), (f) => /\.ya?ml$/.test(f))) {
    for (const m of uncommented(file).matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)\}/g)) add(m[1]!, file);
  }
  return found;
}

export type AlertRule = { name: string; source: 'prometheus' | 'loki'; file: string };

/** Alert names defined in the Prometheus and Loki rule files. */
export function alertRules(): AlertRule[] {
  const files: Array<[AlertRule['source'], string]> = [
    ...walk(join(REPO, 'collector', 'prometheus', 'rules'), (f) => /\.ya?ml$/.test(f)).map(
      (f) => ['prometheus', f] as [AlertRule['source'], string],
    ),
    ...walk(join(REPO, 'collector', 'loki', 'rules'), (f) => /\.ya?ml$/.test(f)).map(
      (f) => ['loki', f] as [AlertRule['source'], string],
    ),
  ];
  return files.flatMap(([source, file]) =>
    [...read(file).matchAll(/^\s*-\s*alert:\s*["']?([\w-]+)/gm)].map((m) => ({
      name: m[1]!,
      source,
      file: relative(REPO, file),
    })),
  );
}

export type Dashboard = { file: string; title: string; panels: string[] };

/** The generated Grafana dashboards: titles and panel titles (rows included). */
export function dashboards(): Dashboard[] {
  const dir = join(REPO, 'collector', 'grafana', 'dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const d = JSON.parse(read(join(dir, f))) as {
        title: string;
        panels?: Array<{ title?: string; panels?: Array<{ title?: string }> }>;
      };
      const panels = (d.panels ?? []).flatMap((p) => [
        p.title ?? '',
        ...(p.panels ?? []).map((c) => c.title ?? ''),
      ]);
      return { file: f, title: d.title, panels: panels.filter(Boolean) };
    });
}

/** Top-level service names of collector/docker-compose.yaml. */
export function composeServices(): string[] {
  const text = read(join(REPO, 'collector', 'docker-compose.yaml'));
  const body = /^services:\n([\s\S]*?)(?=^\S)/m.exec(`${text}\n_end:`)?.[1] ?? '';
  return [...body.matchAll(/^ {2}([\w.-]+):\s*$/gm)].map((m) => m[1]!);
}

/** `@mem0-stack/*` runtime dependencies of each published package. */
export function packageDependencies(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const dir of readdirSync(join(REPO, 'packages'))) {
    const file = join(REPO, 'packages', dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(read(file)) as {
      name: string;
      private?: boolean;
      dependencies?: Record<string, string>;
    };
    if (pkg.private) continue;
    out.set(
      pkg.name,
      Object.keys(pkg.dependencies ?? {})
        .filter((d) => d.startsWith('@mem0-stack/'))
        .sort(),
    );
  }
  return out;
}

/** npm scripts of the root package.json and of each workspace, by workspace name ('' = root). */
export function npmScripts(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const root = JSON.parse(read(join(REPO, 'package.json'))) as { scripts?: Record<string, string> };
  out.set('', Object.keys(root.scripts ?? {}));
  for (const parent of ['packages', 'examples', 'test']) {
    const dirs = parent === 'test' ? [''] : readdirSync(join(REPO, parent));
    for (const d of dirs) {
      const file = join(REPO, parent, d, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(read(file)) as { name: string; scripts?: Record<string, string> };
      out.set(pkg.name, Object.keys(pkg.scripts ?? {}));
    }
  }
  return out;
}
