import { installProcessHandlers } from '@mem0-stack/errors';
import { createLogger, setDefaultLogger } from '@mem0-stack/logging';
import { loadConfig } from './config';
import { flushTelemetry } from './flushTelemetry';
import { startService } from './service';

// Entry point: `node --require @mem0-stack/otel/register dist/server.js` (also runs without it).
async function main() {
  const logger = createLogger({ service: { name: 'memory-service' } });
  // The cache, resilience and errors packages log through the default logger: make it this one.
  setDefaultLogger(logger);
  installProcessHandlers({ flush: () => flushTelemetry(2000), flushTimeoutMs: 3000 });
  const config = loadConfig();
  const svc = await startService(config, { logger });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second Ctrl-C: the operator does not want to wait for the drain.
      logger.warn('server.shutdown_forced', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.event('server.shutdown', { signal, 'shutdown.timeout_ms': config.shutdownTimeoutMs });
    // The hard limit: a stuck dependency must not keep the process alive past it.
    setTimeout(() => {
      logger.error('server.shutdown_timeout', { 'shutdown.timeout_ms': config.shutdownTimeoutMs });
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    svc.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // `on`, not `once`: the handler must stay registered for the whole drain. The preload flushes
  // telemetry on SIGTERM and re-raises the signal (ending the process) when it finds no other
  // listener left, which would cut the drain short.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  createLogger({ service: { name: 'memory-service' } }).error('server.start_failed', { error: err });
  void flushTelemetry(2000).finally(() => process.exit(1));
});
