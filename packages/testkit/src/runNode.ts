import { spawn } from 'node:child_process';

export type RunResult = {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
};

/**
 * Runs `node <args>` to completion (killing it after `timeoutMs`) and returns its output.
 * @example const r = await runNode(['--require', '@mem0-stack/otel/register', '-e', '0']);
 */
export function runNode(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, wallMs: Number(process.hrtime.bigint() - started) / 1e6 });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Parses stdout as JSON lines, returning the objects and any lines that were not JSON. */
export function jsonLines(stdout: string): { records: Array<Record<string, unknown>>; bad: string[] } {
  const records: Array<Record<string, unknown>> = [];
  const bad: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) records.push(v);
      else bad.push(line);
    } catch {
      bad.push(line);
    }
  }
  return { records, bad };
}
