import { registerClassifier } from '../../registerClassifier';
import { abortRule } from './abort';
import { appErrorRule } from './appError';
import { fetchFailedRule, httpRule } from './http';
import { networkRule } from './network';
import { postgresRule } from './postgres';
import { programmingRule } from './programming';
import { redisRule } from './redis';
import { validationRule } from './validation';

let installed = false;

/** Registers the built-in rules once (idempotent; called by classify on first use). */
export function installBuiltins(): void {
  if (installed) return;
  installed = true;
  registerClassifier(appErrorRule, { name: 'app', priority: 1000 });
  registerClassifier(postgresRule, { name: 'postgres', priority: 0 });
  registerClassifier(redisRule, { name: 'redis', priority: 0 });
  registerClassifier(networkRule, { name: 'network', priority: 0 });
  registerClassifier(abortRule, { name: 'abort', priority: 0 });
  registerClassifier(validationRule, { name: 'validation', priority: 0 });
  // After validation: an ajv/fastify error also carries statusCode 400, and its details matter.
  registerClassifier(httpRule, { name: 'http', priority: -1 });
  registerClassifier(fetchFailedRule, { name: 'fetch', priority: 0, fallback: true });
  registerClassifier(programmingRule, { name: 'programming', priority: -1, fallback: true });
}
