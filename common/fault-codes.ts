/**
 * The one registry of fault codes. The WSDLs' FaultCode enumerations, wsdl/README.md and the
 * Python client's exception classes are kept in step with this table by test/fault-registry.test.ts.
 */
export interface FaultCodeInfo {
  /** SOAP 1.1 faultcode: Client = the caller's mistake, Server = ours or a passing condition. */
  readonly soapFaultCode: 'Client' | 'Server';
  /** True when the same request may succeed if sent again later, unchanged. */
  readonly retryable: boolean;
  /** One line for the docs. */
  readonly meaning: string;
}

export const FAULT_CODES = {
  AUTHENTICATION_FAILED: {
    soapFaultCode: 'Client',
    retryable: false,
    meaning: 'Missing, unknown or wrong credentials (auth-token with client-id or business-id).',
  },
  NOT_AUTHORIZED: {
    soapFaultCode: 'Client',
    retryable: false,
    meaning: 'The caller is authenticated but may not act on this account.',
  },
  ACCOUNT_NOT_FOUND: { soapFaultCode: 'Client', retryable: false, meaning: 'No account has this id.' },
  INSUFFICIENT_FUNDS: {
    soapFaultCode: 'Client',
    retryable: false,
    meaning: 'The debit would make a balance negative; nothing changed.',
  },
  INVALID_AMOUNT: {
    soapFaultCode: 'Client',
    retryable: false,
    meaning: 'The amount is not a decimal > 0 with at most 2 fraction digits, or exceeds the maximum.',
  },
  SAME_ACCOUNT: {
    soapFaultCode: 'Client',
    retryable: false,
    meaning: 'A transfer names the same account as source and destination.',
  },
  INVALID_REQUEST: {
    soapFaultCode: 'Client',
    retryable: false,
    meaning:
      'The request is malformed: bad XML, unknown operation, SOAPAction mismatch, too large, or a field out of range.',
  },
  ACCOUNT_LOCKED: {
    soapFaultCode: 'Server',
    retryable: true,
    meaning: 'The account stayed locked by another request past the wait bound; retry later with the same request-id.',
  },
  LOCK_NOT_HELD: {
    soapFaultCode: 'Client',
    retryable: false,
    meaning: "Data tier: the lock does not exist, is not the caller's, or does not cover the account.",
  },
  LOCK_EXPIRED: {
    soapFaultCode: 'Client',
    retryable: false,
    meaning: 'Data tier: the lease of the lock ran out; lock again.',
  },
  STALE_FENCING_TOKEN: {
    soapFaultCode: 'Client',
    retryable: false,
    meaning: 'Data tier: the fencing token is not the current one for this lock.',
  },
  REQUEST_ID_CONFLICT: {
    soapFaultCode: 'Client',
    retryable: false,
    meaning: 'The request-id (or transaction id) was already used with different content.',
  },
  RATE_LIMITED: {
    soapFaultCode: 'Server',
    retryable: true,
    meaning:
      "The caller sent more than its share (its rate, or its places in an account's queue); retry after retryAfterMs with the same request-id.",
  },
  LIMIT_EXCEEDED: {
    soapFaultCode: 'Client',
    retryable: false,
    meaning: 'The request would pass a configured limit of the caller (e.g. accounts per client); nothing changed.',
  },
  SERVICE_UNAVAILABLE: {
    soapFaultCode: 'Server',
    retryable: true,
    meaning: 'A tier behind this one is down, overloaded or timed out; retry later with the same request-id.',
  },
  INTERNAL_ERROR: {
    soapFaultCode: 'Server',
    retryable: false,
    meaning: 'An unexpected error; details are in the server log under the request id.',
  },
} as const satisfies Record<string, FaultCodeInfo>;

export type FaultCode = keyof typeof FAULT_CODES;

export const FAULT_CODE_NAMES: readonly FaultCode[] = Object.freeze(Object.keys(FAULT_CODES) as FaultCode[]);

export function isFaultCode(text: string): text is FaultCode {
  return Object.prototype.hasOwnProperty.call(FAULT_CODES, text);
}
