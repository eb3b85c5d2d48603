// winston's record symbols (triple-beam defines them with Symbol.for, so they are global and
// we need not depend on triple-beam directly).
export const LEVEL = Symbol.for('level');
export const MESSAGE = Symbol.for('message');
export const SPLAT = Symbol.for('splat');
/** Ours: the Error a child logger was called with (winston's child copies it into a plain object). */
export const CHILD_ERROR = Symbol.for('@mem0-stack/logging.childError');
