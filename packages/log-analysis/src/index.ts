// Public API of @mem0-stack/log-analysis: every export is named here (no export *).
export type { AlertEvaluator, AlertResult, AlertState, AlertsSummary } from './alertEvaluator';
export { createAlertEvaluator } from './alertEvaluator';
export type { AlertMetric, AlertOp, AlertRule, AlertRuleSet } from './alertRules';
export { ALERT_METRICS, DEFAULT_RULES_PATH, loadRules, parseRules } from './alertRules';
export { createLogEventReader } from './createLogEventReader';
export type { CountRow, ErrorStats, ErrorStatsOptions, ErrorSummary, MessageRow } from './errorStats';
export { createErrorStats } from './errorStats';
export type { EventNames, FieldConfig, FieldName } from './internal/fields';
export { DEFAULT_EVENTS, DEFAULT_FIELDS } from './internal/fields';
export type { LogEvent, ResilienceKind } from './internal/readEvent';
export type { LogAnalysisErrorCode } from './LogAnalysisError';
export { isLogAnalysisError, LogAnalysisError } from './LogAnalysisError';
export type {
  LatencyStats,
  LatencyStatsOptions,
  LatencySummary,
  Percentiles,
  SlowOperation,
  SlowRequest,
} from './latencyStats';
export { createLatencyStats } from './latencyStats';
export type { CliIO } from './runCli';
export { runCli } from './runCli';
export type { TraceCollector, TraceLine, TraceSpanNode, TraceTimeline } from './traceTimeline';
export { createTraceCollector } from './traceTimeline';
