import { CATEGORY_DEFAULTS, isCategory, isSeverity, validStatus } from './internal/defaults';
import type { ErrorCategory, ErrorSeverity, FieldIssue } from './types';

// Brand shared by every copy of this package loaded in the process (Symbol.for is global), so
// guards keep working when npm installs two versions side by side, where instanceof fails.
const APP_ERROR = Symbol.for('@mem0-stack/errors.AppError');

/** Options of {@link AppError} and its category subclasses. */
export type AppErrorOptions = {
  /** Stable machine code (`MEMORY_NOT_FOUND`); defaults to the subclass's code. */
  code?: string;
  category?: ErrorCategory;
  severity?: ErrorSeverity;
  retryable?: boolean;
  /** HTTP status (400–599); defaults from the category. */
  status?: number;
  /** Text safe to show to end users; defaults to the catalogue entry for `code`. */
  userMessage?: string;
  /** Field-level issues (validation). */
  details?: FieldIssue[];
  cause?: unknown;
  retryAfterMs?: number;
  maybeSent?: boolean;
};

/**
 * An application error that carries its own classification. `message` is internal (logs,
 * traces); only `userMessage` or the catalogue text ever reaches a response body.
 * @example
 * throw new AppError('memory 42 belongs to another tenant', {
 *   code: 'MEMORY_FORBIDDEN', category: 'authorization', userMessage: 'You cannot read this memory.',
 * });
 */
export class AppError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;
  readonly severity: ErrorSeverity;
  readonly retryable: boolean;
  readonly status: number;
  readonly userMessage: string | undefined;
  readonly details: FieldIssue[] | undefined;
  readonly retryAfterMs: number | undefined;
  readonly maybeSent: boolean | undefined;
  declare readonly cause: unknown;

  constructor(message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const category = isCategory(options.category) ? options.category : 'internal';
    const defaults = CATEGORY_DEFAULTS[category];
    this.code = options.code ?? 'INTERNAL_ERROR';
    this.category = category;
    this.severity = isSeverity(options.severity) ? options.severity : defaults.severity;
    this.retryable = options.retryable ?? defaults.retryable;
    this.status = validStatus(options.status) ? options.status : defaults.status;
    this.userMessage = options.userMessage;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
    this.maybeSent = options.maybeSent;
    Object.defineProperty(this, APP_ERROR, { value: true });
  }
}
Object.defineProperty(AppError.prototype, 'name', { value: 'AppError', writable: true, configurable: true });

/**
 * True for an {@link AppError} (or subclass) from any copy of this package.
 * @example if (isAppError(err)) console.log(err.code);
 */
export function isAppError(e: unknown): e is AppError {
  try {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[APP_ERROR] === true;
  } catch {
    return false;
  }
}
