import { SOAP11_ENVELOPE_NS } from './contract';
import { FAULT_CODES, FaultCode } from './fault-codes';
import { xmlAttribute, xmlText } from './xml-writer';

/**
 * The one serializer of SOAP 1.1 faults in distbank. Every tier (the SOAP edge of the data and
 * business servers, and the balancer) builds its faults here, so they all look alike:
 *
 *   <soap:Fault><faultcode>soap:Client</faultcode><faultstring>…</faultstring>
 *     <detail><BankFault xmlns="urn:distbank:bank:v1"><code>…</code><message>…</message>
 *       <accountId>…</accountId>?<retryable>false</retryable><retryAfterMs>…</retryAfterMs>?</BankFault></detail></soap:Fault>
 *
 * Sent with HTTP 500 (WS-I BP R1126).
 */
export const FAULT_HTTP_STATUS = 500;

export interface FaultFields {
  readonly code: FaultCode;
  readonly message: string;
  readonly accountId?: string | undefined;
  /** Written after retryable when set (bank.wsdl: optional, RATE_LIMITED). */
  readonly retryAfterMs?: number | undefined;
}

export function faultEnvelope(fields: FaultFields, namespace: string, faultElement: string): string {
  const info = FAULT_CODES[fields.code];
  // A character XML 1.0 cannot carry (smuggled into an echoed value) becomes U+FFFD: every fault parses.
  const message = xmlText(fields.message);
  const accountId = fields.accountId === undefined ? '' : `<accountId>${xmlText(fields.accountId)}</accountId>`;
  const retryAfter =
    fields.retryAfterMs === undefined ? '' : `<retryAfterMs>${Math.ceil(fields.retryAfterMs)}</retryAfterMs>`;
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Body><soap:Fault>` +
    `<faultcode>soap:${info.soapFaultCode}</faultcode><faultstring>${fields.code}: ${message}</faultstring>` +
    `<detail><${faultElement} xmlns="${xmlAttribute(namespace)}"><code>${fields.code}</code><message>${message}</message>` +
    `${accountId}<retryable>${info.retryable ? 'true' : 'false'}</retryable>${retryAfter}</${faultElement}></detail>` +
    '</soap:Fault></soap:Body></soap:Envelope>'
  );
}

/**
 * The soap:MustUnderstand fault (SOAP 1.1 §4.2.3, §4.4.1) for a header block addressed to us
 * with mustUnderstand="1" that we do not know. It has no `detail`: SOAP 1.1 §4.4 reserves
 * detail for errors of the Body ("MUST NOT be used to carry information about ... header
 * entries"), so the block is named in the faultstring only.
 */
export function mustUnderstandEnvelope(blockNs: string, blockName: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Body><soap:Fault>` +
    '<faultcode>soap:MustUnderstand</faultcode>' +
    `<faultstring>header block {${xmlText(blockNs)}}${xmlText(blockName)} is not understood</faultstring>` +
    '</soap:Fault></soap:Body></soap:Envelope>'
  );
}
