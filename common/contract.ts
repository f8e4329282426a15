/**
 * The wire contract's constants, declared once for every tier, both clients' tests and the
 * scripts: namespaces, endpoint paths, the SOAPAction format, the content type, the shapes of
 * the ids, the entry kinds. The WSDLs (wsdl/*.wsdl) are the contract and keep their own text;
 * test/contract.test.ts fails when a constant here and the WSDL it mirrors drift apart.
 *
 * Patterns are anchored JavaScript spellings of the WSDL's xsd:pattern facets (the WSDL writes
 * a class's final `-` as `\-`). They check the text after XSD white-space collapse, which each
 * reader does first.
 */

/** SOAP 1.1 (the only SOAP version the services speak). */
export const SOAP11_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** wsdl/bank.wsdl: the clients' service. */
export const BANK_NAMESPACE = 'urn:distbank:bank:v1';
/** wsdl/data.wsdl: the data tier, called only by business servers. */
export const DATA_NAMESPACE = 'urn:distbank:data:v1';
/** wsdl/admin.wsdl: the console's control-plane service. */
export const ADMIN_NAMESPACE = 'urn:distbank:admin:v1';

/** The path of each service (the WSDLs' soap:address locations end with it). */
export const BANK_PATH = '/bank';
export const DATA_PATH = '/data';
export const ADMIN_PATH = '/admin';

/** Every SOAP request and answer, and the WSDL documents served with ?wsdl. */
export const SOAP_CONTENT_TYPE = 'text/xml; charset=utf-8';

/** The SOAPAction of an operation, as the WSDL's soap:operation declares it: `<namespace>#<Operation>`. */
export function soapAction(namespace: string, operation: string): string {
  return `${namespace}#${operation}`;
}

/** The same as the value of an HTTP SOAPAction header (SOAP 1.1 §6.1.1: a quoted URI). */
export function soapActionHeader(namespace: string, operation: string): string {
  return `"${soapAction(namespace, operation)}"`;
}

/** AccountId (bank.wsdl, data.wsdl): a positive integer, at most 15 digits, no leading zero. */
export const ACCOUNT_ID_PATTERN = /^[1-9][0-9]{0,14}$/;
/** EntryId (both WSDLs): a journal entry's place, the same shape as an account id. */
export const ENTRY_ID_PATTERN = /^[1-9][0-9]{0,14}$/;
/** FencingToken (data.wsdl): positive, at most 15 digits, so always a safe integer. */
export const FENCING_TOKEN_PATTERN = /^[1-9][0-9]{0,14}$/;
/** TransactionId (both WSDLs): a journal entry's transaction. */
export const TRANSACTION_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** bank.wsdl client-id, data.wsdl ClientId (an account's owner) and business-id. */
export const PRINCIPAL_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** LockId (data.wsdl). */
export const LOCK_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** The characters of a request-id header block (a regular-expression class); its length bound is per service. */
export const REQUEST_ID_CHARS = '[A-Za-z0-9_.:-]';
export const REQUEST_ID_CHARS_PATTERN = new RegExp(`^${REQUEST_ID_CHARS}+$`);
/** bank.wsdl request-id: the client's idempotency key. */
export const BANK_REQUEST_ID_CHARS_MAX = 64;
/** data.wsdl request-id: a correlation id carried into the logs. */
export const DATA_REQUEST_ID_CHARS_MAX = 128;
/** bank.wsdl request-id, whole. */
export const BANK_REQUEST_ID_PATTERN = new RegExp(`^${REQUEST_ID_CHARS}{1,${BANK_REQUEST_ID_CHARS_MAX}}$`);
/** admin.wsdl TraceKey: a request-id, a transaction id or a W3C trace id. */
export const TRACE_KEY_CHARS_MAX = 128;
export const TRACE_KEY_PATTERN = new RegExp(`^${REQUEST_ID_CHARS}{1,${TRACE_KEY_CHARS_MAX}}$`);
/** The auth-token header block (both WSDLs): at most this many characters. */
export const AUTH_TOKEN_CHARS_MAX = 256;
/** Calls in one data.wsdl Batch (maxOccurs of Batch/call). */
export const DATA_BATCH_CALLS_MAX = 64;

/** EntryKind (both WSDLs), in the WSDLs' order. */
export const ENTRY_KINDS = Object.freeze(['OPENING', 'DEPOSIT', 'WITHDRAWAL', 'TRANSFER_OUT', 'TRANSFER_IN'] as const);
export type EntryKind = (typeof ENTRY_KINDS)[number];

export function isEntryKind(text: unknown): text is EntryKind {
  return typeof text === 'string' && (ENTRY_KINDS as readonly string[]).includes(text);
}

/** An account id as the wire carries it: decimal text matching ACCOUNT_ID_PATTERN. */
export type AccountId = string;
