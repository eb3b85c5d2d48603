export { freePort } from './freePort';
export type { Attrs, OtlpSink, SinkLog, SinkMetric, SinkSpan } from './otlpSink';
export { anyValue, attrs, startOtlpSink } from './otlpSink';
export type { RedisServer } from './redisServer';
export { startRedisServer, stopAll } from './redisServer';
export type { RunResult } from './runNode';
export { jsonLines, runNode } from './runNode';
export { createTestDatabase, PG_BASE_URL } from './testDatabase';
export { waitFor } from './waitFor';
