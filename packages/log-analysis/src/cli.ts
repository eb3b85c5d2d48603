#!/usr/bin/env node
import { runCli } from './runCli';

// SIGINT/SIGTERM end --follow cleanly: the final result is printed before exiting.
const controller = new AbortController();
const stop = () => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// `mem0-logs errors app.log | head` closes stdout early: that is not an error worth a stack.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
});

runCli(process.argv.slice(2), { signal: controller.signal }).then((code) => {
  process.exitCode = code;
  process.removeListener('SIGINT', stop);
  process.removeListener('SIGTERM', stop);
});
