import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

/** A long-running child process a test can stop, kill and start again with the same arguments. */
export type ManagedProcess = {
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Everything the process wrote to stdout and stderr, across restarts (capped at 4 MiB). */
  output(): string;
  /** Resident set size in KiB from /proc, or undefined when not running. */
  rssKiB(): number | undefined;
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: a crash, nothing flushed. */
  kill(): Promise<void>;
};

const MAX_OUTPUT = 4 * 1024 * 1024;
const live = new Set<ChildProcess>();
const scratchDirs = new Set<string>();
let exitHookInstalled = false;

// A test that throws before its afterAll must not leave collectors or Prometheus running on a
// machine shared with other suites, nor their scratch directories in the temp dir.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
    for (const dir of scratchDirs) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // Best effort: the process is exiting.
      }
    }
  });
}

/**
 * Registers a helper's scratch directory for removal when this process exits without the
 * helper's cleanup() (a failed test, an interrupted demo); removing it twice is harmless.
 */
export function removeOnExit(dir: string): void {
  installExitHook();
  scratchDirs.add(dir);
}

/**
 * Starts `proc`, whose scratch directory is `dir`; if it does not come up (bad config, port
 * taken, timeout), waits for it to be gone and removes the directory before rethrowing.
 */
export async function startOrRemove(proc: ManagedProcess, dir: string): Promise<void> {
  try {
    await proc.start();
  } catch (err) {
    await proc.kill();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export function readRssKiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function managedProcess(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; ready: () => Promise<void> },
): ManagedProcess {
  let child: ChildProcess | undefined;
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > MAX_OUTPUT) out = out.slice(out.length - MAX_OUTPUT);
  };
  const waitExit = (c: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) resolve();
      else c.once('exit', () => resolve());
    });

  const self: ManagedProcess = {
    get pid() {
      return child?.pid;
    },
    get running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
    output: () => out,
    rssKiB: () => (self.running ? readRssKiB(child?.pid) : undefined),
    async start() {
      if (self.running) return;
      installExitHook();
      const c = spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      live.add(c);
      c.stdout?.on('data', append);
      c.stderr?.on('data', append);
      c.once('exit', () => live.delete(c));
      let starting = true;
      const spawnError = new Promise<never>((_, reject) => c.once('error', reject));
      const exited = waitExit(c).then(() => {
        if (starting)
          throw new Error(`${command} exited during start (code ${c.exitCode}):\n${out.slice(-4000)}`);
      });
      spawnError.catch(() => {});
      exited.catch(() => {});
      try {
        await Promise.race([opts.ready(), spawnError, exited]);
      } catch (err) {
        c.kill('SIGKILL');
        throw err;
      } finally {
        starting = false;
      }
    },
    async stop(graceMs = 10_000) {
      const c = child;
      if (!c || !self.running) return;
      const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
      c.kill('SIGTERM');
      await waitExit(c);
      clearTimeout(timer);
    },
    async kill() {
      const c = child;
      if (!c || !self.running) return;
      c.kill('SIGKILL');
      await waitExit(c);
    },
  };
  return self;
}
