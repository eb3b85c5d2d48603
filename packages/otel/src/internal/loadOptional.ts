import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

/**
 * Loads a package that is not one of ours to require (an upstream detector, propagator
 * or the full auto-instrumentations bundle), looking next to this package first and then
 * next to the application. Returns undefined when it is not installed.
 */
export function loadOptional<T>(pkg: string): T | undefined {
  const bases = [__filename, join(process.cwd(), 'noop.js')];
  if (process.argv[1]) bases.push(join(dirname(resolve(process.argv[1])), 'noop.js'));
  for (const base of bases) {
    let path: string;
    try {
      path = createRequire(base).resolve(pkg);
    } catch {
      continue;
    }
    return require(path) as T;
  }
  return undefined;
}

/** True when `pkg` resolves from this package or the application. */
export function isInstalled(pkg: string): boolean {
  const bases = [join(process.cwd(), 'noop.js'), __filename];
  if (process.argv[1]) bases.unshift(join(dirname(resolve(process.argv[1])), 'noop.js'));
  for (const base of bases) {
    try {
      createRequire(base).resolve(pkg);
      return true;
    } catch {
      // not from here
    }
  }
  return false;
}
