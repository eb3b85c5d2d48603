// Helpers local to the otel tests: build checks and a child-process runner that keeps the
// exit status (the preload's signal handling is part of what is tested).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export const PKG_DIR = join(__dirname, '..');
export const REPO_DIR = join(PKG_DIR, '..', '..');
export const FIXTURES = join(__dirname, 'fixtures');

/**
 * Child processes load dist/ (register → the bundled runtime). Fails clearly when tsc has not
 * run, and refreshes dist/preload.js when it is older than the last tsc build, so the tests
 * exercise the file that ships.
 */
export function ensureBuilt(): void {
  const dist = join(PKG_DIR, 'dist');
  if (!existsSync(join(dist, 'register.js')) || !existsSync(join(dist, '.tsbuildinfo'))) {
    throw new Error('packages/otel/dist is missing: run `npx tsc -b packages/otel` first');
  }
  const bundle = join(dist, 'preload.js');
  if (!existsSync(bundle) || statSync(bundle).mtimeMs < statSync(join(dist, '.tsbuildinfo')).mtimeMs) {
    execFileSync(process.execPath, [join(PKG_DIR, 'scripts', 'bundle.mjs')], { stdio: 'ignore' });
  }
}

/** The environment of a child: ours plus the test's, without OTEL_* leaking in from the shell. */
export function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('OTEL_') && !k.startsWith('MEM0_OTEL_') && k !== 'NODE_OPTIONS') env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export type App = {
  readonly port: number;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit status and how long after `signal()` it came. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; afterSignalMs: number }>;
  signal(sig: NodeJS.Signals): void;
  kill(): void;
};

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * Starts `node <nodeArgs> <fixture>` (a file in test/fixtures, or an absolute path) and waits
 * for its `{"port":N}` line on stdout.
 * @example const app = await startApp(['--require', '@mem0-stack/otel/register'], 'app.cjs', env);
 */
export function startApp(
  nodeArgs: string[],
  fixture: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 20_000,
): Promise<App> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...nodeArgs, isAbsolute(fixture) ? fixture : join(FIXTURES, fixture)],
      {
        cwd: REPO_DIR,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    running.add(child);
    let out = '';
    let err = '';
    let signalledAt = 0;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; afterSignalMs: number }>(
      (res) => {
        child.on('exit', (code, signal) => {
          running.delete(child);
          res({ code, signal, afterSignalMs: signalledAt ? Date.now() - signalledAt : Number.NaN });
        });
      },
    );
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${fixture} did not start within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`));
    }, timeoutMs);
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.stdout.on('data', (d) => {
      out += d;
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          child,
          stdout: () => out,
          stderr: () => err,
          exited,
          signal(sig) {
            signalledAt = Date.now();
            child.kill(sig);
          },
          kill: () => child.kill('SIGKILL'),
        });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(`${fixture} exited early (code ${code}, signal ${signal})\nstdout: ${out}\nstderr: ${err}`),
      );
    });
  });
}

/** Lines the preload printed on stderr (its own prefix only). */
export function otelLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('[@mem0-stack/otel]'));
}
