import { AppError, type AppErrorOptions, isAppError } from './AppError';
import type { ErrorCategory } from './types';

type SubclassOptions = Omit<AppErrorOptions, 'category'>;

function define(
  name: string,
  category: ErrorCategory,
  code: string,
): new (
  message?: string,
  options?: SubclassOptions,
) => AppError {
  const Cls = class extends AppError {
    constructor(message = name, options: SubclassOptions = {}) {
      super(message, { ...options, category, code: options.code ?? code });
    }
  };
  Object.defineProperty(Cls, 'name', { value: name });
  Object.defineProperty(Cls.prototype, 'name', { value: name, writable: true, configurable: true });
  return Cls;
}

/**
 * Bad input (400, low). Put field problems in `details`.
 * @example throw new ValidationError('bad body', { details: [{ path: 'text', message: 'Required' }] });
 */
export const ValidationError = define('ValidationError', 'validation', 'VALIDATION_FAILED');
/** @example throw new AuthenticationError('no token'); */
export const AuthenticationError = define('AuthenticationError', 'authentication', 'UNAUTHENTICATED');
/** @example throw new AuthorizationError('tenant mismatch'); */
export const AuthorizationError = define('AuthorizationError', 'authorization', 'FORBIDDEN');
/** @example throw new NotFoundError(`memory ${id}`, { code: 'MEMORY_NOT_FOUND' }); */
export const NotFoundError = define('NotFoundError', 'not_found', 'NOT_FOUND');
/** @example throw new ConflictError('version mismatch', { code: 'MEMORY_VERSION_CONFLICT' }); */
export const ConflictError = define('ConflictError', 'conflict', 'CONFLICT');
/** @example throw new RateLimitedError('quota', { retryAfterMs: 30_000 }); */
export const RateLimitedError = define('RateLimitedError', 'rate_limited', 'RATE_LIMITED');
/** A deadline passed (504, retryable). @example throw new TimeoutError('embedding call > 2s'); */
export const TimeoutError = define('TimeoutError', 'timeout', 'TIMEOUT');
/** A dependency is down (503, retryable). @example throw new UnavailableError('embedder down', { cause }); */
export const UnavailableError = define('UnavailableError', 'unavailable', 'UNAVAILABLE');
/** Bad deployment settings (500, critical). @example throw new ConfigurationError('OPENAI_KEY missing'); */
export const ConfigurationError = define('ConfigurationError', 'configuration', 'CONFIGURATION_ERROR');
/** A bug or invariant breach (500, high). @example throw new InternalError('unreachable state'); */
export const InternalError = define('InternalError', 'internal', 'INTERNAL_ERROR');

/** Instance types of the subclasses (they are AppErrors with a fixed category). */
export type ValidationError = AppError;
export type AuthenticationError = AppError;
export type AuthorizationError = AppError;
export type NotFoundError = AppError;
export type ConflictError = AppError;
export type RateLimitedError = AppError;
export type TimeoutError = AppError;
export type UnavailableError = AppError;
export type ConfigurationError = AppError;
export type InternalError = AppError;

function guard(category: ErrorCategory) {
  return (e: unknown): e is AppError => isAppError(e) && e.category === category;
}

/** True for an AppError of category `validation`, from any package copy. @example isValidationError(err) */
export const isValidationError = guard('validation');
/** @example isAuthenticationError(err) */
export const isAuthenticationError = guard('authentication');
/** @example isAuthorizationError(err) */
export const isAuthorizationError = guard('authorization');
/** @example isNotFoundError(err) */
export const isNotFoundError = guard('not_found');
/** @example isConflictError(err) */
export const isConflictError = guard('conflict');
/** @example isRateLimitedError(err) */
export const isRateLimitedError = guard('rate_limited');
/** @example isTimeoutError(err) */
export const isTimeoutError = guard('timeout');
/** @example isUnavailableError(err) */
export const isUnavailableError = guard('unavailable');
/** @example isConfigurationError(err) */
export const isConfigurationError = guard('configuration');
/** @example isInternalError(err) */
export const isInternalError = guard('internal');
