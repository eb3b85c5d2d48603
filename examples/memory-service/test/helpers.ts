import { createTestDatabase } from '@mem0-stack/testkit';
import type { AppLogger } from '../src/app';
import { loadConfig } from '../src/config';
import { type RunningService, startService } from '../src/service';

/** One log record captured in-process. */
export type Captured = { level: string; message: string } & Record<string, unknown>;

/** Starts the service on a free port against the package's own test database. */
export async function startTestService(env: Record<string, string> = {}) {
  const databaseUrl = await createTestDatabase('mem0_memory_test');
  const logs: Captured[] = [];
  const log: AppLogger = {
    info: (message, fields) => logs.push({ level: 'info', message, ...fields }),
    warn: (message, fields) => logs.push({ level: 'warn', message, ...fields }),
    error: (message, fields) => logs.push({ level: 'error', message, ...fields }),
  };
  const config = loadConfig({ DATABASE_URL: databaseUrl, PORT: '0', ...env });
  const svc: RunningService = await startService(config, { log });
  return { svc, logs, databaseUrl, config };
}

let n = 0;
/** A user id no other test (or earlier run) uses. */
export function uniqueUser(tag = 'u'): string {
  n++;
  return `t-${tag}-${process.pid}-${Date.now().toString(36)}-${n}`;
}

/** fetch + JSON body, never throwing on status. */
export async function call(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected ad hoc
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}
