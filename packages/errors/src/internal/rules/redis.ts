import type { Classification } from '../../registerClassifier';
import { ctorName, get, getString, isErrorLike } from '../safe';

const redis = (c: Omit<Classification, 'source'>): Classification => ({ ...c, source: 'redis' });

// node-redis v4/v5 error classes keep the default `name` ('Error'), so the constructor name is
// the reliable signal. ioredis sets `name` on its own errors.
const BY_CLASS: Record<string, Classification> = {
  ConnectionTimeoutError: redis({ code: 'REDIS_CONNECT_TIMEOUT', category: 'timeout', maybeSent: false }),
  SocketTimeoutError: redis({ code: 'REDIS_TIMEOUT', category: 'timeout', maybeSent: true }),
  SocketTimeoutDuringMaintenanceError: redis({ code: 'REDIS_TIMEOUT', category: 'timeout', maybeSent: true }),
  CommandTimeoutDuringMaintenanceError: redis({
    code: 'REDIS_TIMEOUT',
    category: 'timeout',
    maybeSent: false,
  }),
  SocketClosedUnexpectedlyError: redis({
    code: 'REDIS_CONNECTION_LOST',
    category: 'unavailable',
    retryable: true,
    maybeSent: true,
  }),
  ClientOfflineError: redis({
    code: 'REDIS_OFFLINE',
    category: 'unavailable',
    retryable: true,
    maybeSent: false,
  }),
  DisconnectsClientError: redis({
    code: 'REDIS_DISCONNECTED',
    category: 'unavailable',
    retryable: true,
    maybeSent: true,
  }),
  ReconnectStrategyError: redis({
    code: 'REDIS_UNAVAILABLE',
    category: 'unavailable',
    retryable: true,
    maybeSent: false,
  }),
  RootNodesUnavailableError: redis({ code: 'REDIS_UNAVAILABLE', category: 'unavailable', retryable: true }),
  // A client the app closed does not come back by itself: retrying the same client is futile.
  ClientClosedError: redis({ code: 'REDIS_CLIENT_CLOSED', category: 'unavailable', retryable: false }),
  WatchError: redis({
    code: 'REDIS_WATCH_CONFLICT',
    category: 'conflict',
    retryable: true,
    maybeSent: false,
  }),
  MaxRetriesPerRequestError: redis({ code: 'REDIS_UNAVAILABLE', category: 'unavailable', retryable: true }),
};

// Server replies: the first word of the message is the error prefix.
const BY_PREFIX: Record<string, Classification> = {
  BUSY: redis({ code: 'REDIS_BUSY', category: 'unavailable', retryable: true, maybeSent: false }),
  LOADING: redis({ code: 'REDIS_LOADING', category: 'unavailable', retryable: true, maybeSent: false }),
  READONLY: redis({ code: 'REDIS_READONLY', category: 'unavailable', retryable: true, maybeSent: false }),
  TRYAGAIN: redis({ code: 'REDIS_TRYAGAIN', category: 'unavailable', retryable: true, maybeSent: false }),
  CLUSTERDOWN: redis({
    code: 'REDIS_UNAVAILABLE',
    category: 'unavailable',
    retryable: true,
    maybeSent: false,
  }),
  MASTERDOWN: redis({
    code: 'REDIS_UNAVAILABLE',
    category: 'unavailable',
    retryable: true,
    maybeSent: false,
  }),
  OOM: redis({ code: 'REDIS_OOM', category: 'cache', severity: 'high', retryable: true, maybeSent: false }),
  WRONGTYPE: redis({ code: 'REDIS_WRONGTYPE', category: 'internal' }),
  NOSCRIPT: redis({ code: 'REDIS_NOSCRIPT', category: 'internal' }),
  EXECABORT: redis({ code: 'REDIS_EXECABORT', category: 'internal' }),
  NOAUTH: redis({ code: 'REDIS_AUTH_FAILED', category: 'configuration' }),
  WRONGPASS: redis({ code: 'REDIS_AUTH_FAILED', category: 'configuration' }),
  NOPERM: redis({ code: 'REDIS_PERMISSION_DENIED', category: 'configuration' }),
  ERR: redis({ code: 'REDIS_ERROR', category: 'cache' }),
};

const REPLY_CLASSES = new Set(['ErrorReply', 'SimpleError', 'BlobError', 'ReplyError', 'MultiErrorReply']);

/** node-redis / ioredis client errors and Redis server error replies. */
export function redisRule(e: unknown): Classification | undefined {
  if (!isErrorLike(e)) return undefined;
  const cls = ctorName(e);
  const name = getString(e, 'name');
  const byClass = (cls && BY_CLASS[cls]) || (name && BY_CLASS[name]);
  if (byClass) return byClass;
  if ((cls && REPLY_CLASSES.has(cls)) || (name && REPLY_CLASSES.has(name))) {
    const msg = getString(e, 'message') ?? '';
    const prefix = /^([A-Z]+)\b/.exec(msg)?.[1];
    return (prefix && BY_PREFIX[prefix]) || redis({ code: 'REDIS_ERROR', category: 'cache' });
  }
  // node-redis' own TimeoutError (command timeout, pool acquire) has the default name 'Error';
  // DOMException/undici timeouts are named 'TimeoutError' and handled by the abort rule.
  if (cls === 'TimeoutError' && name === 'Error') {
    return redis({ code: 'REDIS_TIMEOUT', category: 'timeout', maybeSent: true });
  }
  // ioredis after disconnect.
  if (getString(e, 'message') === 'Connection is closed.' && get(e, 'code') === undefined) {
    return redis({
      code: 'REDIS_CONNECTION_LOST',
      category: 'unavailable',
      retryable: true,
      maybeSent: true,
    });
  }
  return undefined;
}
