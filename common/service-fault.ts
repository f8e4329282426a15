import { FAULT_CODES, FaultCode } from './fault-codes';

/**
 * An operating error meant for the caller. Thrown anywhere inside a service; turned into a SOAP
 * fault only at the edge (common/soap-host.ts). Any other thrown value becomes INTERNAL_ERROR.
 */
export class ServiceFault extends Error {
  readonly code: FaultCode;
  readonly accountId: string | undefined;
  readonly retryable: boolean;

  constructor(code: FaultCode, message: string, accountId?: string) {
    super(message);
    this.name = 'ServiceFault';
    this.code = code;
    this.accountId = accountId;
    this.retryable = FAULT_CODES[code].retryable;
  }
}

export function fault(code: FaultCode, message: string, accountId?: string): ServiceFault {
  return new ServiceFault(code, message, accountId);
}

export function isServiceFault(value: unknown): value is ServiceFault {
  return value instanceof ServiceFault;
}
