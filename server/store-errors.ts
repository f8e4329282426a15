import { fault, isServiceFault } from '../common/service-fault';

/**
 * Database trouble that is not the caller's fault and may pass: the database is down or
 * restarting, a connection dropped, the pool is exhausted, a statement timed out, SQLite is busy
 * or out of disk. Such errors become SERVICE_UNAVAILABLE (retryable): a retry with the same
 * transaction id is safe, because the idempotency record makes a write that did commit replay.
 * Anything else stays an internal error.
 */
const NODE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const PG_TRANSIENT_STATES = new Set(['57P01', '57P02', '57P03', '57014', '40001', '40P01', '55P03']);
const SQLITE_TRANSIENT_CODES = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
]);
const TRANSIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|Query read timeout/i;

export function isTransientStoreError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  if (code !== undefined) {
    if (NODE_NETWORK_CODES.has(code) || PG_TRANSIENT_STATES.has(code)) return true;
    if (/^(08|53)[0-9A-Z]{3}$/.test(code)) return true; // PG: connection exception, insufficient resources
    if (SQLITE_TRANSIENT_CODES.has(code.split('_').slice(0, 2).join('_'))) return true; // e.g. SQLITE_IOERR_WRITE
  }
  return error instanceof Error && TRANSIENT_MESSAGES.test(error.message);
}

/** Re-throw a store error as the caller should see it. */
export function storeFailure(error: unknown): never {
  if (isServiceFault(error) || !isTransientStoreError(error)) throw error;
  throw fault('SERVICE_UNAVAILABLE', 'the database is unavailable or busy; retry later with the same transaction id');
}
