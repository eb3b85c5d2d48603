// Public API of @mem0-stack/otel: every export is named here (no export *).
export type { DoctorOptions, DoctorReport } from './doctor';
export { runDoctor } from './doctor';
export type {
  BatchConfig,
  CuratedInstrumentation,
  ExporterKind,
  LogLevel,
  OtelConfig,
  OtlpProtocol,
  OtlpSignalConfig,
  ReadConfigResult,
  SamplerName,
  Signal,
} from './readConfig';
export { CURATED_INSTRUMENTATIONS, DEFAULT_IGNORE_PATHS, readConfig } from './readConfig';
export { type SqlDialect, sanitizeSql } from './sanitizeSql';
export type { OtelSdk, StartOptions } from './start';
export { forceFlush, getSdk, shutdown, start } from './start';
