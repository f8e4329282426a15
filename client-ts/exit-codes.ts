/**
 * Exit codes of the `bank` CLI — the same table as the Python CLI (client-py), so scripts can
 * tell outcomes apart whichever client they call. Documented in client-ts/README.md.
 */
import { FaultCode } from '../common/fault-codes';

export const EXIT = Object.freeze({
  OK: 0,
  OTHER: 1,
  USAGE: 2,
  AUTHENTICATION: 3,
  NOT_ALLOWED: 4, // not authorized, no such account, or past a limit of the client's
  INSUFFICIENT_FUNDS: 5,
  INVALID_INPUT: 6, // invalid amount / request / same account
  RETRYABLE: 7, // locked, rate-limited, unavailable, connection or timeout: retry with the same --request-id
});
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every fault code has an exit code; a new code in the registry is a compile error here. */
export const EXIT_CODE_BY_FAULT: { readonly [C in FaultCode]: ExitCode } = Object.freeze({
  AUTHENTICATION_FAILED: EXIT.AUTHENTICATION,
  NOT_AUTHORIZED: EXIT.NOT_ALLOWED,
  ACCOUNT_NOT_FOUND: EXIT.NOT_ALLOWED,
  INSUFFICIENT_FUNDS: EXIT.INSUFFICIENT_FUNDS,
  INVALID_AMOUNT: EXIT.INVALID_INPUT,
  SAME_ACCOUNT: EXIT.INVALID_INPUT,
  INVALID_REQUEST: EXIT.INVALID_INPUT,
  ACCOUNT_LOCKED: EXIT.RETRYABLE,
  RATE_LIMITED: EXIT.RETRYABLE,
  LIMIT_EXCEEDED: EXIT.NOT_ALLOWED,
  SERVICE_UNAVAILABLE: EXIT.RETRYABLE,
  LOCK_NOT_HELD: EXIT.OTHER,
  LOCK_EXPIRED: EXIT.OTHER,
  STALE_FENCING_TOKEN: EXIT.OTHER,
  REQUEST_ID_CONFLICT: EXIT.OTHER,
  INTERNAL_ERROR: EXIT.OTHER,
});
