// Public API of @mem0-stack/errors: every export is named here (no export *).
export type { AppErrorOptions } from './AppError';
export { AppError, isAppError } from './AppError';
export {
  AuthenticationError,
  AuthorizationError,
  ConfigurationError,
  ConflictError,
  InternalError,
  isAuthenticationError,
  isAuthorizationError,
  isConfigurationError,
  isConflictError,
  isInternalError,
  isNotFoundError,
  isRateLimitedError,
  isTimeoutError,
  isUnavailableError,
  isValidationError,
  NotFoundError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from './categoryErrors';
export { classify, isClassifiedError } from './classify';
export { errorHandler, notFoundHandler } from './errorHandler';
export type { ErrorStats } from './errorStats';
export { errorStats, resetErrorStats } from './errorStats';
export type { ProcessHandlerOptions } from './installProcessHandlers';
export { installProcessHandlers } from './installProcessHandlers';
export type { RequestLike } from './internal/request';
export type { Problem, ProblemBody, ProblemFieldError, ProblemOptions } from './problemDetails';
export { problemDetails } from './problemDetails';
export type { RecordErrorOptions } from './recordError';
export { recordError } from './recordError';
export type { Classification, Classifier, ClassifierOptions } from './registerClassifier';
export { registerClassifier } from './registerClassifier';
export type { ErrorResponseOptions, ResponseLike } from './sendProblem';
export { sendProblem, withErrorHandling } from './sendProblem';
export type { ClassifiedError, ErrorCategory, ErrorSeverity, FieldIssue } from './types';
export type { MessageContext, MessageTranslator, UserMessage } from './userMessages';
export { setMessageTranslator, setUserMessages, userMessageFor } from './userMessages';
