// `node --import @mem0-stack/otel/register app.mjs`: installs the import-in-the-middle loader
// hook (so ESM imports of node:http, pg, … reach the instrumentations), starts the SDK, and
// waits until the loader knows which modules to wrap before the application is imported.
import { createRequire, register } from 'node:module';

const require = createRequire(import.meta.url);
const { loadRuntime } = require('./internal/loadRuntime.js') as typeof import('./internal/loadRuntime.js');
const { readConfig, start } = loadRuntime();

if (!readConfig(process.env).config.disabled) {
  let wait: (() => Promise<void>) | undefined;
  try {
    const iitm = require('import-in-the-middle') as typeof import('import-in-the-middle');
    // Only modules an instrumentation asked for are wrapped: the rest of the graph loads untouched.
    const { registerOptions, waitForAllMessagesAcknowledged } = iitm.createAddHookMessageChannel();
    register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
    wait = waitForAllMessagesAcknowledged;
  } catch (err) {
    process.stderr.write(
      `[@mem0-stack/otel] warn: ESM loader hook unavailable (${(err as Error).message}); ESM imports will not be instrumented.\n`,
    );
  }
  start({ instrumentationLoading: 'eager' });
  if (wait) await wait();
} else {
  start();
}
