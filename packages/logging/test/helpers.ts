import { createLogger, type Logger, type LoggerOptions } from '../src';

/** A logger writing into an array; `records()` parses every line (and fails on a non-JSON one). */
export function captureLogger(options: LoggerOptions = {}): {
  logger: Logger;
  lines: string[];
  records(): Array<Record<string, unknown>>;
} {
  const lines: string[] = [];
  const logger = createLogger({
    otlp: false,
    service: { name: 'test-svc', version: '1.2.3', environment: 'test' },
    ...options,
    destination: {
      write(chunk: string) {
        lines.push(chunk);
        return true;
      },
    },
  });
  return {
    logger,
    lines,
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export const CONTRACT_KEYS = [
  'timestamp',
  'level',
  'message',
  'service.name',
  'service.version',
  'deployment.environment',
  'trace_id',
  'span_id',
  'trace_flags',
  'correlation_id',
];
