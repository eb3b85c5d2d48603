import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export type PackageInfo = { name?: string; version?: string; dir: string };

/**
 * Finds the nearest package.json above the application's entry script (or the working
 * directory for `-e`/REPL), for the service name/version fallback.
 */
export function findPackageInfo(
  start: string | undefined = process.argv[1] ? dirname(resolve(process.argv[1])) : process.cwd(),
): PackageInfo | undefined {
  let dir = start;
  for (let i = 0; i < 64; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      return {
        name: typeof pkg.name === 'string' && pkg.name !== '' ? pkg.name : undefined,
        version: typeof pkg.version === 'string' && pkg.version !== '' ? pkg.version : undefined,
        dir,
      };
    } catch {
      // missing or unreadable: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}
