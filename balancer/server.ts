import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { AdminAuth, loadAdminAuth } from '../common/admin-auth';
import { readBodyBytes } from '../common/body-bytes';
import { handleAdminRoute } from '../common/admin-routes';
import { ConnectionGuard } from '../common/connection-guard';
import { isHealthRequest, serveHealth } from '../common/health';
import { listenOn } from '../common/listen';
import { Logger } from '../common/logger';
import { traceContextOf } from '../common/trace-ring';
import { BANK_NAMESPACE, BANK_PATH, BANK_REQUEST_ID_CHARS_MAX, SOAP_CONTENT_TYPE } from '../common/contract';
import { requestIdRule } from '../common/request-id';
import { faultEnvelope } from '../common/soap-fault';
import { BalancerObserver, RequestIds } from './balancer-observer';
import { BalancerConfig } from './config';
import { sendFault } from './fault-response';
import { forwardRequest, ForwardParts, Outcome } from './forward';
import { forwardRequestHeaders } from './headers';
import { balancerHealth } from './health';
import { HealthChecker } from './health-checker';
import { BackendPool } from './pool';
import { assignedRequestId, HeaderRequestId, headerRequestId, requestIdBlock } from './request-id';
import { wsdlWithAddress } from './wsdl';
import { bankWsdlText } from '../common/amount-max';

/**
 * The load balancer: a reverse proxy on plain node:http in front of the business servers.
 * POST /bank is buffered (bounded), sent to the least-busy healthy backend, and sent again to
 * another one only when no response came (refused, reset, timed out) — safe because every
 * request carries an idempotency key. GET /bank?wsdl and GET /health are answered here.
 */
const CLOSE_GRACE_MS = 2000;

export interface Balancer {
  readonly url: string;
  readonly publicUrl: string;
  readonly server: http.Server;
  readonly pool: BackendPool;
  close(): Promise<void>;
}

/** One balancer's parts, shared by the functions that serve its requests. */
interface BalancerParts extends ForwardParts {
  readonly server: http.Server;
  readonly guard: ConnectionGuard;
  readonly admin: AdminAuth;
  /** Requests past their body and inside the forwarding, bounded by config.inFlightMax. */
  readonly slots: { inFlight: number };
  /** Checked once: building a log line that winston then drops costs more than the proxying. */
  readonly logInfo: boolean;
  /** bank.wsdl with soap:address set to the public URL, once it is known (after listen). */
  wsdl: Buffer;
}

export async function startBalancer(config: BalancerConfig, logger: Logger): Promise<Balancer> {
  const pool = new BackendPool(config.backendUrls, config);
  const server = http.createServer();
  const observer = new BalancerObserver(readFileSync(config.wsdlPath, 'utf8'), config.traceRingEntries, pool);
  const admin = loadAdminAuth(config.adminCredentialsFile);
  const parts: BalancerParts = {
    config,
    pool,
    logger,
    server,
    health: new HealthChecker(pool, config.healthIntervalMs, config.healthTimeoutMs, logger),
    observer,
    guard: new ConnectionGuard(
      server,
      config.clientConnections,
      (code, message) => faultEnvelope({ code, message }, BANK_NAMESPACE, 'BankFault'),
      logger,
    ),
    admin,
    slots: { inFlight: 0 },
    logInfo: logger.isInfoEnabled(),
    wsdl: Buffer.alloc(0),
  };
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    route(parts, req, res);
  });
  server.on('clientError', answerClientError);

  // One round of checks before listening, so the first requests see real backend states.
  await parts.health.checkAll();
  parts.health.start();
  const port = await listenOn(server, config.port, config.host);
  const url = `http://${config.host}:${port}${BANK_PATH}`;
  const publicUrl = config.publicUrl ?? url;
  parts.wsdl = wsdlWithAddress(bankWsdlText(config.wsdlPath, config.amountCentsMax), config.wsdlPath, publicUrl);
  return { url, publicUrl, server, pool, close: () => closeBalancer(parts) };
}

/** Accept: every request is admitted by the connection guard, then routed by method and path. */
function route(parts: BalancerParts, req: http.IncomingMessage, res: http.ServerResponse): void {
  const { guard, admin, pool, slots, config } = parts;
  if (!guard.admit(req, res)) return;
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = q < 0 ? '' : rawUrl.slice(q + 1);
  const method = req.method ?? '';
  if (isHealthRequest(method, path)) {
    void serveHealth(req, res, 'balancer', admin, () =>
      balancerHealth(pool, slots.inFlight, config.inFlightMax, guard.stats(), parts.health.faultInjectingUrls()),
    );
    return;
  }
  if (handleAdminRoute(req, res, path, query, parts.observer.soap.endpoints(admin))) return;
  if (path !== BANK_PATH) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  if (method === 'GET' && /^wsdl(=|&|$)/i.test(query)) {
    res.writeHead(200, { 'content-type': SOAP_CONTENT_TYPE, 'content-length': parts.wsdl.length }).end(parts.wsdl);
    return;
  }
  if (method !== 'POST') {
    res.writeHead(405, { allow: 'GET, POST', 'content-type': 'text/plain' }).end('POST a SOAP request, or GET ?wsdl\n');
    return;
  }
  handlePost(parts, req, res);
}

/** POST /bank: one log line per request, whatever becomes of it. */
function handlePost(parts: BalancerParts, req: http.IncomingMessage, res: http.ServerResponse): void {
  const { logger, observer } = parts;
  const startedMs = performance.now();
  const outcome: Outcome = { backend: '-', status: 0, retries: 0 };
  const operation = soapActionOperation(req.headers.soapaction);
  const given = headerRequestId(req.headers);
  if (given.kind === 'invalid') {
    req.resume();
    sendFault(res, 500, 'INVALID_REQUEST', requestIdRule(BANK_REQUEST_ID_CHARS_MAX), true);
    logger.warn('request refused: malformed request-id header', { operation });
    return;
  }
  const ids: RequestIds = {
    requestId: given.kind === 'valid' ? given.id : '-',
    operation: observer.operationLabel(operation),
    trace: undefined,
  };
  observer.soap.begin();
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    requestEnded(parts, res, { ids, outcome, operation, startedMs });
  };
  res.once('finish', end);
  res.once('close', end);
  servePost(parts, req, res, { outcome, ids, given }).catch((err: unknown) => {
    logger.error('balancer error', {
      request_id: ids.requestId,
      error: err instanceof Error ? err.stack : String(err),
    });
    outcome.code = 'INTERNAL_ERROR';
    sendFault(res, 500, 'INTERNAL_ERROR', 'internal error in the load balancer');
  });
}

/** Answer: the request's metrics, trace entry and its one log line, once it is over. */
function requestEnded(
  parts: BalancerParts,
  res: http.ServerResponse,
  request: { ids: RequestIds; outcome: Outcome; operation: string; startedMs: number },
): void {
  const { ids, outcome, startedMs } = request;
  parts.observer.served(ids, outcome, Math.round(Date.now() - (performance.now() - startedMs)));
  if (outcome.status === 0 && res.headersSent) outcome.status = res.statusCode;
  if (!parts.logInfo) return;
  const fields: Record<string, unknown> = {
    request_id: ids.requestId,
    operation: request.operation,
    backend: outcome.backend,
    status: outcome.status,
    duration_ms: Math.round((performance.now() - startedMs) * 10) / 10,
    retries: outcome.retries,
  };
  if (outcome.reason !== undefined) fields.reason = outcome.reason;
  if (!res.writableFinished) fields.client_gone = true;
  parts.logger.info('request', fields);
}

/**
 * The in-flight slot is taken only once the whole body is in hand (a peer that sends its body
 * slowly holds a connection, bounded by the connection guard, never a slot), and held until
 * BOTH the forwarding has settled and the response is done: a client that hangs up early must
 * not free a slot while its tries still run.
 */
async function servePost(
  parts: BalancerParts,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  request: { outcome: Outcome; ids: RequestIds; given: HeaderRequestId & { kind: 'none' | 'valid' } },
): Promise<void> {
  const { config, slots } = parts;
  const { outcome, ids } = request;
  const read = await readBodyBytes(req, config.bodyBytesMax);
  if (read.kind === 'aborted') {
    outcome.reason = res.statusCode === 408 ? 'body timeout' : 'client aborted';
    return;
  }
  if (read.kind === 'too-large') {
    outcome.status = 413;
    outcome.code = 'INVALID_REQUEST';
    sendFault(res, 413, 'INVALID_REQUEST', `the request body is larger than ${config.bodyBytesMax} bytes`, true);
    return;
  }
  ids.requestId = requestIdBlock(read.body) ?? ids.requestId;
  ids.trace = traceContextOf(req.headers.traceparent);
  if (slots.inFlight >= config.inFlightMax) {
    outcome.status = 500;
    outcome.reason = 'busy';
    outcome.code = 'SERVICE_UNAVAILABLE';
    sendFault(res, 500, 'SERVICE_UNAVAILABLE', 'the load balancer is busy; retry later');
    return;
  }
  if (res.destroyed) {
    outcome.reason = 'client gone';
    return;
  }
  slots.inFlight++;
  let holds = 2;
  const release = (): void => {
    if (--holds === 0) slots.inFlight--;
  };
  res.once('close', release);
  try {
    const headerLines = forwardRequestHeaders(req.headers, assignedRequestId(request.given));
    await forwardRequest(parts, { res, headerLines, body: read.body, outcome, ids });
  } finally {
    release();
  }
}

function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // Node's own (backstop) timeouts land here too: they are a 408, not a malformed request.
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
  else socket.destroy();
}

async function closeBalancer(parts: BalancerParts): Promise<void> {
  const { server } = parts;
  parts.health.stop();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
  await closed;
  clearTimeout(timer);
  parts.pool.close();
}

function soapActionOperation(header: string | string[] | undefined): string {
  if (typeof header !== 'string') return '-';
  const text = header.replace(/^"|"$/g, '');
  const hash = text.lastIndexOf('#');
  return hash >= 0 ? text.slice(hash + 1) : text;
}
