import { type RunResult, runCommand } from './runCommand';

export type { RunResult } from './runCommand';

/**
 * Runs `node <args>` to completion (killing it after `timeoutMs`) and returns its output.
 * @example const r = await runNode(['--require', '@mem0-stack/otel/register', '-e', '0']);
 */
export function runNode(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return runCommand(process.execPath, args, opts);
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
