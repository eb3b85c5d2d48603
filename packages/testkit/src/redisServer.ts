import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './freePort';
import { waitFor } from './waitFor';

/** A redis-server owned by one test: stop it, start it again on the same port. */
export type RedisServer = {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
};

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    sock.setTimeout(500);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => {
      sock.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}

/**
 * Starts a dedicated, disk-less redis-server for tests that stop/start Redis. Never use
 * the shared 127.0.0.1:6379 for those.
 * @example const r = await startRedisServer(); await r.stop(); await r.start(); await r.stop();
 */
export async function startRedisServer(opts: { port?: number; args?: string[] } = {}): Promise<RedisServer> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'mem0-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        ...(opts.args ?? []),
      ],
      { stdio: 'ignore' },
    );
    await waitFor(() => ping(port), { timeoutMs: 10_000, what: `redis-server on ${port}` });
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop: async () => {
      await stop();
    },
  };
}

/** Stops a server and removes nothing else; convenience for afterAll. */
export async function stopAll(servers: Array<RedisServer | undefined>): Promise<void> {
  await Promise.all(servers.map((s) => s?.stop()));
}

export function _cleanupDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
