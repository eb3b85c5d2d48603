import { createLogger } from '@mem0-stack/logging';
import { createTestDatabase } from '@mem0-stack/testkit';
import { Pool } from 'pg';
import { loadConfig } from '../src/config';
import { migrate } from '../src/migrate';
import { type RunningService, startService } from '../src/service';

/** One log record captured in-process (the JSON line the logger wrote, parsed). */
export type Captured = { level: string; message: string } & Record<string, unknown>;

/**
 * A logger writing its JSON lines into an array instead of stdout (same format, same
 * correlation stamping), for assertions on what the service logged.
 */
export function captureLogger(level = 'debug') {
  const logs: Captured[] = [];
  const logger = createLogger({
    level,
    otlp: false,
    service: { name: 'memory-service-test' },
    destination: { write: (line: string) => logs.push(JSON.parse(line)) },
  });
  return { logger, logs };
}

/** Starts the service on a free port against the package's own test database. */
export async function startTestService(env: Record<string, string> = {}) {
  const databaseUrl = await createTestDatabase('mem0_memory_test');
  const { logger, logs } = captureLogger();
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    PORT: '0',
    // A prefix of its own per run: tests share the Redis on 6379 with other suites.
    MEM0_CACHE_PREFIX: `test:memory-service:${process.pid}:${Date.now().toString(36)}:`,
    ...env,
  });
  const svc: RunningService = await startService(config, { logger });
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

/** Deletes every Redis key under `prefix` (SCAN + DEL, never FLUSH: the server is shared). */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const { createClient } = await import('redis');
  const c = createClient({ url: redisUrl });
  await c.connect();
  try {
    for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length) await c.del(keys);
    }
  } finally {
    await c.close();
  }
}

/**
 * A pool on a migrated schema of its own in the package's test database (so the test's tables
 * and plans are not shared with other suites); `drop()` removes the schema and ends the pool.
 */
export async function openSchemaPool(schema: string): Promise<{ pool: Pool; drop(): Promise<void> }> {
  const url = await createTestDatabase('mem0_memory_test');
  const admin = new Pool({ connectionString: url, max: 1 });
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await admin.end();
  const pool = new Pool({ connectionString: url, max: 2, options: `-c search_path=${schema}` });
  await migrate(pool);
  return {
    pool,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    },
  };
}
