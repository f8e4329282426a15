import { FAULT_CODES, FaultCode } from './fault-codes';

/**
 * The one serializer of SOAP 1.1 faults in distbank. Every tier (the SOAP edge of the data and
 * business servers, and the balancer) builds its faults here, so they all look alike:
 *
 *   <soap:Fault><faultcode>soap:Client</faultcode><faultstring>…</faultstring>
 *     <detail><BankFault xmlns="urn:distbank:bank:v1"><code>…</code><message>…</message>
 *       <accountId>…</accountId>?<retryable>false</retryable></BankFault></detail></soap:Fault>
 *
 * Sent with HTTP 500 (WS-I BP R1126).
 */
export const SOAP11_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const FAULT_HTTP_STATUS = 500;

export interface FaultFields {
  readonly code: FaultCode;
  readonly message: string;
  readonly accountId?: string | undefined;
}

const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text for XML element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}

export function faultEnvelope(fields: FaultFields, namespace: string, faultElement: string): string {
  const info = FAULT_CODES[fields.code];
  const message = escapeXml(fields.message);
  const accountId = fields.accountId === undefined ? '' : `<accountId>${escapeXml(fields.accountId)}</accountId>`;
  return '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Body><soap:Fault>` +
    `<faultcode>soap:${info.soapFaultCode}</faultcode><faultstring>${fields.code}: ${message}</faultstring>` +
    `<detail><${faultElement} xmlns="${escapeXml(namespace)}"><code>${fields.code}</code><message>${message}</message>` +
    `${accountId}<retryable>${info.retryable ? 'true' : 'false'}</retryable></${faultElement}></detail>` +
    '</soap:Fault></soap:Body></soap:Envelope>';
}
