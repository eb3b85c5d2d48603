import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The three resource fields every log line carries. */
export type ServiceInfo = { name: string; version: string; environment: string };

function parseResourceAttributes(raw: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!raw) return out;
  for (const pair of raw.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // the spec allows percent-encoding; a broken escape is kept verbatim rather than dropped
    }
    if (key) out.set(key, value);
  }
  return out;
}

function nearestPackageJson(): { name?: string; version?: string } {
  // The app's entry script is the best anchor; cwd is the fallback for REPLs and `-e`.
  const starts = [process.argv[1] ? dirname(resolve(process.argv[1])) : undefined, process.cwd()];
  for (const start of starts) {
    if (!start) continue;
    let dir = start;
    for (let i = 0; i < 20; i++) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        try {
          const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
          return {
            name: typeof pkg.name === 'string' ? pkg.name : undefined,
            version: typeof pkg.version === 'string' ? pkg.version : undefined,
          };
        } catch {
          return {};
        }
      }
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return {};
}

/**
 * Resolves service.name / service.version / deployment.environment the way the OTel SDK
 * does (OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES), falling back to the nearest
 * package.json and NODE_ENV, so stdout lines and OTLP resources agree.
 */
export function resolveService(overrides: Partial<ServiceInfo> = {}, env = process.env): ServiceInfo {
  const attrs = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES);
  let pkg: { name?: string; version?: string } | undefined;
  const lazyPkg = () => {
    pkg ??= nearestPackageJson();
    return pkg;
  };
  const name =
    overrides.name ||
    env.OTEL_SERVICE_NAME?.trim() ||
    attrs.get('service.name') ||
    lazyPkg().name ||
    'unknown_service:node';
  const version = overrides.version || attrs.get('service.version') || lazyPkg().version || '0.0.0';
  const environment =
    overrides.environment ||
    attrs.get('deployment.environment.name') ||
    attrs.get('deployment.environment') ||
    env.NODE_ENV?.trim() ||
    'development';
  return { name, version, environment };
}
