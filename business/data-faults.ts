import { Logger } from '../common/logger';
import { fault, ServiceFault } from '../common/service-fault';
import { DataCallError } from './data-client';

/**
 * What a data-tier failure means for the bank's client. Conditions of the client's request pass
 * through with our own wording (the data tier's messages are not written for clients and could
 * say more than a client may know, e.g. about a recipient's account). Failures of the data tier
 * become SERVICE_UNAVAILABLE (retryable: a retry with the same request-id is safe). Faults that
 * can only come from a bug or a misconfiguration here are logged, and leave as INTERNAL_ERROR
 * (or SERVICE_UNAVAILABLE when another business server may well succeed).
 */
export function clientFaultOf(error: unknown, logger: Logger, requestId: string): unknown {
  if (!(error instanceof DataCallError)) return error;
  switch (error.kind) {
    case 'unavailable':
      unavailableLog.note(logger, requestId, error);
      return unavailable();
    case 'bad-response':
      logger.error('data tier answered outside its contract', {
        request_id: requestId,
        operation: error.operation,
        error: error.message,
      });
      return fault('INTERNAL_ERROR', `internal error; quote request id ${requestId}`);
    case 'fault':
      return mapDataFault(error, logger, requestId);
  }
}

/**
 * While the data tier is down every request fails the same way; the operation line of each
 * request already says SERVICE_UNAVAILABLE. The cause (refused, timed out, …) is logged at most
 * once per UNAVAILABLE_LOG_INTERVAL_MS, with the number of failures since the last line.
 */
const UNAVAILABLE_LOG_INTERVAL_MS = 1000;

const unavailableLog = {
  lastAtMs: 0,
  suppressed: 0,
  note(logger: Logger, requestId: string, error: DataCallError): void {
    const nowMs = Date.now();
    if (nowMs - this.lastAtMs < UNAVAILABLE_LOG_INTERVAL_MS) {
      this.suppressed++;
      return;
    }
    logger.warn('data tier unavailable', {
      request_id: requestId,
      operation: error.operation,
      error: error.message,
      failures_not_logged: this.suppressed,
    });
    this.lastAtMs = nowMs;
    this.suppressed = 0;
  },
};

/** What a client hears when the data tier refuses this server: no secret, no "retry later". */
export const MISCONFIGURED =
  'the bank is misconfigured: the data tier refuses this business server; an operator must fix its credentials';

/** The fault of a data tier that is down (also what fault injection's data-unavailable answers). */
export function unavailable(): ServiceFault {
  return fault('SERVICE_UNAVAILABLE', 'the data tier is unavailable; retry later with the same request-id');
}

function mapDataFault(error: DataCallError, logger: Logger, requestId: string): ServiceFault {
  const detail = error.fault;
  if (detail === undefined) throw new Error('DataCallError of kind fault without detail');
  const id = detail.accountId;
  const which = id === undefined ? 'the account' : `account ${id}`;
  switch (detail.code) {
    case 'ACCOUNT_NOT_FOUND':
      return fault('ACCOUNT_NOT_FOUND', `${which} does not exist`, id);
    case 'INSUFFICIENT_FUNDS':
      return fault('INSUFFICIENT_FUNDS', `insufficient funds in ${which}; nothing changed`, id);
    case 'ACCOUNT_LOCKED':
      return fault('ACCOUNT_LOCKED', `${which} is busy with another request; retry later with the same request-id`, id);
    case 'REQUEST_ID_CONFLICT':
      return fault('REQUEST_ID_CONFLICT', 'this request-id was already used for a request with different content');
    case 'INVALID_AMOUNT':
      return fault('INVALID_AMOUNT', `the amount is not acceptable for ${which}`, id);
    case 'LIMIT_EXCEEDED':
      return fault('LIMIT_EXCEEDED', 'you hold as many accounts as a client may; nothing changed');
    case 'SERVICE_UNAVAILABLE':
      return unavailable();
    case 'AUTHENTICATION_FAILED':
      // This server's data-tier credentials are wrong: a misconfiguration, not a passing
      // outage. It now reports degraded (data-tier-check.ts), so the balancer routes around it.
      logger.error('data tier refused this business server', {
        request_id: requestId,
        operation: error.operation,
        code: detail.code,
      });
      return fault('SERVICE_UNAVAILABLE', MISCONFIGURED);
    case 'LOCK_NOT_HELD':
    case 'LOCK_EXPIRED':
    case 'STALE_FENCING_TOKEN':
      // Lost leases after the bounded retries: nothing the client did; another attempt (here
      // or elsewhere) may succeed.
      logger.error('data tier refused this business server', {
        request_id: requestId,
        operation: error.operation,
        code: detail.code,
        error: detail.message,
      });
      return unavailable();
    case 'NOT_AUTHORIZED':
    case 'SAME_ACCOUNT':
    case 'INVALID_REQUEST':
    case 'RATE_LIMITED':
    case 'INTERNAL_ERROR':
      logger.error('data tier fault that the business tier should have prevented', {
        request_id: requestId,
        operation: error.operation,
        code: detail.code,
        error: detail.message,
      });
      return fault('INTERNAL_ERROR', `internal error; quote request id ${requestId}`);
  }
}

/** Lock trouble that a fresh Lock + Update with the same transaction id can cure. */
export function isLostLock(error: unknown): boolean {
  if (!(error instanceof DataCallError) || error.kind !== 'fault') return false;
  const code = error.fault?.code;
  return code === 'LOCK_EXPIRED' || code === 'STALE_FENCING_TOKEN' || code === 'LOCK_NOT_HELD';
}
