import { findPackageInfo } from './findPackageInfo';

let cached: string | undefined;

/** This package's version, read once from its own package.json (works bundled or not). */
export function ownVersion(): string {
  if (cached === undefined) cached = findPackageInfo(__dirname)?.version ?? '0.0.0';
  return cached;
}
