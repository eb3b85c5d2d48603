import type { Classification } from '../../registerClassifier';
import { ctorName, get, getString, isErrorLike } from '../safe';

const SQLSTATE = /^[0-9A-Z]{5}$/;
const PG_SEVERITIES = new Set(['ERROR', 'FATAL', 'PANIC', 'WARNING']);

// A pg DatabaseError carries a SQLSTATE `code` and server fields. EPIPE is also five capital
// letters, so a bare `code` is not enough: require a server-side field as well.
function isPgError(e: unknown): boolean {
  const code = getString(e, 'code');
  if (!code || !SQLSTATE.test(code)) return false;
  if (ctorName(e) === 'DatabaseError') return true;
  const sev = getString(e, 'severity');
  return (sev !== undefined && PG_SEVERITIES.has(sev)) || typeof get(e, 'routine') === 'string';
}

const pg = (c: Omit<Classification, 'source'>): Classification => ({ ...c, source: 'postgres' });

/** SQLSTATE → classification, most specific first. https://www.postgresql.org/docs/current/errcodes-appendix.html */
export function classifySqlState(code: string): Classification {
  switch (code) {
    case '23505':
      return pg({ code: 'DB_UNIQUE_VIOLATION', category: 'conflict' });
    case '23P01':
      return pg({ code: 'DB_EXCLUSION_VIOLATION', category: 'conflict' });
    case '23503':
      return pg({ code: 'DB_FOREIGN_KEY_VIOLATION', category: 'validation' });
    case '23502':
      return pg({ code: 'DB_NOT_NULL_VIOLATION', category: 'validation' });
    case '23514':
      return pg({ code: 'DB_CHECK_VIOLATION', category: 'validation' });
    case '40001':
      return pg({
        code: 'DB_SERIALIZATION_FAILURE',
        category: 'database',
        severity: 'medium',
        retryable: true,
      });
    case '40P01':
      return pg({ code: 'DB_DEADLOCK', category: 'database', severity: 'medium', retryable: true });
    case '55P03':
      return pg({ code: 'DB_LOCK_NOT_AVAILABLE', category: 'database', severity: 'medium', retryable: true });
    case '57014':
      // Statement timeout (or a cancel): the statement was rolled back, so it never took effect.
      return pg({ code: 'DB_STATEMENT_TIMEOUT', category: 'timeout', retryable: true, maybeSent: false });
    case '57P01':
    case '57P02':
      // Backend terminated mid-flight: whatever was running may or may not have committed.
      return pg({ code: 'DB_SHUTDOWN', category: 'unavailable', retryable: true, maybeSent: true });
    case '57P03':
      return pg({ code: 'DB_STARTING_UP', category: 'unavailable', retryable: true, maybeSent: false });
    case '57P04':
      return pg({ code: 'DB_SHUTDOWN', category: 'unavailable', retryable: true, maybeSent: true });
    case '08007':
      // Transaction resolution unknown: transient, but the commit may have happened.
      return pg({ code: 'DB_CONNECTION_LOST', category: 'unavailable', retryable: true, maybeSent: true });
    case '08001':
    case '08004':
      return pg({
        code: 'DB_CONNECTION_REJECTED',
        category: 'unavailable',
        retryable: true,
        maybeSent: false,
      });
    case '53300':
      return pg({
        code: 'DB_TOO_MANY_CONNECTIONS',
        category: 'unavailable',
        retryable: true,
        maybeSent: false,
      });
    case '53100':
      return pg({ code: 'DB_DISK_FULL', category: 'unavailable', severity: 'critical', retryable: true });
    case '53200':
      return pg({ code: 'DB_OUT_OF_MEMORY', category: 'unavailable', severity: 'critical', retryable: true });
    case '42501':
      return pg({ code: 'DB_PERMISSION_DENIED', category: 'configuration' });
    case '25006':
      // A write on a read-only connection: after a failover the pool may still hold connections
      // to the old primary, now a standby. Refused before it ran, so a retry (which the pool may
      // serve from a fresh connection to the new primary) is safe.
      return pg({ code: 'DB_READ_ONLY', category: 'unavailable', retryable: true, maybeSent: false });
    case '25P02':
      return pg({ code: 'DB_TRANSACTION_ABORTED', category: 'internal' });
    case '22001':
      return pg({ code: 'DB_VALUE_TOO_LONG', category: 'validation' });
    case '3D000':
      return pg({ code: 'DB_UNKNOWN_DATABASE', category: 'configuration' });
    case 'XX001':
    case 'XX002':
      return pg({ code: 'DB_DATA_CORRUPTED', category: 'database', severity: 'critical' });
  }
  switch (code.slice(0, 2)) {
    case '08':
      return pg({ code: 'DB_CONNECTION_LOST', category: 'unavailable', retryable: true, maybeSent: true });
    case '53':
      return pg({ code: 'DB_INSUFFICIENT_RESOURCES', category: 'unavailable', retryable: true });
    case '23':
      return pg({ code: 'DB_INTEGRITY_VIOLATION', category: 'validation' });
    case '22':
      return pg({ code: 'DB_INVALID_DATA', category: 'validation' });
    case '42':
      // Syntax error, undefined table/column…: a bug in our SQL, never the user's fault.
      return pg({ code: 'DB_QUERY_ERROR', category: 'internal' });
    case '28':
      return pg({ code: 'DB_AUTH_FAILED', category: 'configuration' });
    case '3F':
      return pg({ code: 'DB_UNKNOWN_SCHEMA', category: 'configuration' });
    case '40':
      return pg({
        code: 'DB_TRANSACTION_ROLLBACK',
        category: 'database',
        severity: 'medium',
        retryable: true,
      });
    case '57':
      return pg({
        code: 'DB_OPERATOR_INTERVENTION',
        category: 'unavailable',
        retryable: true,
        maybeSent: true,
      });
    case '58':
      return pg({ code: 'DB_SYSTEM_ERROR', category: 'database', severity: 'critical' });
    case 'XX':
      return pg({ code: 'DB_INTERNAL_ERROR', category: 'database', severity: 'critical' });
    case 'P0':
      return pg({ code: 'DB_RAISED_EXCEPTION', category: 'internal' });
  }
  return pg({ code: 'DB_ERROR', category: 'database' });
}

// Client-side failures of node-postgres (pg/pg-pool) are plain Errors told apart by message.
const PG_CLIENT_MESSAGES: Array<[RegExp, Classification]> = [
  [
    /^Connection terminated unexpectedly$/,
    pg({ code: 'DB_CONNECTION_LOST', category: 'unavailable', retryable: true, maybeSent: true }),
  ],
  [
    // pg refuses the query on a client whose socket already failed: the statement never left.
    /^Client has encountered a connection error and is not queryable$/,
    pg({ code: 'DB_CONNECTION_LOST', category: 'unavailable', retryable: true, maybeSent: false }),
  ],
  [
    /^Connection terminated due to connection timeout$|^timeout exceeded when trying to connect$/,
    pg({ code: 'DB_CONNECT_TIMEOUT', category: 'timeout', retryable: true, maybeSent: false }),
  ],
  [
    /^Query read timeout$/,
    pg({ code: 'DB_QUERY_TIMEOUT', category: 'timeout', retryable: true, maybeSent: true }),
  ],
  [
    /^Cannot use a pool after calling end on the pool$|^Client was closed and is not queryable$/,
    pg({ code: 'DB_CLIENT_CLOSED', category: 'internal' }),
  ],
];

/** PostgreSQL server errors (by SQLSTATE) and node-postgres client errors. */
export function postgresRule(e: unknown): Classification | undefined {
  if (isPgError(e)) return classifySqlState(getString(e, 'code') as string);
  const msg = getString(e, 'message');
  if (msg === undefined || !isErrorLike(e)) return undefined;
  for (const [re, c] of PG_CLIENT_MESSAGES) if (re.test(msg)) return c;
  return undefined;
}
