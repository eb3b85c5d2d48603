// winston's record symbols (triple-beam defines them with Symbol.for, so they are global and
// we need not depend on triple-beam directly).
export const LEVEL = Symbol.for('level');
export const MESSAGE = Symbol.for('message');
export const SPLAT = Symbol.for('splat');
