// Public API of @mem0-stack/errors: every export is named here (no export *).
export type { ClassifiedError, ErrorCategory, ErrorSeverity, FieldIssue } from './types';
