import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { AdminAuth, NO_ADMIN } from './admin-auth';
import { HealthReport, isHealthRequest, NOT_READY_HEADER, serveHealth } from './health';
import { ConnectionGuard } from './connection-guard';
import { ConnectionLimits, SOAP_CONNECTION_DEFAULTS } from './connection-limits';
import { SOAP_CONTENT_TYPE, soapAction } from './contract';
import type { Logger } from './logger';
import { readRequestBody } from './request-body';
import { isRequestId, requestIdRule } from './request-id';
import { MustUnderstandFault, readEnvelope } from './soap-envelope';
import { listenOn } from './listen';
import { describeService, OperationShape, readArguments, responseEnvelope, ServiceShape } from './soap-message';
import { FAULT_HTTP_STATUS, faultEnvelope, FaultFields, mustUnderstandEnvelope } from './soap-fault';
import { fault, isServiceFault, ServiceFault } from './service-fault';
import { handleAdminRoute } from './admin-routes';
import type { SoapObserver } from './soap-observer';
import { TraceContext, traceContextOf } from './trace-ring';
import { BatchRunner, BatchSpec, batchCalls, runBatch } from './soap-batch';

/**
 * The SOAP edge shared by the data server and the business servers, on a plain http.Server
 * (twice the rate of express here). node-soap reads the WSDL once at start (common/soap-message.ts:
 * operation shapes); per request, a strict reader and a schema-ordered writer of our own do
 * the XML (node-soap's parse + serialize were 3/4 of a data-tier call's CPU). Around that: a
 * body limit (also after gzip), refusal of DTDs and undeclared elements, SOAPAction checked
 * against the body, authentication even without a soap:Header, a request id, one log line per
 * operation, and every error turned into a registry fault with HTTP 500.
 */
export interface OperationContext {
  /** SOAP header block request-id, else HTTP header request-id, else generated. */
  readonly requestId: string;
  /** True when the request id came from the caller (SOAP header or HTTP header). */
  readonly requestIdGiven: boolean;
  /** The authenticated client-id or business-id. */
  readonly principalId: string;
  readonly logger: Logger;
  /** W3C trace context of this operation (continued from the caller's traceparent, or new). */
  readonly trace: TraceContext;
  /** Adds fields (accounts, amount, …) to the one log line of this operation. */
  annotate(fields: Readonly<Record<string, unknown>>): void;
  /** Replaces how this request's answer or fault leaves (fault injection: dropped, reset, dribbled). */
  deliverWith(delivery: Delivery): void;
}

/** Sends a complete answer (status, XML body) on res; the default writes it at once. */
export type Delivery = (res: http.ServerResponse, status: number, body: string) => void;

/**
 * `args` is the body element read by common/soap-message.ts: every leaf is TEXT (decimals,
 * longs, ints, booleans, dateTimes stay strings), trimmed (xsd whitespace collapse); an element
 * declared with maxOccurs > 1 is ALWAYS an array, even when it appears once; an absent optional
 * element is absent; an undeclared element was already refused. Validate every value.
 * The result is written in the schema's element order; undefined fields are omitted.
 */
export type OperationHandler = (
  args: Record<string, unknown>,
  ctx: OperationContext,
) => Promise<Record<string, unknown>>;

export interface SoapServiceOptions {
  readonly service: string;
  readonly wsdlPath: string;
  /** The contract as served and used, when it differs from the file (business: the configured amount maximum). */
  readonly wsdlText?: string;
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
  /** GET /health (common/health.ts): public liveness; the details only for the admin. */
  readonly health?: () => Promise<HealthReport>;
  /** Who may see the /health details; default nobody. */
  readonly admin?: AdminAuth;
  /**
   * True while this server cannot serve (a business server whose credentials the data tier
   * refuses): its faults then go out with HTTP 503, telling a balancer that nothing was done
   * here and the request may go to another server.
   */
  readonly notReady?: () => boolean;
  /** Longest request-id accepted (bank.wsdl: 64). */
  readonly requestIdCharsMax?: number;
  /** Another HTTP route of this server (the business server's /admin/faults): true when it took the request. */
  readonly extraRoute?: (req: http.IncomingMessage, res: http.ServerResponse, pathname: string) => boolean;
  /** Client connection bounds and deadlines; default SOAP_CONNECTION_DEFAULTS (common/connection-limits.ts). */
  readonly connections?: ConnectionLimits;
  /** Metrics + trace ring of each operation, served at /metrics and /admin/* to the admin (common/soap-observer.ts). */
  readonly observer?: SoapObserver;
  /** The WSDL's batch operation, if it has one (data.wsdl: Batch of Lock / Update / Unlock; common/soap-batch.ts). */
  readonly batch?: BatchSpec;
}

export interface SoapServer {
  readonly url: string;
  readonly server: http.Server;
  /**
   * Stops accepting, lets requests in flight finish for up to drainMs, then closes every
   * connection. Keep-alive connections are closed as soon as they go idle, so a busy one does
   * not hold the close open until its keep-alive timeout.
   */
  close(drainMs?: number): Promise<void>;
}

/** Default bound on how long close() waits for requests in flight. */
export const DRAIN_MS_DEFAULT = 5_000;
/** How often a draining server closes connections that went idle. */
const DRAIN_SWEEP_MS = 50;

/** Largest request head accepted (node's maxHeaderSize; past it, 431). */
export const HEADER_BYTES_MAX = 16 * 1024;

/** The status of a fault from a server that is not ready (see SoapServiceOptions.notReady). */
const NOT_READY_HTTP_STATUS = 503;
const HEALTH_OK = (): HealthReport => ({ status: 'ok' });

/**
 * What the one log line of a request says, filled in as the request is read: a refusal before
 * authentication still names the caller's (or the balancer's) request id and the claimed id.
 */
interface RequestState {
  /** Only a well-formed id: a malformed one is refused, not logged. */
  requestId: string | undefined;
  /** The client-id / business-id the caller sent, authenticated or not. */
  claimedPrincipal: string | undefined;
  operation: string | undefined;
  ctx: OperationContext | undefined;
  delivery: Delivery | undefined;
  readonly fields: Record<string, unknown>;
  readonly startedAtMs: number;
}

/** A claimed id is the caller's text: bounded before it reaches a log line (which escapes it). */
const CLAIMED_ID_LOG_CHARS_MAX = 128;

function claimedForLog(id: string | undefined): string | undefined {
  return id === undefined || id.length <= CLAIMED_ID_LOG_CHARS_MAX ? id : `${id.slice(0, CLAIMED_ID_LOG_CHARS_MAX)}…`;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** One SOAP server's parts, shared by the functions that serve its requests. */
interface SoapHost {
  readonly options: SoapServiceOptions;
  readonly shape: ServiceShape;
  readonly guard: ConnectionGuard;
  readonly requestIdCharsMax: number;
  /** requestTarget(options.path), parsed once: the target of every SOAP call. */
  readonly serviceTarget: URL | undefined;
  /** The handlers, the batch operation's included. */
  readonly operations: Readonly<Record<string, OperationHandler>>;
  /** The WSDL with soap:address set to the public URL, once it is known (after listen). */
  servedWsdl: string;
}

export async function startSoapServer(options: SoapServiceOptions, host: string, port: number): Promise<SoapServer> {
  const wsdlText = options.wsdlText ?? readFileSync(options.wsdlPath, 'utf8');
  const shape = await describeService(wsdlText);
  for (const name of [...Object.keys(options.operations), ...(options.batch ? [options.batch.operation] : [])]) {
    if (!shape.operations.has(name)) throw new Error(`${options.wsdlPath} has no operation ${name}`);
  }
  const server = http.createServer({ maxHeaderSize: HEADER_BYTES_MAX });
  const guard = new ConnectionGuard(
    server,
    options.connections ?? SOAP_CONNECTION_DEFAULTS,
    (code, message) => faultEnvelope({ code, message }, options.namespace, options.faultElement),
    options.logger,
  );
  const soapHost: SoapHost = {
    options,
    shape,
    guard,
    requestIdCharsMax: options.requestIdCharsMax ?? 128,
    serviceTarget: requestTarget(options.path),
    operations: withBatch(options, () => batchRunner(soapHost)),
    servedWsdl: '',
  };
  const url = `http://${host}:${await listenOn(server, port, host)}${options.path}`;
  soapHost.servedWsdl = wsdlText.replace(/(<soap:address\s+location=")[^"]*(")/, `$1${options.publicUrl ?? url}$2`);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    route(soapHost, req, res);
  });
  return { url, server, close: (drainMs = DRAIN_MS_DEFAULT) => closeServer(server, drainMs) };
}

/** Accept: every request is admitted by the connection guard, then routed by method and path. */
function route(host: SoapHost, req: http.IncomingMessage, res: http.ServerResponse): void {
  const { options, guard } = host;
  if (!guard.admit(req, res)) return;
  const startedAtMs = Date.now();
  // The service path itself, every SOAP call's target, is parsed once (WHATWG URL parsing was
  // ~1 % of a tier's CPU); any other target is parsed as it comes.
  const target = req.url === options.path ? host.serviceTarget : requestTarget(req.url);
  if (target === undefined) {
    // A request target that is not a URL (e.g. `GET http://[`) must not reach the throw.
    sendJson(res, 400, { error: 'bad request target' });
    return;
  }
  const admin = options.admin ?? NO_ADMIN;
  if (isHealthRequest(req.method, target.pathname)) {
    void serveHealth(req, res, options.service, admin, () => withConnections(options.health ?? HEALTH_OK, guard));
    return;
  }
  if (options.extraRoute?.(req, res, target.pathname) === true) return;
  const adminEndpoints = options.observer?.endpoints(admin);
  if (adminEndpoints && handleAdminRoute(req, res, target.pathname, target.search.slice(1), adminEndpoints)) return;
  if (target.pathname !== options.path) {
    sendJson(res, 404, { error: 'not found' });
    return;
  }
  if (req.method === 'GET' && (target.search === '?wsdl' || target.search === '?WSDL')) {
    sendXml(res, 200, host.servedWsdl);
    return;
  }
  if (req.method !== 'POST') {
    sendFault(host, res, { code: 'INVALID_REQUEST', message: 'use POST for SOAP calls, GET ?wsdl for the contract' });
    return;
  }
  options.observer?.begin();
  const state = firstState(host, req, startedAtMs);
  handleSoapPost(host, req, res, state).catch((error: unknown) => {
    sendError(host, res, state, error);
  });
}

/** The request target as a URL against a dummy origin; undefined if it is not one. */
function requestTarget(text: string | undefined): URL | undefined {
  try {
    return new URL(text ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/** A POST: read the envelope, route it to its operation, authenticate, run it and answer. */
async function handleSoapPost(
  host: SoapHost,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  state: RequestState,
): Promise<void> {
  const { options } = host;
  const body = await readRequestBody(req, options.bodyBytesMax);
  const request = readEnvelope(body, { namespace: options.namespace, headers: host.shape.headers });
  state.claimedPrincipal = request.headerBlocks.get(options.principalHeader) ?? state.claimedPrincipal;
  const { handler, opShape } = routeOperation(host, req, request.body, state);
  state.ctx = authenticate(host, req, request.headerBlocks, state);
  const args = readArguments(request.body, opShape.input, options.namespace);
  const result = await handler(args, state.ctx);
  const xml = responseEnvelope(opShape, options.namespace, result);
  log(host, state, 'ok');
  sendXml(res, 200, xml, state.delivery);
}

/** Route: the body's element names a declared operation of ours, and SOAPAction (if any) agrees. */
function routeOperation(
  host: SoapHost,
  req: http.IncomingMessage,
  body: { readonly ns: string; readonly name: string },
  state: RequestState,
): { handler: OperationHandler; opShape: OperationShape } {
  const { namespace } = host.options;
  const { operations } = host;
  const operation = body.name;
  const handler = Object.prototype.hasOwnProperty.call(operations, operation) ? operations[operation] : undefined;
  const opShape = host.shape.operations.get(operation);
  if (body.ns !== namespace || handler === undefined || opShape === undefined) {
    throw fault('INVALID_REQUEST', `unknown operation {${body.ns}}${operation}`);
  }
  state.operation = operation;
  const action = unquote(firstHeader(req.headers.soapaction) ?? '');
  if (action !== '' && action !== soapAction(namespace, operation)) {
    throw fault(
      'INVALID_REQUEST',
      `SOAPAction ${JSON.stringify(action)} does not match the body's operation ${operation}`,
    );
  }
  return { handler, opShape };
}

/**
 * Authenticate: the request id (header block, else HTTP header, else a fresh one) is settled
 * first, so that a refusal is logged under it; then the principal's token is checked.
 */
function authenticate(
  host: SoapHost,
  req: http.IncomingMessage,
  headerBlocks: ReadonlyMap<string, string>,
  state: RequestState,
): OperationContext {
  const { options } = host;
  const given = headerBlocks.get('request-id') ?? firstHeader(req.headers['request-id']);
  if (given !== undefined && !isRequestId(given, host.requestIdCharsMax)) {
    throw fault('INVALID_REQUEST', requestIdRule(host.requestIdCharsMax));
  }
  const requestId = given ?? randomUUID();
  state.requestId = requestId;
  const principalId = state.claimedPrincipal;
  const token = headerBlocks.get('auth-token') ?? firstHeader(req.headers['auth-token']);
  if (!options.credentials.verify(principalId, token)) {
    throw fault('AUTHENTICATION_FAILED', `missing or wrong auth-token / ${options.principalHeader}`);
  }
  const fields = state.fields;
  return {
    requestId,
    requestIdGiven: given !== undefined,
    principalId: principalId ?? '',
    logger: options.logger,
    trace: traceContextOf(req.headers.traceparent),
    annotate: (more) => Object.assign(fields, more),
    deliverWith: (delivery) => {
      state.delivery = delivery;
    },
  };
}

/**
 * The service's handlers, and the batch operation's (which runs the others) if it has one. The
 * runner is made on the first batch and kept: it needs the host, which is not built yet when its
 * handlers are; it holds no state of a request, so every batch shares it.
 */
function withBatch(
  options: SoapServiceOptions,
  makeRunner: () => BatchRunner,
): Readonly<Record<string, OperationHandler>> {
  const spec = options.batch;
  if (spec === undefined) return options.operations;
  let runner: BatchRunner | undefined;
  const batch: OperationHandler = (args, ctx) => {
    const calls = batchCalls(spec, args);
    ctx.annotate({ calls: calls.length });
    spec.onBatch?.(calls.length);
    runner ??= makeRunner();
    return runBatch(runner, calls, ctx);
  };
  return Object.freeze({ ...options.operations, [spec.operation]: batch });
}

/** A batch's calls: each with its own context, log line, metrics and trace entry, under the envelope's principal. */
function batchRunner(host: SoapHost): BatchRunner {
  return {
    operations: host.options.operations,
    begin: (call, envelope) => {
      host.options.observer?.begin();
      const state: RequestState = {
        requestId: call.requestId,
        claimedPrincipal: envelope.principalId,
        operation: call.operation,
        ctx: undefined,
        delivery: undefined,
        fields: {},
        startedAtMs: Date.now(),
      };
      const ctx: OperationContext = {
        requestId: call.requestId,
        requestIdGiven: true,
        principalId: envelope.principalId,
        logger: envelope.logger,
        trace: call.trace,
        annotate: (more) => Object.assign(state.fields, more),
        deliverWith: () => {
          throw new Error('a call in a batch cannot choose how its answer leaves');
        },
      };
      state.ctx = ctx;
      return { ctx, end: (outcome, extra) => log(host, state, outcome, extra) };
    },
  };
}

/** What the HTTP headers tell before the body is read (the balancer's request id, the claimed id). */
function firstState(host: SoapHost, req: http.IncomingMessage, startedAtMs: number): RequestState {
  const httpId = firstHeader(req.headers['request-id']);
  return {
    requestId: isRequestId(httpId, host.requestIdCharsMax) ? httpId : undefined,
    claimedPrincipal: firstHeader(req.headers[host.options.principalHeader]),
    operation: undefined,
    ctx: undefined,
    delivery: undefined,
    fields: {},
    startedAtMs,
  };
}

/** The one log line (and the metrics and trace entry) of a request, whatever its outcome. */
function log(host: SoapHost, state: RequestState, outcome: string, extra: Record<string, unknown> = {}): void {
  const { observer, logger } = host.options;
  const level = outcome === 'INTERNAL_ERROR' ? 'error' : 'info';
  observer?.end({
    operation: state.operation,
    outcome,
    startedAtMs: state.startedAtMs,
    durationMs: Date.now() - state.startedAtMs,
    requestId: state.requestId,
    principal: state.ctx?.principalId,
    trace: state.ctx?.trace,
    // Read now, not kept (the ring copies what it keeps): no copy needed when nothing is added.
    fields: Object.keys(extra).length === 0 ? state.fields : { ...state.fields, ...extra },
  });
  if (!logger.isLevelEnabled(level)) return;
  const principal = state.ctx?.principalId;
  logger.log(level, 'operation', {
    request_id: state.requestId,
    ...(principal ? { principal } : { claimed_principal: claimedForLog(state.claimedPrincipal) }),
    operation: state.operation,
    ...state.fields,
    ...extra,
    outcome,
    duration_ms: Date.now() - state.startedAtMs,
  });
}

function sendXml(res: http.ServerResponse, status: number, body: string, delivery?: Delivery): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (delivery !== undefined) {
    delivery(res, status, body);
    return;
  }
  res.writeHead(status, { 'Content-Type': SOAP_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendFault(host: SoapHost, res: http.ServerResponse, fields: FaultFields, delivery?: Delivery): void {
  sendXml(res, FAULT_HTTP_STATUS, faultEnvelope(fields, host.options.namespace, host.options.faultElement), delivery);
}

/** Answer an error: operating errors become their fault; anything else INTERNAL_ERROR, with details only in the log. */
function sendError(host: SoapHost, res: http.ServerResponse, state: RequestState, error: unknown): void {
  const { options } = host;
  if (isServiceFault(error)) {
    log(host, state, error.code, { fault_message: error.message });
    if (options.notReady?.() === true) {
      if (!res.headersSent) res.setHeader(NOT_READY_HEADER, 'misconfigured');
      const envelope = faultEnvelope(error, options.namespace, options.faultElement);
      sendXml(res, NOT_READY_HTTP_STATUS, envelope, state.delivery);
    } else {
      sendFault(host, res, error, state.delivery);
    }
    return;
  }
  if (error instanceof MustUnderstandFault) {
    log(host, state, 'MUST_UNDERSTAND', { fault_message: error.message });
    sendXml(res, FAULT_HTTP_STATUS, mustUnderstandEnvelope(error.blockNs, error.blockName));
    return;
  }
  log(host, state, 'INTERNAL_ERROR', {
    error: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  sendFault(
    host,
    res,
    { code: 'INTERNAL_ERROR', message: `internal error; quote request id ${state.requestId ?? 'unknown'}` },
    state.delivery,
  );
}

async function closeServer(server: http.Server, drainMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), DRAIN_SWEEP_MS);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, drainMs);
  });
  await Promise.race([closed, timeout]);
  clearInterval(sweep);
  clearTimeout(timer);
  server.closeAllConnections();
}

/** The tier's own report, with the client connections (common/connection-guard.ts) among the admin's details. */
async function withConnections(
  report: () => Promise<HealthReport> | HealthReport,
  guard: ConnectionGuard,
): Promise<HealthReport> {
  const r = await report();
  return { ...r, details: { ...r.details, connections: guard.stats() } };
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export { ServiceFault };
