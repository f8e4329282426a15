import http from 'node:http';
import { BANK_NAMESPACE, SOAP11_ENVELOPE_NS, SOAP_CONTENT_TYPE, soapActionHeader } from '../../common/contract';
import { xmlText } from '../../common/xml-writer';

/**
 * A lean raw-SOAP client for bank.wsdl, for the launcher and the benchmark: envelopes built by
 * string concatenation, one keep-alive agent with bounded sockets, answers read with a small
 * regex on leaf elements (no XML parser on the load generator's hot path). Tests that need a
 * strict parse use test/helpers/bank-call.ts instead.
 */
const RESPONSE_BYTES_MAX = 4 * 1024 * 1024;

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
  private readonly agent: http.Agent;
  private readonly target: URL;

  constructor(
    url: string,
    private readonly options: WireOptions,
  ) {
    this.target = new URL(url);
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: options.socketsMax,
      maxFreeSockets: options.socketsMax,
      timeout: 4000,
    });
  }

  /** One call. Resolves with the answer (success or fault); rejects on network errors and timeouts. */
  call(
    operation: string,
    args: readonly (readonly [string, string])[],
    caller: Caller,
    requestId?: string,
  ): Promise<WireResult> {
    const payload = Buffer.from(envelope(operation, args, caller, requestId), 'utf8');
    return new Promise<WireResult>((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          host: this.target.hostname,
          port: this.target.port,
          path: this.target.pathname,
          method: 'POST',
          headers: {
            'content-type': SOAP_CONTENT_TYPE,
            soapaction: soapActionHeader(BANK_NAMESPACE, operation),
            'content-length': payload.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > RESPONSE_BYTES_MAX) req.destroy(new Error('response too large'));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            clearTimeout(timer);
            const raw = Buffer.concat(chunks, bytes).toString('utf8');
            const status = res.statusCode ?? 0;
            const code = status === 200 ? undefined : leafText(raw, 'code');
            resolve(code === undefined ? { httpStatus: status, raw } : { httpStatus: status, faultCode: code, raw });
          });
          res.on('error', reject);
        },
      );
      const timer = setTimeout(
        () => req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(payload);
    });
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
    this.agent.destroy();
  }
}
