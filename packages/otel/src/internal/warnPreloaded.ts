import type { Diag } from './createDiag';

const WATCHED: Array<[string, string]> = [
  ['winston', '/node_modules/winston/'],
  ['pg', '/node_modules/pg/'],
  ['redis', '/node_modules/@redis/client/'],
  ['express', '/node_modules/express/'],
];

/**
 * Instrumentation patches modules as they load; anything already in the require cache is
 * out of reach. Name the modules and the fix once, instead of silently losing telemetry.
 */
export function warnPreloaded(diag: Diag, enabled: readonly string[]): string[] {
  const keys = Object.keys(require.cache);
  const found: string[] = [];
  for (const [name, marker] of WATCHED) {
    if (!enabled.includes(name)) continue;
    if (keys.some((k) => k.replace(/\\/g, '/').includes(marker))) found.push(name);
  }
  if (found.length > 0) {
    diag.warnOnce(
      'preloaded',
      `${found.join(', ')} ${found.length === 1 ? 'was' : 'were'} loaded before @mem0-stack/otel started, so ${found.length === 1 ? 'it is' : 'they are'} not instrumented. Fix: start the app with \`node --require @mem0-stack/otel/register app.js\` (or \`--import\` for ESM), or call start() before importing ${found.join('/')}.`,
    );
  }
  return found;
}
