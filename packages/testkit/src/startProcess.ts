import { type ManagedProcess, managedProcess } from './internal/managedProcess';
import { waitFor } from './waitFor';

export type StartProcessOptions = {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Ready when this returns truthy (polled); gets everything the process printed so far. */
  ready: (output: string) => boolean | Promise<boolean>;
  timeoutMs?: number;
};

/**
 * Starts a long-running process (a service under test) and waits until `ready` says so.
 * The result can be stopped (SIGTERM, then SIGKILL), killed and started again; its RSS is
 * readable for memory assertions. Processes still running when the test process exits are
 * killed.
 * @example
 * const svc = await startProcess(process.execPath, ['server.js'], { ready: (out) => out.includes('listening') });
 * await svc.stop();
 */
export async function startProcess(
  command: string,
  args: string[],
  opts: StartProcessOptions,
): Promise<ManagedProcess> {
  const proc: ManagedProcess = managedProcess(command, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    ready: () =>
      waitFor(() => opts.ready(proc.output()), {
        timeoutMs: opts.timeoutMs ?? 30_000,
        intervalMs: 50,
        what: `${command} ready`,
      }).then(() => undefined),
  });
  await proc.start();
  return proc;
}
