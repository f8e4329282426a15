import { asList, BankRecord, BankValue, escapeText, parseBankResponse, postRaw } from './bank-call';
import { DATA_NAMESPACE, SOAP11_ENVELOPE_NS, soapAction } from '../../common/contract';

/**
 * A small raw SOAP caller for data.wsdl (tests and tools): builds the envelope by hand so a test
 * sends exactly the bytes it means (invalid values included), POSTs over keep-alive, parses the
 * answer with xml2js. Faults come back as fields (code, message, accountId, retryable) plus the
 * HTTP status and faultcode.
 *
 *   const r = await callData(url, 'Lock', [['accountId', ['1', '2']], ['waitMs', '0']], creds);
 *   r.body?.lockId  /  r.fault?.code
 */
const CALL_TIMEOUT_MS_DEFAULT = 10_000;

export type DataArgValue = string | readonly string[] | readonly DataArgPair[] | ReadonlyArray<readonly DataArgPair[]>;
export type DataArgPair = readonly [string, DataArgValue];

export interface DataHeaders {
  readonly authToken?: string;
  readonly businessId?: string;
  readonly requestId?: string;
}

export interface DataCallOptions {
  readonly httpHeaders?: Readonly<Record<string, string>>;
  /** Default soapAction(DATA_NAMESPACE, operation); null sends none. */
  readonly soapAction?: string | null;
  readonly timeoutMs?: number;
}

export interface DataCallResult {
  readonly httpStatus: number;
  readonly body?: BankRecord;
  readonly fault?: {
    faultcode: string;
    faultstring: string;
    code: string;
    message: string;
    accountId?: string;
    retryable: boolean;
  };
  readonly raw: string;
}

function isPairList(value: DataArgValue): value is readonly DataArgPair[] {
  return Array.isArray(value) && value.length > 0 && Array.isArray(value[0]) && typeof value[0][0] === 'string';
}

function render(name: string, value: DataArgValue): string {
  if (typeof value === 'string') return `<d:${name}>${escapeText(value)}</d:${name}>`;
  if (value.length === 0) return '';
  if (typeof value[0] === 'string') return (value as readonly string[]).map((v) => render(name, v)).join('');
  if (isPairList(value)) return `<d:${name}>${value.map(([n, v]) => render(n, v)).join('')}</d:${name}>`;
  // A repeated complex element: a list of pair lists.
  return (value as ReadonlyArray<readonly DataArgPair[]>).map((pairs) => render(name, pairs)).join('');
}

export function dataEnvelope(operation: string, args: readonly DataArgPair[], headers: DataHeaders): string {
  const blocks: string[] = [];
  if (headers.authToken !== undefined) blocks.push(`<d:auth-token>${escapeText(headers.authToken)}</d:auth-token>`);
  if (headers.businessId !== undefined) blocks.push(`<d:business-id>${escapeText(headers.businessId)}</d:business-id>`);
  if (headers.requestId !== undefined) blocks.push(`<d:request-id>${escapeText(headers.requestId)}</d:request-id>`);
  const header = blocks.length > 0 ? `<soap:Header>${blocks.join('')}</soap:Header>` : '';
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:d="${DATA_NAMESPACE}">${header}` +
    `<soap:Body><d:${operation}>${args.map(([n, v]) => render(n, v)).join('')}</d:${operation}></soap:Body></soap:Envelope>`
  );
}

export async function postData(
  url: string,
  operation: string,
  body: string,
  options: DataCallOptions = {},
): Promise<DataCallResult> {
  const action = options.soapAction === undefined ? soapAction(DATA_NAMESPACE, operation) : options.soapAction;
  const httpHeaders: Record<string, string> = { ...(options.httpHeaders ?? {}) };
  if (action !== null) httpHeaders['soapaction'] = `"${action}"`;
  const response = await postRaw(url, body, httpHeaders, options.timeoutMs ?? CALL_TIMEOUT_MS_DEFAULT);
  return parseBankResponse(response.httpStatus, response.raw);
}

/** Calls one data-tier operation; resolves with the body or the fault, rejects on network errors. */
export function callData(
  url: string,
  operation: string,
  args: readonly DataArgPair[],
  headers: DataHeaders,
  options: DataCallOptions = {},
): Promise<DataCallResult> {
  return postData(url, operation, dataEnvelope(operation, args, headers), options);
}

/** A leaf of a parsed response as text ('' when absent or not a leaf). */
export function textOf(value: BankValue | undefined): string {
  return typeof value === 'string' ? value : '';
}

/** A repeated response element (e.g. `account`) as records, whether it came once or many times. */
export function recordsOf(value: BankValue | undefined): BankRecord[] {
  return asList(value).filter((v): v is BankRecord => typeof v === 'object' && !Array.isArray(v));
}

export { asList };
