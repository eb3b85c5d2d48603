// Public API of @mem0-stack/resilience: every export is named here (no export *).
export type { BulkheadOptions } from './bulkhead';
export { BulkheadPolicy, bulkhead } from './bulkhead';
export type {
  CircuitBreakerOptions,
  CircuitState,
  ConsecutiveTrigger,
  CountTrigger,
  SamplingTrigger,
} from './circuitBreaker';
export { CircuitBreakerPolicy, circuitBreaker } from './circuitBreaker';
export {
  BrokenCircuitError,
  BulkheadRejectedError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isPolicyTimeoutError,
  PolicyTimeoutError,
} from './errors';
export type { FallbackOptions } from './fallback';
export { FallbackPolicy, fallback } from './fallback';
export type { ForeignPolicy } from './policy';
export { CompositePolicy, policy } from './policy';
export type { PresetOptions } from './presets';
export { PresetPolicy, presets } from './presets';
export type { RecoveryStats } from './recoveryRate';
export { recoveryRate, recoveryStats, resetRecoveryStats } from './recoveryRate';
export type { PoolClientLike, PoolLike, ResilientPoolOptions } from './resilientPool';
export { isReadOnlyStatement, resilientPool } from './resilientPool';
export type { RedisClientLike, ResilientRedisOptions } from './resilientRedis';
export { isIdempotentRedisCommand, resilientRedis } from './resilientRedis';
export type { Jitter, RetryDecisionInfo, RetryEvent, RetryOptions } from './retry';
export { RetryPolicy, retry } from './retry';
export type { RetryBudget, RetryBudgetOptions } from './retryBudget';
export { createRetryBudget } from './retryBudget';
export type { TimeoutOptions } from './timeout';
export { TimeoutPolicy, timeout } from './timeout';
export type { ExecuteContext, ExecuteOptions, Policy, PolicyFn } from './types';
