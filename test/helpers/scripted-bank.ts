/**
 * A real HTTP server on 127.0.0.1 (port 0) that plays the bank service from a script: the n-th
 * request is answered by the n-th responder (the last one repeats). For clients' unit tests
 * (test/client-ts-unit.test.ts) and for driving both CLIs through the same answers
 * (test/cli-parity.test.ts).
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { BANK_NAMESPACE, SOAP11_ENVELOPE_NS, SOAP_CONTENT_TYPE } from '../../common/contract';
import { FAULT_CODES, FaultCode } from '../../common/fault-codes';

export interface Seen {
  readonly soapAction: string | undefined;
  readonly body: string;
}
export type Responder = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export class ScriptedServer {
  readonly seen: Seen[] = [];
  private readonly server: Server;
  private responders: Responder[] = [];

  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const soapAction = req.headers['soapaction'];
        this.seen.push({ soapAction: Array.isArray(soapAction) ? soapAction[0] : soapAction, body });
        const responder = this.responders[Math.min(this.seen.length, this.responders.length) - 1];
        if (responder === undefined) throw new Error('no responder scripted');
        responder(req, res, body);
      });
    });
  }

  script(...responders: Responder[]): this {
    this.responders = responders;
    this.seen.length = 0;
    return this;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/bank`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function envelope(body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Body>${body}</soap:Body></soap:Envelope>`;
}

export function okResponse(element: string, fields: Record<string, string>): Responder {
  const inner = Object.entries(fields)
    .map(([k, v]) => `<b:${k}>${v}</b:${k}>`)
    .join('');
  return (_req, res) => {
    res.writeHead(200, { 'content-type': SOAP_CONTENT_TYPE });
    res.end(envelope(`<b:${element} xmlns:b="${BANK_NAMESPACE}">${inner}</b:${element}>`));
  };
}

/** A BankFault as the business tier sends it (faultcode and retryable from the registry). */
export function faultResponse(code: FaultCode, message: string, accountId?: string): Responder {
  const info = FAULT_CODES[code];
  return (_req, res) => {
    res.writeHead(500, { 'content-type': SOAP_CONTENT_TYPE });
    res.end(
      envelope(
        `<soap:Fault><faultcode>soap:${info.soapFaultCode}</faultcode><faultstring>${message}</faultstring><detail>` +
          `<b:BankFault xmlns:b="${BANK_NAMESPACE}"><b:code>${code}</b:code><b:message>${message}</b:message>` +
          (accountId === undefined ? '' : `<b:accountId>${accountId}</b:accountId>`) +
          `<b:retryable>${String(info.retryable)}</b:retryable></b:BankFault></detail></soap:Fault>`,
      ),
    );
  };
}

export const dropConnection: Responder = (req) => req.socket.destroy();
export const neverAnswer: Responder = () => undefined;

/** The request-id header block of a request body (either client's prefix). */
export function requestIdOf(body: string): string {
  const match = /<(?:[A-Za-z_][\w.-]*:)?request-id[^>]*>([^<]*)</.exec(body);
  if (match?.[1] === undefined) throw new Error(`no request-id in ${body}`);
  return match[1];
}
