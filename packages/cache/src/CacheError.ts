import { AppError } from '@mem0-stack/errors';

const BRAND = Symbol.for('@mem0-stack/cache.CacheError');

/** Codes of the errors this package throws (only for misuse; Redis trouble never throws). */
export type CacheErrorCode = 'CACHE_CONFIG_INVALID' | 'CACHE_KEY_INVALID' | 'CACHE_CLOSED';

/**
 * Thrown for programming errors only: an invalid `createCache` option, a non-string key, or
 * a call after `close()`. Redis failures and corrupt entries never surface as errors. It is an
 * `AppError` (category `configuration` or `internal`), so `classify()` and the problem+json
 * handler of `@mem0-stack/errors` treat it like any other classified error.
 * @example
 * try { createCache({ redis, name: 'bad name!', defaultTtl: 1000 }); }
 * catch (err) { if (isCacheError(err)) console.error(err.code); }
 */
export class CacheError extends AppError {
  declare readonly code: CacheErrorCode;

  constructor(code: CacheErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, {
      code,
      category: code === 'CACHE_CONFIG_INVALID' ? 'configuration' : 'internal',
      retryable: false,
      cause: options.cause,
    });
    Object.defineProperty(this, BRAND, { value: true });
  }
}
Object.defineProperty(CacheError.prototype, 'name', {
  value: 'CacheError',
  writable: true,
  configurable: true,
});

/**
 * True for a CacheError from any copy of this package (checks a global symbol brand, not instanceof).
 * @example if (isCacheError(err) && err.code === 'CACHE_CLOSED') return;
 */
export function isCacheError(e: unknown): e is CacheError {
  try {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
  } catch {
    return false;
  }
}
