import { FAULT_CODES, FaultCode } from './fault-codes';

/**
 * An operating error meant for the caller. Thrown anywhere inside a service; turned into a SOAP
 * fault only at the edge (common/soap-host.ts). Any other thrown value becomes INTERNAL_ERROR.
 */
export class ServiceFault extends Error {
  readonly code: FaultCode;
  readonly accountId: string | undefined;
  readonly retryable: boolean;
  /** How long the caller should wait before sending again (RATE_LIMITED); a whole number ≥ 1. */
  readonly retryAfterMs: number | undefined;

  constructor(code: FaultCode, message: string, accountId?: string, retryAfterMs?: number) {
    super(message);
    this.name = 'ServiceFault';
    this.code = code;
    this.accountId = accountId;
    this.retryable = FAULT_CODES[code].retryable;
    if (retryAfterMs !== undefined && !(Number.isSafeInteger(retryAfterMs) && retryAfterMs >= 1)) {
      throw new Error(`retryAfterMs must be a whole number ≥ 1, got ${retryAfterMs}`);
    }
    this.retryAfterMs = retryAfterMs;
  }
}

export function fault(code: FaultCode, message: string, accountId?: string): ServiceFault {
  return new ServiceFault(code, message, accountId);
}

/** RATE_LIMITED with the time to wait, which the fault detail carries as retryAfterMs. */
export function rateLimited(message: string, retryAfterMs: number, accountId?: string): ServiceFault {
  return new ServiceFault('RATE_LIMITED', message, accountId, retryAfterMs);
}

export function isServiceFault(value: unknown): value is ServiceFault {
  return value instanceof ServiceFault;
}
