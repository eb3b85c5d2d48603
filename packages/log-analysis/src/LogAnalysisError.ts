const BRAND = Symbol.for('@mem0-stack/log-analysis/LogAnalysisError');

/**
 * Why a command could not run:
 * - `USAGE`: bad arguments, unreadable input paths, invalid rules or field files (exit 2);
 * - `SOURCE`: a remote source (Loki, Tempo) failed or answered an error (exit 3).
 */
export type LogAnalysisErrorCode = 'USAGE' | 'SOURCE';

/**
 * The error every command throws for a condition the user can fix. The CLI prints its
 * message (no stack) and exits with `exitCode`.
 * @example throw new LogAnalysisError('USAGE', 'unknown command "eror"');
 */
export class LogAnalysisError extends Error {
  readonly code: LogAnalysisErrorCode;
  readonly exitCode: number;
  readonly [BRAND] = true;

  constructor(code: LogAnalysisErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogAnalysisError';
    this.code = code;
    this.exitCode = code === 'USAGE' ? 2 : 3;
  }
}

/**
 * True for a LogAnalysisError, also one from another copy of this package.
 * @example if (isLogAnalysisError(e)) process.exitCode = e.exitCode;
 */
export function isLogAnalysisError(e: unknown): e is LogAnalysisError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}
