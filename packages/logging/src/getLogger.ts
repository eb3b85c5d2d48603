import { createLogger, type Logger } from './createLogger';

// Shared across duplicate copies of this package so every library logs through one logger.
const KEY = Symbol.for('@mem0-stack/logging.default');
type GlobalWithLogger = typeof globalThis & { [KEY]?: Logger };
const g = globalThis as GlobalWithLogger;

/**
 * The process-wide default logger, created on first use from the environment
 * (MEM0_LOG_LEVEL, MEM0_LOG_FORMAT, OTEL_SERVICE_NAME, …). Libraries log through it
 * unless given a `logger` option.
 * @example getLogger().warn('cache degraded', { reason: 'redis down' });
 */
export function getLogger(): Logger {
  let logger = g[KEY];
  if (!logger) {
    logger = createLogger();
    g[KEY] = logger;
  }
  return logger;
}

/**
 * Replaces the default logger returned by {@link getLogger} (e.g. with one created with
 * custom options at start-up). Returns the previous one, if any.
 * @example setDefaultLogger(createLogger({ service: { name: 'api' }, level: 'debug' }));
 */
export function setDefaultLogger(logger: Logger): Logger | undefined {
  const previous = g[KEY];
  g[KEY] = logger;
  return previous;
}
