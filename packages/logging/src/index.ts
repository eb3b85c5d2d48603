// Public API of @mem0-stack/logging: every export is named here (no export *).

export { getCorrelationId, isValidCorrelationId, newCorrelationId, runWithCorrelation } from './correlation';
export type { LogFields, Logger, LoggerOptions } from './createLogger';
export { createLogger } from './createLogger';
export { getLogger, setDefaultLogger } from './getLogger';
export type { ServiceInfo } from './internal/resolveService';
export type { RedactOptions } from './internal/sanitize';
export { DEFAULT_REDACT_KEYS, isSensitiveKey } from './internal/sanitize';
export type { Destination } from './internal/stdoutTransport';
export type { RequestHandler, RequestLike, RequestLoggerOptions } from './requestLogger';
export { requestLogger, templatePath, wrapHttpHandler } from './requestLogger';
export type { OperationTimer, TimedOptions } from './timed';
export { startTimer, timed } from './timed';
