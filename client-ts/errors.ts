/**
 * What a BankClient call throws.
 * - BankError: the service answered with a BankFault. One subclass per code of the registry
 *   (common/fault-codes.ts), so callers write `catch (e) { if (e instanceof InsufficientFundsError) … }`.
 *   BANK_ERROR_CLASSES is typed over FaultCode: a code added to the registry without a class
 *   here is a compile error.
 * - BankTransportError: no usable answer (connection refused/reset, timeout, a proxy's 502/503/504
 *   without a SOAP body), after the bounded retries. Whether money moved is unknown: retry with
 *   the same request-id (err.requestId) to find out without moving it twice.
 * - BankProtocolError: an answer that is not what bank.wsdl promises (not SOAP, a fault without
 *   a BankFault detail, a missing field). A bug on one side; not retried.
 * - DecimalFormatError (decimal.ts): an amount that is not decimal text; thrown before sending.
 */
import { FaultCode, FAULT_CODES } from '../common/fault-codes';

export interface BankErrorFields {
  readonly code: FaultCode;
  readonly message: string;
  readonly accountId?: string | undefined;
  readonly retryable?: boolean | undefined;
  /** SOAP 1.1 faultcode text as received, e.g. "soap:Client". */
  readonly faultcode?: string | undefined;
  /** The request-id the call was sent with (the idempotency key for money-moving calls). */
  readonly requestId?: string | undefined;
  /** How long the service asks the caller to wait before sending again (RATE_LIMITED). */
  readonly retryAfterMs?: number | undefined;
}

export class BankError extends Error {
  readonly code: FaultCode;
  readonly accountId: string | undefined;
  readonly retryable: boolean;
  readonly faultcode: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(fields: BankErrorFields) {
    super(fields.message);
    this.name = new.target.name;
    this.code = fields.code;
    this.accountId = fields.accountId;
    // The wire value wins; the registry is the fallback for a fault that omits it.
    this.retryable = fields.retryable ?? FAULT_CODES[fields.code].retryable;
    this.faultcode = fields.faultcode;
    this.requestId = fields.requestId;
    this.retryAfterMs = fields.retryAfterMs;
  }
}

export class AuthenticationFailedError extends BankError {}
export class NotAuthorizedError extends BankError {}
export class AccountNotFoundError extends BankError {}
export class InsufficientFundsError extends BankError {}
export class InvalidAmountError extends BankError {}
export class SameAccountError extends BankError {}
export class InvalidRequestError extends BankError {}
export class AccountLockedError extends BankError {}
export class LockNotHeldError extends BankError {}
export class LockExpiredError extends BankError {}
export class StaleFencingTokenError extends BankError {}
export class RequestIdConflictError extends BankError {}
/** Over the client's rate or its share of an account's queue: wait err.retryAfterMs, then retry. */
export class RateLimitedError extends BankError {}
export class LimitExceededError extends BankError {}
export class ServiceUnavailableError extends BankError {}
export class InternalError extends BankError {}

export type BankErrorClass = new (fields: BankErrorFields) => BankError;

export const BANK_ERROR_CLASSES: { readonly [C in FaultCode]: BankErrorClass } = Object.freeze({
  AUTHENTICATION_FAILED: AuthenticationFailedError,
  NOT_AUTHORIZED: NotAuthorizedError,
  ACCOUNT_NOT_FOUND: AccountNotFoundError,
  INSUFFICIENT_FUNDS: InsufficientFundsError,
  INVALID_AMOUNT: InvalidAmountError,
  SAME_ACCOUNT: SameAccountError,
  INVALID_REQUEST: InvalidRequestError,
  ACCOUNT_LOCKED: AccountLockedError,
  LOCK_NOT_HELD: LockNotHeldError,
  LOCK_EXPIRED: LockExpiredError,
  STALE_FENCING_TOKEN: StaleFencingTokenError,
  REQUEST_ID_CONFLICT: RequestIdConflictError,
  RATE_LIMITED: RateLimitedError,
  LIMIT_EXCEEDED: LimitExceededError,
  SERVICE_UNAVAILABLE: ServiceUnavailableError,
  INTERNAL_ERROR: InternalError,
});

export function bankErrorFor(fields: BankErrorFields): BankError {
  return new BANK_ERROR_CLASSES[fields.code](fields);
}

export class BankTransportError extends Error {
  readonly retryable = true;
  readonly requestId: string | undefined;
  readonly attempts: number;
  /** False only when every attempt was refused before anything was sent (ECONNREFUSED). */
  readonly mayHaveArrived: boolean;
  /** The socket error code of the last attempt, e.g. ECONNRESET, ECONNABORTED, ECONNREFUSED. */
  readonly errorCode: string | undefined;
  constructor(
    message: string,
    fields: {
      requestId: string | undefined;
      attempts: number;
      mayHaveArrived: boolean;
      errorCode?: string | undefined;
      cause?: unknown;
    },
  ) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = 'BankTransportError';
    this.requestId = fields.requestId;
    this.attempts = fields.attempts;
    this.mayHaveArrived = fields.mayHaveArrived;
    this.errorCode = fields.errorCode;
  }
}

export class BankProtocolError extends Error {
  readonly retryable = false;
  readonly requestId: string | undefined;
  readonly httpStatus: number | undefined;
  constructor(message: string, requestId: string | undefined, httpStatus?: number) {
    super(message);
    this.name = 'BankProtocolError';
    this.requestId = requestId;
    this.httpStatus = httpStatus;
  }
}
