import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { readConfig } from '../readConfig';
import type { start } from '../start';

export type Runtime = { start: typeof start; readConfig: typeof readConfig };

/**
 * The preload entry points use the bundled runtime (dist/preload.js, one file: much cheaper
 * to load than ~170 small ones) when it is at least as new as the last tsc build, and the
 * plain compiled files otherwise, so a stale bundle can never shadow fresh code.
 */
export function loadRuntime(): Runtime {
  const dist = join(__dirname, '..');
  try {
    const bundle = join(dist, 'preload.js');
    if (statSync(bundle).mtimeMs >= statSync(join(dist, '.tsbuildinfo')).mtimeMs)
      return require(bundle) as Runtime;
  } catch {
    // no bundle (tsc-only build): use the compiled files
  }
  return {
    start: (require('../start') as typeof import('../start')).start,
    readConfig: (require('../readConfig') as typeof import('../readConfig')).readConfig,
  };
}
