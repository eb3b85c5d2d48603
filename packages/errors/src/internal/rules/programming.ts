import type { Classification } from '../../registerClassifier';
import { getString, isErrorLike } from '../safe';

const JS_ERRORS = new Set([
  'TypeError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'EvalError',
  'URIError',
]);

/**
 * Fallback: a built-in JS error or a Node `ERR_*` code is a bug in our code. Known, so not
 * "unclassified", but internal. Runs after the cause chain found nothing more specific.
 */
export function programmingRule(e: unknown): Classification | undefined {
  if (!isErrorLike(e)) return undefined;
  const name = getString(e, 'name');
  const code = getString(e, 'code');
  if ((name !== undefined && JS_ERRORS.has(name)) || code?.startsWith('ERR_')) {
    return { code: 'PROGRAMMING_ERROR', category: 'internal', source: 'app' };
  }
  return undefined;
}
