// One counter bumped by anything that changes classification output (classifiers, messages), so
// per-error memoisation can tell a stale entry from a fresh one without clearing a WeakMap.
let version = 0;

export function configVersion(): number {
  return version;
}

export function bumpConfigVersion(): void {
  version++;
}
