import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './freePort';
import { managedProcess, removeOnExit, startOrRemove } from './internal/managedProcess';
import { waitFor } from './waitFor';

/** A redis-server owned by one test: stop it, start it again on the same port. */
export type RedisServer = {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
};

/** The process id of the redis-server answering on `port` (from INFO server), if any. */
function serverPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    let text = '';
    const done = (pid: number | undefined) => {
      sock.destroy();
      resolve(pid);
    };
    sock.setTimeout(500);
    sock.once('connect', () => sock.write('INFO server\r\n'));
    sock.on('data', (d) => {
      text += d.toString();
      const m = /process_id:(\d+)\r\n/.exec(text);
      if (m) done(Number(m[1]));
      else if (text.startsWith('-')) done(undefined);
    });
    sock.once('error', () => done(undefined));
    sock.once('timeout', () => done(undefined));
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
  removeOnExit(dir);
  const proc = managedProcess(
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
    {
      env: process.env,
      // Ready when *this* server answers: with the port taken, another Redis would answer a PING
      // (and our redis-server exits with "Address already in use").
      ready: () =>
        waitFor(async () => (await serverPid(port)) === proc.pid, {
          timeoutMs: 10_000,
          what: `redis-server on ${port}`,
        }).then(() => undefined),
    },
  );
  const start = async () => {
    mkdirSync(dir, { recursive: true });
    await startOrRemove(proc, dir);
  };
  // SIGKILL: a crash, as the chaos tests want. The scratch directory goes with it (start()
  // makes it again); the server saves nothing to it.
  const stop = async () => {
    await proc.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
  };
}

/** Stops a server and removes nothing else; convenience for afterAll. */
export async function stopAll(servers: Array<RedisServer | undefined>): Promise<void> {
  await Promise.all(servers.map((s) => s?.stop()));
}

export function _cleanupDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
