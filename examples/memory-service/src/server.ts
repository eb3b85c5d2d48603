import { loadConfig } from './config';
import { startService } from './service';

// Entry point: `node --require @mem0-stack/otel/register dist/server.js`.
async function main() {
  const config = loadConfig();
  const svc = await startService(config);
  const stop = (signal: string) => {
    process.stdout.write(`${JSON.stringify({ level: 'info', message: 'server.shutdown', signal })}\n`);
    // The hard limit: a stuck dependency must not keep the process alive past it.
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs).unref();
    svc.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stdout.write(
    `${JSON.stringify({ level: 'error', message: 'server.start_failed', 'error.message': err instanceof Error ? err.message : String(err) })}\n`,
  );
  process.exit(1);
});
