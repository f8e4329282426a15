import { REQUEST_ID_CHARS, REQUEST_ID_CHARS_PATTERN } from './contract';

/**
 * The one shape of a request id (the idempotency key a caller or the balancer sends):
 * 1..charsMax characters of [A-Za-z0-9_.:-]; the bound is per service (common/contract.ts:
 * BANK_REQUEST_ID_CHARS_MAX, DATA_REQUEST_ID_CHARS_MAX). Every tier checks it before it uses or
 * logs one, so a header can never carry a forged log field.
 */
export function isRequestId(text: string | undefined, charsMax: number): text is string {
  return text !== undefined && text.length <= charsMax && REQUEST_ID_CHARS_PATTERN.test(text);
}

/** The rule, for a fault message. */
export function requestIdRule(charsMax: number): string {
  return `request-id must be 1..${charsMax} characters of ${REQUEST_ID_CHARS}`;
}
