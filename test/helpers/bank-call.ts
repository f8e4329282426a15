import http from 'node:http';
import { URL } from 'node:url';
import { parseStringPromise, processors } from 'xml2js';
import { BANK_NAMESPACE, SOAP11_ENVELOPE_NS, SOAP_CONTENT_TYPE, soapAction } from '../../common/contract';
import { xmlText } from '../../common/xml-writer';

/**
 * A small raw SOAP caller for bank.wsdl, for tests and tools: it builds the envelope by hand
 * (so a test can send exactly the bytes it means, including invalid values), POSTs it over a
 * keep-alive agent and parses the answer with xml2js (not the hot path).
 *
 *   const r = await callBank(url, 'Transfer', [['fromAccountId', '1'], ['toAccountId', '2'], ['amount', '5.00']],
 *                            { authToken, clientId, requestId: 'r-1' }, { timeoutMs: 5000 });
 *   r.body?.transactionId  /  r.fault?.code
 */
const RESPONSE_BYTES_MAX = 8 * 1024 * 1024;

/** A value in a request: text, or nested elements (ordered pairs), or a repeated element. */
export type BankArgValue = string | number | readonly BankArgPair[] | readonly string[];
export type BankArgPair = readonly [string, BankArgValue];
export type BankArgs = readonly BankArgPair[] | Readonly<Record<string, BankArgValue>>;

export interface BankHeaders {
  readonly authToken?: string;
  readonly clientId?: string;
  readonly requestId?: string;
}

export interface BankCallOptions {
  /** Extra plain HTTP headers (e.g. auth-token/client-id as HTTP headers, as the seed sends them). */
  readonly httpHeaders?: Readonly<Record<string, string>>;
  /** SOAPAction to send; default soapAction(BANK_NAMESPACE, operation); null sends none. */
  readonly soapAction?: string | null;
  readonly timeoutMs: number;
}

/** A parsed response element: leaf text, nested element, or an array for repeated elements. */
export type BankValue = string | BankRecord | BankValue[];
export interface BankRecord {
  [name: string]: BankValue;
}

export interface BankFaultInfo {
  readonly faultcode: string;
  readonly faultstring: string;
  readonly code: string;
  readonly message: string;
  readonly accountId?: string;
  readonly retryable: boolean;
  /** A RATE_LIMITED fault's wait before the next attempt. */
  readonly retryAfterMs?: number;
}

export interface BankCallResult {
  readonly httpStatus: number;
  readonly body?: BankRecord;
  readonly fault?: BankFaultInfo;
  /** The response as received, for failure messages. */
  readonly raw: string;
}

export interface RawResponse {
  readonly httpStatus: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly raw: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** What a test sends is XML 1.0 text: a test that wants other bytes builds them itself. */
export function escapeText(text: string): string {
  return xmlText(text, 'refuse');
}

function renderValue(name: string, value: BankArgValue): string {
  if (typeof value === 'string' || typeof value === 'number') {
    return `<b:${name}>${escapeText(String(value))}</b:${name}>`;
  }
  if (value.length > 0 && typeof value[0] === 'string') {
    return (value as readonly string[]).map((v) => renderValue(name, v)).join('');
  }
  return `<b:${name}>${renderPairs(value as readonly BankArgPair[])}</b:${name}>`;
}

function renderPairs(pairs: readonly BankArgPair[]): string {
  return pairs.map(([name, value]) => renderValue(name, value)).join('');
}

/** The SOAP 1.1 envelope for one bank operation, header blocks first. */
export function bankEnvelope(operation: string, args: BankArgs, headers: BankHeaders): string {
  const pairs: readonly BankArgPair[] = Array.isArray(args) ? (args as readonly BankArgPair[]) : Object.entries(args);
  const blocks: string[] = [];
  if (headers.authToken !== undefined) blocks.push(`<b:auth-token>${escapeText(headers.authToken)}</b:auth-token>`);
  if (headers.clientId !== undefined) blocks.push(`<b:client-id>${escapeText(headers.clientId)}</b:client-id>`);
  if (headers.requestId !== undefined) blocks.push(`<b:request-id>${escapeText(headers.requestId)}</b:request-id>`);
  const header = blocks.length > 0 ? `<soap:Header>${blocks.join('')}</soap:Header>` : '';
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}">${header}` +
    `<soap:Body><b:${operation}>${renderPairs(pairs)}</b:${operation}></soap:Body></soap:Envelope>`
  );
}

/** POST any body to a URL and collect the answer as text. Rejects on timeout or a network error. */
export function postRaw(
  url: string,
  body: string | Buffer,
  httpHeaders: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<RawResponse> {
  const target = new URL(url);
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return new Promise<RawResponse>((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: 'POST',
        headers: {
          'content-type': SOAP_CONTENT_TYPE,
          'content-length': String(payload.length),
          ...httpHeaders,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > RESPONSE_BYTES_MAX) {
            req.destroy(new Error(`response larger than ${RESPONSE_BYTES_MAX} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            httpStatus: res.statusCode ?? 0,
            headers: res.headers,
            raw: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(payload);
  });
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && '_' in value) return String(value._);
  return undefined;
}

/** Parses a SOAP response into the body element's content or the fault. Throws on non-SOAP. */
export async function parseBankResponse(httpStatus: number, raw: string): Promise<BankCallResult> {
  const parsed = (await parseStringPromise(raw, {
    explicitArray: false,
    ignoreAttrs: true,
    tagNameProcessors: [processors.stripPrefix],
    emptyTag: '',
  })) as { Envelope?: { Body?: Record<string, unknown> } };
  const bodyElement = parsed.Envelope?.Body;
  if (bodyElement === undefined || typeof bodyElement !== 'object') {
    throw new Error(`not a SOAP envelope (HTTP ${httpStatus}): ${raw.slice(0, 500)}`);
  }
  const fault = bodyElement['Fault'] as Record<string, unknown> | undefined;
  if (fault !== undefined) {
    const detail = (fault['detail'] ?? {}) as Record<string, unknown>;
    const inner = (detail['BankFault'] ?? detail['DataFault'] ?? {}) as Record<string, unknown>;
    const accountId = asText(inner['accountId']);
    const retryAfter = asText(inner['retryAfterMs']);
    return {
      httpStatus,
      raw,
      fault: {
        faultcode: asText(fault['faultcode']) ?? '',
        faultstring: asText(fault['faultstring']) ?? '',
        code: asText(inner['code']) ?? '',
        message: asText(inner['message']) ?? '',
        ...(accountId === undefined ? {} : { accountId }),
        retryable: asText(inner['retryable']) === 'true',
        ...(retryAfter === undefined ? {} : { retryAfterMs: Number(retryAfter) }),
      },
    };
  }
  const [first] = Object.values(bodyElement);
  const body = (typeof first === 'object' && first !== null ? first : {}) as BankRecord;
  return { httpStatus, raw, body };
}

/** Calls one bank operation. Resolves with the body or the fault; rejects on network errors. */
export async function callBank(
  url: string,
  operation: string,
  args: BankArgs,
  headers: BankHeaders,
  options: BankCallOptions,
): Promise<BankCallResult> {
  const action = options.soapAction === undefined ? soapAction(BANK_NAMESPACE, operation) : options.soapAction;
  const httpHeaders: Record<string, string> = { ...(options.httpHeaders ?? {}) };
  if (action !== null) httpHeaders['soapaction'] = `"${action}"`;
  const response = await postRaw(url, bankEnvelope(operation, args, headers), httpHeaders, options.timeoutMs);
  return parseBankResponse(response.httpStatus, response.raw);
}

/** A repeated response element as an array whether it came once, many times or not at all. */
export function asList(value: BankValue | undefined): BankValue[] {
  if (value === undefined || value === '') return [];
  return Array.isArray(value) ? value : [value];
}
