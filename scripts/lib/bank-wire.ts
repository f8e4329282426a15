import { HttpLiteClient } from '../../common/http-lite';
import { BANK_NAMESPACE, SOAP11_ENVELOPE_NS, SOAP_CONTENT_TYPE, soapActionHeader } from '../../common/contract';
import { xmlText } from '../../common/xml-writer';

/**
 * A lean raw-SOAP client for bank.wsdl, for the launcher, the chaos tool and the benchmark:
 * envelopes built by string concatenation, the tiers' small keep-alive client
 * (common/http-lite.ts; on the load generator it leaves more of a shared machine to the bank),
 * answers read with a small regex on leaf elements (no XML parser on the load generator's hot
 * path). Tests that need a strict parse use test/helpers/bank-call.ts instead.
 */
const RESPONSE_BYTES_MAX = 4 * 1024 * 1024;
/** Idle sockets are closed after this, below the servers' keep-alive timeout (5 s). */
const IDLE_SOCKET_MS = 4000;

/** What we send must be XML 1.0 text: a character the server's reader would refuse is refused here. */
const text = (value: string): string => xmlText(value, 'refuse');

export interface Caller {
  readonly clientId: string;
  readonly authToken: string;
}

export interface WireOptions {
  readonly socketsMax: number;
  readonly timeoutMs: number;
}

export interface WireResult {
  readonly httpStatus: number;
  /** The BankFault code when the answer is a fault. */
  readonly faultCode?: string;
  readonly raw: string;
}

export function envelope(
  operation: string,
  args: readonly (readonly [string, string])[],
  caller: Caller,
  requestId?: string,
): string {
  let header = `<b:auth-token>${text(caller.authToken)}</b:auth-token><b:client-id>${text(caller.clientId)}</b:client-id>`;
  if (requestId !== undefined) header += `<b:request-id>${text(requestId)}</b:request-id>`;
  let body = '';
  for (const [name, value] of args) body += `<b:${name}>${text(value)}</b:${name}>`;
  return (
    `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}"><soap:Header>${header}</soap:Header>` +
    `<soap:Body><b:${operation}>${body}</b:${operation}></soap:Body></soap:Envelope>`
  );
}

const leafPatterns = new Map<string, RegExp>();

/** The text of the first element with this local name (any prefix), or undefined. */
export function leafText(raw: string, name: string): string | undefined {
  let re = leafPatterns.get(name);
  if (re === undefined) {
    re = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${name}(?:\\s[^>]*)?>([^<]*)</`);
    leafPatterns.set(name, re);
  }
  const m = re.exec(raw);
  return m?.[1];
}

/** The text of every element with this local name, in document order. */
export function allLeafTexts(raw: string, name: string): string[] {
  const re = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${name}(?:\\s[^>]*)?>([^<]*)</`, 'g');
  return [...raw.matchAll(re)].map((m) => m[1] ?? '');
}

export class BankWire {
  private readonly http: HttpLiteClient;

  constructor(
    url: string,
    private readonly options: WireOptions,
  ) {
    const target = new URL(url);
    if (target.protocol !== 'http:') throw new Error(`the bank wire speaks http:// only, not ${url}`);
    this.http = new HttpLiteClient(
      {
        host: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port === '' ? 80 : Number(target.port),
        socketsMax: options.socketsMax,
        idleSocketMs: IDLE_SOCKET_MS,
        responseBytesMax: RESPONSE_BYTES_MAX,
      },
      target.pathname + target.search,
      `Content-Type: ${SOAP_CONTENT_TYPE}\r\n`,
    );
  }

  /** One call. Resolves with the answer (success or fault); rejects on network errors and timeouts. */
  async call(
    operation: string,
    args: readonly (readonly [string, string])[],
    caller: Caller,
    requestId?: string,
  ): Promise<WireResult> {
    const response = await this.http.post(
      `SOAPAction: ${soapActionHeader(BANK_NAMESPACE, operation)}\r\n`,
      envelope(operation, args, caller, requestId),
      this.options.timeoutMs,
    );
    const raw = response.body.toString('utf8');
    const code = response.status === 200 ? undefined : leafText(raw, 'code');
    return code === undefined
      ? { httpStatus: response.status, raw }
      : { httpStatus: response.status, faultCode: code, raw };
  }

  /** Like call, but a fault or a non-200 answer rejects with the code in the message. */
  async ok(
    operation: string,
    args: readonly (readonly [string, string])[],
    caller: Caller,
    requestId?: string,
  ): Promise<string> {
    const r = await this.call(operation, args, caller, requestId);
    if (r.httpStatus !== 200 || r.faultCode !== undefined) {
      throw new Error(
        `${operation} failed: HTTP ${r.httpStatus} ${r.faultCode ?? ''} ${leafText(r.raw, 'message') ?? r.raw.slice(0, 300)}`,
      );
    }
    return r.raw;
  }

  close(): void {
    this.http.close();
  }
}
