import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as soap from 'soap';
import type { Logger } from './logger';
import { readRequestBody } from './request-body';
import { scanEnvelope } from './soap-envelope-scan';
import { FAULT_HTTP_STATUS, faultEnvelope, FaultFields } from './soap-fault';
import { fault, isServiceFault, ServiceFault } from './service-fault';

/**
 * The SOAP edge shared by the data server and the business servers: node-soap on a plain
 * http.Server (twice the rate of express here), behind a guard that does what node-soap does
 * not: a body limit (also after gzip), refusal of DTDs and prototype-touching names, SOAPAction
 * checked against the body, authentication even without a soap:Header, a request id, one log
 * line per operation, and every error turned into a registry fault with HTTP 500.
 */
export interface OperationContext {
  /** SOAP header block request-id, else HTTP header request-id, else generated. */
  readonly requestId: string;
  /** True when the request id came from the caller (SOAP header or HTTP header). */
  readonly requestIdGiven: boolean;
  /** The authenticated client-id or business-id. */
  readonly principalId: string;
  readonly logger: Logger;
  /** Adds fields (accounts, amount, …) to the one log line of this operation. */
  annotate(fields: Readonly<Record<string, unknown>>): void;
}

/**
 * `args` is what node-soap parsed from the body element: every leaf is TEXT (decimals, longs,
 * ints, booleans, dateTimes stay strings: see CUSTOM_DESERIALIZER), trimmed (xsd whitespace
 * collapse); an element declared with maxOccurs > 1 is ALWAYS an array, even when it appears
 * once; an absent optional element is absent. Validate everything: node-soap validates nothing.
 */
export type OperationHandler = (args: Record<string, unknown>, ctx: OperationContext) => Promise<Record<string, unknown>>;

export interface SoapServiceOptions {
  readonly service: string;
  readonly wsdlPath: string;
  readonly path: string;
  readonly namespace: string;
  readonly faultElement: string;
  readonly principalHeader: 'client-id' | 'business-id';
  readonly credentials: { verify(id: string | undefined, token: string | undefined): boolean };
  readonly operations: Readonly<Record<string, OperationHandler>>;
  readonly bodyBytesMax: number;
  readonly logger: Logger;
  /** URL written into soap:address of `?wsdl`; default: the URL this server listens on. */
  readonly publicUrl?: string | undefined;
  readonly health?: () => Promise<Record<string, unknown>>;
  /** Longest request-id accepted (bank.wsdl: 64). */
  readonly requestIdCharsMax?: number;
}

export interface SoapServer {
  readonly url: string;
  readonly server: http.Server;
  close(): Promise<void>;
}

/** Explicit HTTP server limits (node's defaults are not ours to rely on). */
export const HTTP_LIMITS = Object.freeze({
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 65_000,
  maxHeaderBytes: 16 * 1024,
  maxRequestsPerSocket: 0,
});

const REQUEST_ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;
const CONTENT_TYPE_XML = 'text/xml; charset=utf-8';
/** node-soap turns xsd:int/long/decimal/boolean/dateTime into JS values; we keep the text. */
const KEEP_TEXT = (text: string): string => text;
const CUSTOM_DESERIALIZER = Object.freeze(Object.fromEntries(
  ['int', 'integer', 'short', 'long', 'double', 'float', 'decimal', 'bool', 'boolean', 'dateTime', 'date']
    .map((name) => [name, KEEP_TEXT]),
));

interface RequestState {
  ctx: OperationContext;
  operation: string;
  fields: Record<string, unknown>;
  startedAtMs: number;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

export async function startSoapServer(options: SoapServiceOptions, host: string, port: number): Promise<SoapServer> {
  const wsdlText = readFileSync(options.wsdlPath, 'utf8');
  const states = new WeakMap<http.IncomingMessage, RequestState>();
  const requestIdCharsMax = options.requestIdCharsMax ?? 128;
  const { logger } = options;

  const server = http.createServer({
    requestTimeout: HTTP_LIMITS.requestTimeoutMs,
    headersTimeout: HTTP_LIMITS.headersTimeoutMs,
    keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
    maxHeaderSize: HTTP_LIMITS.maxHeaderBytes,
  });

  function log(state: RequestState | undefined, outcome: string, extra: Record<string, unknown> = {}): void {
    const level = outcome === 'INTERNAL_ERROR' ? 'error' : 'info';
    logger.log(level, 'operation', {
      request_id: state?.ctx.requestId,
      principal: state?.ctx.principalId,
      operation: state?.operation,
      ...state?.fields,
      ...extra,
      outcome,
      duration_ms: state ? Date.now() - state.startedAtMs : undefined,
    });
  }

  function sendFault(res: http.ServerResponse, fields: FaultFields): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = faultEnvelope(fields, options.namespace, options.faultElement);
    res.writeHead(FAULT_HTTP_STATUS, { 'Content-Type': CONTENT_TYPE_XML, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  /** Operating errors become their fault; anything else INTERNAL_ERROR, with details only in the log. */
  function sendError(res: http.ServerResponse, state: RequestState | undefined, error: unknown): void {
    if (isServiceFault(error)) {
      log(state, error.code, { message: error.message });
      sendFault(res, error);
      return;
    }
    log(state, 'INTERNAL_ERROR', { error: error instanceof Error ? error.stack ?? error.message : String(error) });
    sendFault(res, { code: 'INTERNAL_ERROR', message: `internal error; quote request id ${state?.ctx.requestId ?? 'unknown'}` });
  }

  function wrap(operation: string, handler: OperationHandler) {
    // node-soap calls (args, callback, headers, req, res); we answer faults ourselves so that
    // every fault has one shape, and resolve successes through node-soap's serializer.
    return (args: unknown, _callback: unknown, _headers: unknown, req: http.IncomingMessage, res: http.ServerResponse) => {
      const state = states.get(req);
      if (state === undefined) {
        sendError(res, undefined, new Error('request reached node-soap without passing the guard'));
        return new Promise(() => undefined);
      }
      const input = (args !== null && typeof args === 'object' ? args : {}) as Record<string, unknown>;
      return handler(input, state.ctx).then(
        (result) => {
          log(state, 'ok');
          return result;
        },
        (error: unknown) => {
          sendError(res, state, error);
          return new Promise(() => undefined); // never settles: the fault is already sent
        },
      );
    };
  }

  const portOps: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(options.operations)) portOps[name] = wrap(name, handler);

  // node-soap installs its listener only once the WSDL is parsed: wait for the callback.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host}:${address.port}${options.path}`;
  const servicesDef = await describeServices(wsdlText);
  const soapServer = await new Promise<soap.Server>((resolve, reject) => {
    const s = soap.listen(server, {
      path: options.path,
      services: { [servicesDef.service]: { [servicesDef.port]: portOps } },
      xml: wsdlText,
      customDeserializer: CUSTOM_DESERIALIZER,
      callback: (err: unknown) => (err ? reject(err) : resolve(s)),
    } as unknown as soap.IServerOptions);
  });
  soapServer.log = () => undefined;
  const soapListeners = server.listeners('request') as Array<(req: http.IncomingMessage, res: http.ServerResponse) => void>;
  server.removeAllListeners('request');
  const soapListener = soapListeners[0];
  if (soapListener === undefined) throw new Error('node-soap installed no request listener');

  const servedWsdl = wsdlText.replace(/(<soap:address\s+location=")[^"]*(")/, `$1${options.publicUrl ?? url}$2`);
  const operationNames = new Set(Object.keys(options.operations));

  async function handleSoapPost(req: http.IncomingMessage, res: http.ServerResponse, startedAtMs: number): Promise<void> {
    const body = await readRequestBody(req, options.bodyBytesMax);
    const scan = scanEnvelope(body);
    const operation = scan.bodyElementName;
    if (scan.bodyElementNs !== options.namespace || !operationNames.has(operation)) {
      throw fault('INVALID_REQUEST', `unknown operation {${scan.bodyElementNs}}${operation}`);
    }
    const soapAction = unquote(firstHeader(req.headers.soapaction) ?? '');
    if (soapAction !== '' && soapAction !== `${options.namespace}#${operation}`) {
      throw fault('INVALID_REQUEST', `SOAPAction ${JSON.stringify(soapAction)} does not match the body's operation ${operation}`);
    }
    const given = scan.headerBlocks.get('request-id') ?? firstHeader(req.headers['request-id']);
    if (given !== undefined && (given.length > requestIdCharsMax || !REQUEST_ID_PATTERN.test(given))) {
      throw fault('INVALID_REQUEST', `request-id must be 1..${requestIdCharsMax} characters of [A-Za-z0-9_.:-]`);
    }
    const requestId = given ?? randomUUID();
    const principalId = scan.headerBlocks.get(options.principalHeader) ?? firstHeader(req.headers[options.principalHeader]);
    const token = scan.headerBlocks.get('auth-token') ?? firstHeader(req.headers['auth-token']);
    const fields: Record<string, unknown> = {};
    const state: RequestState = {
      operation,
      fields,
      startedAtMs,
      ctx: {
        requestId,
        requestIdGiven: given !== undefined,
        principalId: principalId ?? '',
        logger,
        annotate: (more) => Object.assign(fields, more),
      },
    };
    if (!options.credentials.verify(principalId, token)) {
      const failure = fault('AUTHENTICATION_FAILED', `missing or wrong auth-token / ${options.principalHeader}`);
      log({ ...state, ctx: { ...state.ctx, principalId: '' } }, failure.code);
      sendFault(res, failure);
      return;
    }
    states.set(req, state);
    (req as http.IncomingMessage & { body?: string }).body = body;
    soapListener!.call(server, req, res);
  }

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const startedAtMs = Date.now();
    const target = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && target.pathname === '/health') {
      void (options.health ? options.health() : Promise.resolve({})).then(
        (extra) => sendJson(res, 200, { status: 'ok', service: options.service, ...extra }),
        () => sendJson(res, 503, { status: 'unhealthy', service: options.service }),
      );
      return;
    }
    if (target.pathname !== options.path) {
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    if (req.method === 'GET' && (target.search === '?wsdl' || target.search === '?WSDL')) {
      res.writeHead(200, { 'Content-Type': CONTENT_TYPE_XML, 'Content-Length': Buffer.byteLength(servedWsdl) });
      res.end(servedWsdl);
      return;
    }
    if (req.method !== 'POST') {
      sendFault(res, { code: 'INVALID_REQUEST', message: 'use POST for SOAP calls, GET ?wsdl for the contract' });
      return;
    }
    handleSoapPost(req, res, startedAtMs).catch((error: unknown) => sendError(res, undefined, error));
  });

  return {
    url,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The WSDL's service and port names, which node-soap needs to route calls to our handlers. */
async function describeServices(wsdlText: string): Promise<{ service: string; port: string }> {
  const service = /<wsdl:service\s+name="([^"]+)"/.exec(wsdlText)?.[1];
  const port = /<wsdl:port\s+name="([^"]+)"/.exec(wsdlText)?.[1];
  if (service === undefined || port === undefined) throw new Error('WSDL names no service/port');
  return { service, port };
}

export { ServiceFault };
