import type { Classification } from '../../registerClassifier';
import { getString } from '../safe';

const net = (c: Omit<Classification, 'source'>): Classification => ({ ...c, source: 'network' });

// maybeSent follows what the failure says about the request: ECONNREFUSED/DNS errors happen
// before a byte is written (always safe to retry); resets and timeouts may hit after it was sent.
const BY_CODE: Record<string, Classification> = {
  ECONNREFUSED: net({
    code: 'CONNECTION_REFUSED',
    category: 'unavailable',
    retryable: true,
    maybeSent: false,
  }),
  ECONNRESET: net({ code: 'CONNECTION_RESET', category: 'unavailable', retryable: true, maybeSent: true }),
  ECONNABORTED: net({ code: 'CONNECTION_RESET', category: 'unavailable', retryable: true, maybeSent: true }),
  EPIPE: net({ code: 'CONNECTION_RESET', category: 'unavailable', retryable: true, maybeSent: true }),
  ETIMEDOUT: net({ code: 'NETWORK_TIMEOUT', category: 'timeout', retryable: true, maybeSent: true }),
  ESOCKETTIMEDOUT: net({ code: 'NETWORK_TIMEOUT', category: 'timeout', retryable: true, maybeSent: true }),
  EAI_AGAIN: net({
    code: 'DNS_TEMPORARY_FAILURE',
    category: 'unavailable',
    retryable: true,
    maybeSent: false,
  }),
  // Usually a wrong host name, but also a DNS server that is still starting in a fresh pod.
  ENOTFOUND: net({ code: 'DNS_NOT_FOUND', category: 'unavailable', retryable: true, maybeSent: false }),
  EHOSTUNREACH: net({ code: 'HOST_UNREACHABLE', category: 'unavailable', retryable: true, maybeSent: false }),
  EHOSTDOWN: net({ code: 'HOST_UNREACHABLE', category: 'unavailable', retryable: true, maybeSent: false }),
  ENETUNREACH: net({
    code: 'NETWORK_UNREACHABLE',
    category: 'unavailable',
    retryable: true,
    maybeSent: false,
  }),
  ENETDOWN: net({ code: 'NETWORK_UNREACHABLE', category: 'unavailable', retryable: true, maybeSent: false }),
  EMFILE: net({
    code: 'TOO_MANY_OPEN_FILES',
    category: 'unavailable',
    severity: 'critical',
    retryable: true,
  }),
  ENFILE: net({
    code: 'TOO_MANY_OPEN_FILES',
    category: 'unavailable',
    severity: 'critical',
    retryable: true,
  }),
  EADDRINUSE: net({ code: 'ADDRESS_IN_USE', category: 'configuration' }),
  EADDRNOTAVAIL: net({ code: 'ADDRESS_NOT_AVAILABLE', category: 'configuration' }),
  ENOSPC: { code: 'DISK_FULL', category: 'internal', severity: 'critical', source: 'filesystem' },
  // A missing file in a request handler is a deployment problem, not the caller's 404.
  ENOENT: { code: 'FILE_NOT_FOUND', category: 'internal', source: 'filesystem' },
  EACCES: { code: 'PERMISSION_DENIED', category: 'configuration', source: 'filesystem' },
  EPERM: { code: 'PERMISSION_DENIED', category: 'configuration', source: 'filesystem' },
  ERR_SOCKET_CONNECTION_TIMEOUT: net({
    code: 'CONNECT_TIMEOUT',
    category: 'timeout',
    retryable: true,
    maybeSent: false,
  }),
  // The peer went away mid-stream (often our own client disconnecting).
  ERR_STREAM_PREMATURE_CLOSE: net({
    code: 'CONNECTION_RESET',
    category: 'unavailable',
    retryable: true,
    maybeSent: true,
  }),
  // undici (fetch) socket-level codes.
  UND_ERR_CONNECT_TIMEOUT: net({
    code: 'CONNECT_TIMEOUT',
    category: 'timeout',
    retryable: true,
    maybeSent: false,
  }),
  UND_ERR_HEADERS_TIMEOUT: net({
    code: 'UPSTREAM_TIMEOUT',
    category: 'timeout',
    retryable: true,
    maybeSent: true,
  }),
  UND_ERR_BODY_TIMEOUT: net({
    code: 'UPSTREAM_TIMEOUT',
    category: 'timeout',
    retryable: true,
    maybeSent: true,
  }),
  UND_ERR_SOCKET: net({
    code: 'CONNECTION_RESET',
    category: 'unavailable',
    retryable: true,
    maybeSent: true,
  }),
  UND_ERR_CLOSED: net({
    code: 'CONNECTION_RESET',
    category: 'unavailable',
    retryable: true,
    maybeSent: true,
  }),
};

/** Node syscall errors (`err.code`) and undici socket errors. */
export function networkRule(e: unknown): Classification | undefined {
  const code = getString(e, 'code');
  return code === undefined ? undefined : BY_CODE[code];
}
