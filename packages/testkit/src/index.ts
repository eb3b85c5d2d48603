export type { Collector, CollectorSink, StartCollectorOptions } from './collector';
export {
  COLLECTOR_CONFIG,
  collectorBinary,
  REPO_ROOT,
  startCollector,
  startCollectorSink,
  sumPrometheusSamples,
  validateCollectorConfig,
} from './collector';
export { freePort } from './freePort';
export type { ManagedProcess } from './internal/managedProcess';
export type { OtlpFile } from './otlpFile';
export { tailOtlpFile } from './otlpFile';
export type { Attrs, OtlpSink, SinkLog, SinkMetric, SinkSpan } from './otlpSink';
export { anyValue, attrs, startOtlpSink } from './otlpSink';
export type { PrometheusServer, PromSample, StartPrometheusOptions } from './prometheus';
export { startPrometheus } from './prometheus';
export type { RedisServer } from './redisServer';
export { startRedisServer, stopAll } from './redisServer';
export type { RunResult } from './runCommand';
export { runCommand } from './runCommand';
export { jsonLines, runNode } from './runNode';
export type { StartProcessOptions } from './startProcess';
export { startProcess } from './startProcess';
export { createTestDatabase, PG_BASE_URL } from './testDatabase';
export { waitFor } from './waitFor';
