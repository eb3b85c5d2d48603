// The example service as a child process under the preload. stdout and stderr go straight to
// files (not through a pipe into the test process): nothing is capped or lost, the test reads
// every line afterwards, and a slow test process cannot back-pressure the service.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, waitFor } from '@mem0-stack/testkit';

export const SERVICE_ENTRY = join(REPO_ROOT, 'examples', 'memory-service', 'dist', 'server.js');
/** The preload under test, loaded from the built package like a user would. */
export const PRELOAD = join(REPO_ROOT, 'packages', 'otel', 'dist', 'register.js');

export type Exit = { code: number | null; signal: NodeJS.Signals | null; at: number };

export type ServiceProcess = {
  readonly url: string;
  readonly port: number;
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** Every stdout line so far (also the ones that are not JSON). */
  stdoutLines(): string[];
  stderr(): string;
  /** Resident set size in KiB (/proc), undefined once exited. */
  rssKiB(): number | undefined;
  /** Sends a signal (SIGTERM for a graceful stop). */
  signal(sig: NodeJS.Signals): void;
  /** Resolves when the process exits (at once if it already has). */
  exited(): Promise<Exit>;
  /** SIGTERM, SIGKILL after `graceMs`; resolves with how it exited. */
  stop(graceMs?: number): Promise<Exit>;
};

export function readRssKiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function readLines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  // A line still being written has no newline yet: leave it for the next read.
  lines.pop();
  return lines;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * Starts `node --require <preload> examples/memory-service/dist/server.js` on `port` and waits
 * until it logs `server.listening`.
 */
export async function startServiceProcess(opts: {
  dir: string;
  name: string;
  port: number;
  env: Record<string, string>;
  preload?: boolean;
  /** Extra node options before the preload (e.g. --expose-gc, --require a probe). */
  nodeArgs?: string[];
  timeoutMs?: number;
}): Promise<ServiceProcess> {
  const stdoutPath = join(opts.dir, `${opts.name}.stdout.log`);
  const stderrPath = join(opts.dir, `${opts.name}.stderr.log`);
  const out = openSync(stdoutPath, 'a');
  const err = openSync(stderrPath, 'a');
  const args = [
    ...(opts.nodeArgs ?? []),
    ...(opts.preload === false ? [] : ['--require', PRELOAD]),
    SERVICE_ENTRY,
  ];
  const child = spawn(process.execPath, args, {
    cwd: join(REPO_ROOT, 'examples', 'memory-service'),
    env: { ...opts.env, PORT: String(opts.port), HOST: '127.0.0.1' },
    stdio: ['ignore', out, err],
  });
  closeSync(out);
  closeSync(err);
  live.add(child);
  let exit: Exit | undefined;
  const exitedP = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      exit = { code, signal, at: Date.now() };
      resolve(exit);
    });
  });
  const self: ServiceProcess = {
    url: `http://127.0.0.1:${opts.port}`,
    port: opts.port,
    pid: child.pid,
    get running() {
      return exit === undefined;
    },
    stdoutPath,
    stderrPath,
    stdoutLines: () => readLines(stdoutPath),
    stderr: () => (existsSync(stderrPath) ? readFileSync(stderrPath, 'utf8') : ''),
    rssKiB: () => (exit ? undefined : readRssKiB(child.pid)),
    signal: (sig) => {
      if (!exit) child.kill(sig);
    },
    exited: () => exitedP,
    async stop(graceMs = 15_000) {
      if (exit) return exit;
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.kill('SIGTERM');
      const e = await exitedP;
      clearTimeout(t);
      return e;
    },
  };
  try {
    // waitFor retries a check that throws; an exit must end the wait at once.
    await Promise.race([
      waitFor(() => self.stdoutLines().some((l) => l.includes('"server.listening"')), {
        timeoutMs: opts.timeoutMs ?? 30_000,
        intervalMs: 50,
        what: `${opts.name} listening`,
      }),
      exitedP.then((e) => {
        throw new Error(`service exited during start (${e.code ?? e.signal})`);
      }),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(
      `${(e as Error).message}\nstdout:\n${self.stdoutLines().slice(-20).join('\n')}\nstderr:\n${self.stderr().slice(-3000)}`,
    );
  }
  return self;
}
