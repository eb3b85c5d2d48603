import type { Classification } from '../../registerClassifier';
import type { FieldIssue } from '../../types';
import { get, getString, isObjectLike } from '../safe';

const MAX_ISSUES = 100;
const MAX_TEXT = 300;

function text(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  return v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…` : v;
}

// zod paths are arrays of keys; valibot's are arrays of `{ key }` objects.
function pathOf(p: unknown): string | undefined {
  if (typeof p === 'string') return text(p);
  if (!Array.isArray(p)) return undefined;
  const parts: string[] = [];
  for (const seg of p.slice(0, 32)) {
    const key = isObjectLike(seg) ? get(seg, 'key') : seg;
    if (typeof key === 'string' || typeof key === 'number') parts.push(String(key));
    else if (typeof key === 'symbol') parts.push(key.description ?? 'symbol');
    else return undefined;
  }
  return text(parts.join('.'));
}

function issuesFrom(list: unknown, pathKey: 'path' | 'instancePath'): FieldIssue[] | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const out: FieldIssue[] = [];
  for (const issue of list.slice(0, MAX_ISSUES)) {
    const message = text(get(issue, 'message'));
    const raw = get(issue, pathKey);
    let path = pathOf(raw);
    // ajv instancePath is a JSON pointer ("/items/0/text").
    if (pathKey === 'instancePath' && path !== undefined) path = path.replace(/^\//, '').replace(/\//g, '.');
    if (message === undefined || path === undefined) return undefined;
    const code = text(get(issue, 'code')) ?? text(get(issue, 'keyword'));
    out.push(code === undefined ? { path, message } : { path, message, code });
  }
  return out;
}

/** zod / valibot (`issues[]`) and ajv / fastify (`validation[]`) validation errors. */
export function validationRule(e: unknown): Classification | undefined {
  if (!isObjectLike(e)) return undefined;
  const name = getString(e, 'name');
  const issues = issuesFrom(get(e, 'issues'), 'path');
  if (
    issues &&
    (name === 'ZodError' ||
      name === '$ZodError' ||
      name === 'ValiError' ||
      getString(e, 'message') !== undefined)
  ) {
    return { code: 'VALIDATION_FAILED', category: 'validation', details: issues, source: 'validation' };
  }
  const ajv = issuesFrom(get(e, 'validation'), 'instancePath');
  if (ajv) return { code: 'VALIDATION_FAILED', category: 'validation', details: ajv, source: 'validation' };
  return undefined;
}
