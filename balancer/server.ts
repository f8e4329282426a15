import { readFileSync } from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { loadAdminAuth } from '../common/admin-auth';
import { readBodyBytes } from '../common/body-bytes';
import { handleAdminRoute } from '../common/admin-routes';
import { ConnectionGuard } from '../common/connection-guard';
import { isHealthRequest, serveHealth } from '../common/health';
import { Logger } from '../common/logger';
import { traceContextOf } from '../common/trace-ring';
import { BANK_REQUEST_ID_CHARS_MAX, requestIdRule } from '../common/request-id';
import { faultEnvelope } from '../common/soap-fault';
import { attempt } from './attempt';
import { Backend } from './backend';
import { BalancerObserver, RequestIds } from './balancer-observer';
import { BalancerConfig } from './config';
import { BANK_NAMESPACE, sendFault } from './fault-response';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers';
import { balancerHealth, isNotReady, notReadyFailure, unavailableMessage } from './health';
import { HealthChecker } from './health-checker';
import { BackendPool } from './pool';
import { assignedRequestId, HeaderRequestId, headerRequestId, requestIdBlock } from './request-id';
import { wsdlWithAddress } from './wsdl';

/**
 * The load balancer: a reverse proxy on plain node:http in front of the business servers.
 * POST /bank is buffered (bounded), sent to the least-busy healthy backend, and sent again to
 * another one only when no response came (refused, reset, timed out) — safe because every
 * request carries an idempotency key. GET /bank?wsdl and GET /health are answered here.
 */
export const BANK_PATH = '/bank';
const CLOSE_GRACE_MS = 2000;

export interface Balancer {
  readonly url: string;
  readonly publicUrl: string;
  readonly server: http.Server;
  readonly pool: BackendPool;
  close(): Promise<void>;
}

interface Outcome {
  backend: string;
  status: number;
  retries: number;
  reason?: string;
  /** The fault code of a fault answer (ours, or read from the backend's). */
  code?: string;
}

export async function startBalancer(config: BalancerConfig, logger: Logger): Promise<Balancer> {
  const pool = new BackendPool(config.backendUrls, config);
  const health = new HealthChecker(pool, config.healthIntervalMs, config.healthTimeoutMs, logger);
  const slots = { inFlight: 0 };
  // Checked once: building a log line that winston then drops costs more than the proxying.
  const logInfo = logger.isInfoEnabled();
  let wsdl: Buffer = Buffer.alloc(0);

  const server = http.createServer();
  const guard = new ConnectionGuard(
    server,
    config.clientConnections,
    (code, message) => faultEnvelope({ code, message }, BANK_NAMESPACE, 'BankFault'),
    logger,
  );

  const admin = loadAdminAuth(config.adminCredentialsFile);
  const observer = new BalancerObserver(readFileSync(config.wsdlPath, 'utf8'), config.traceRingEntries, pool);
  const forward = forwarder(config, pool, health, logger, observer);

  /** POST /bank: one log line per request, whatever becomes of it. */
  const handlePost = (req: http.IncomingMessage, res: http.ServerResponse): void => {
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
      observer.served(ids, outcome, Math.round(Date.now() - (performance.now() - startedMs)));
      if (outcome.status === 0 && res.headersSent) outcome.status = res.statusCode;
      const fields: Record<string, unknown> = {
        request_id: ids.requestId,
        operation,
        backend: outcome.backend,
        status: outcome.status,
        duration_ms: Math.round((performance.now() - startedMs) * 10) / 10,
        retries: outcome.retries,
      };
      if (outcome.reason !== undefined) fields.reason = outcome.reason;
      if (!res.writableFinished) fields.client_gone = true;
      if (logInfo) logger.info('request', fields);
    };
    res.once('finish', end);
    res.once('close', end);
    servePost(req, res, outcome, ids, given).catch((err: unknown) => {
      logger.error('balancer error', {
        request_id: ids.requestId,
        error: err instanceof Error ? err.stack : String(err),
      });
      outcome.code = 'INTERNAL_ERROR';
      sendFault(res, 500, 'INTERNAL_ERROR', 'internal error in the load balancer');
    });
  };

  /**
   * The in-flight slot is taken only once the whole body is in hand (a peer that sends its body
   * slowly holds a connection, bounded by the connection guard, never a slot), and held until
   * BOTH the forwarding has settled and the response is done: a client that hangs up early must
   * not free a slot while its tries still run.
   */
  const servePost = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    outcome: Outcome,
    ids: RequestIds,
    given: HeaderRequestId & { kind: 'none' | 'valid' },
  ): Promise<void> => {
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
      await forward(
        res,
        forwardRequestHeaders(req.headers, assignedRequestId(given), read.body.length),
        read.body,
        outcome,
        ids,
      );
    } finally {
      release();
    }
  };

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!guard.admit(req, res)) return;
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = q < 0 ? '' : rawUrl.slice(q + 1);
    const method = req.method ?? '';
    if (isHealthRequest(method, path)) {
      void serveHealth(req, res, 'balancer', admin, () =>
        balancerHealth(pool, slots.inFlight, config.inFlightMax, guard.stats(), health.faultInjectingUrls()),
      );
      return;
    }
    if (handleAdminRoute(req, res, path, query, observer.soap.endpoints(admin))) return;
    if (path !== BANK_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (method === 'GET' && /^wsdl(=|&|$)/i.test(query)) {
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8', 'content-length': wsdl.length }).end(wsdl);
      return;
    }
    if (method !== 'POST') {
      res
        .writeHead(405, { allow: 'GET, POST', 'content-type': 'text/plain' })
        .end('POST a SOAP request, or GET ?wsdl\n');
      return;
    }
    handlePost(req, res);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Node's own (backstop) timeouts land here too: they are a 408, not a malformed request.
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
    else socket.destroy();
  });

  // One round of checks before listening, so the first requests see real backend states.
  await health.checkAll();
  health.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${config.host}:${address.port}${BANK_PATH}`;
  const publicUrl = config.publicUrl ?? url;
  wsdl = wsdlWithAddress(config.wsdlPath, publicUrl);

  return {
    url,
    publicUrl,
    server,
    pool,
    async close() {
      health.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      await closed;
      clearTimeout(timer);
      pool.close();
    },
  };
}

/**
 * Sends one buffered request to the least-busy eligible backend, and again to another one only
 * when no response came, within the request's deadline; answers SERVICE_UNAVAILABLE if none did.
 */
function forwarder(
  config: BalancerConfig,
  pool: BackendPool,
  health: HealthChecker,
  logger: Logger,
  observer: BalancerObserver,
) {
  return async (
    res: http.ServerResponse,
    headers: http.OutgoingHttpHeaders,
    body: Buffer,
    outcome: Outcome,
    ids: RequestIds,
  ): Promise<void> => {
    const deadlineMs = performance.now() + config.requestDeadlineMs;
    const tried = new Set<Backend>();
    const failures: string[] = [];
    for (let n = 0; n <= config.retriesMax; n++) {
      if (res.destroyed) {
        outcome.reason = 'client gone';
        return;
      }
      const remainingMs = Math.floor(deadlineMs - performance.now());
      if (remainingMs <= 0) break;
      const backend = pool.pick(tried, Date.now()) ?? pool.pickLastResort(tried);
      if (backend === undefined) break;
      tried.add(backend);
      outcome.retries = n;
      outcome.backend = backend.url.host;
      backend.outstanding++;
      backend.requestsTotal++;
      const span = observer.startAttempt(ids, headers);
      const answer = await attempt(backend, 'POST', headers, body, Math.min(config.attemptTimeoutMs, remainingMs));
      observer.endAttempt(
        ids,
        span,
        backend.url.host,
        n,
        answer.kind === 'response' ? `HTTP ${answer.response.statusCode ?? 0}` : answer.reason,
      );
      if (answer.kind === 'response' && !isNotReady(answer.response)) {
        relay(answer.response, res, backend, Math.max(1, Math.floor(deadlineMs - performance.now())));
        observer.sniffFaultCode(answer.response, (code) => {
          outcome.code = code;
        });
        outcome.status = answer.response.statusCode ?? 0;
        return;
      }
      backend.outstanding--;
      // A backend that says it is not ready (HTTP 503) did nothing: like no response at all.
      const result = answer.kind === 'failed' ? answer : notReadyFailure(answer.response);
      failures.push(`${backend.url.host}: ${result.reason}`);
      if (result.staleSocket) {
        // The server closed a pooled socket as we reused it; the backend itself is fine.
        tried.delete(backend);
      } else {
        backend.markRequestFailure(result.reason, Date.now());
        logger.warn('backend failed', { request_id: ids.requestId, backend: backend.url.host, reason: result.reason });
      }
    }
    outcome.status = 500;
    outcome.code = 'SERVICE_UNAVAILABLE';
    outcome.reason = failures.length === 0 ? 'no healthy backend' : failures.join('; ');
    sendFault(res, 500, 'SERVICE_UNAVAILABLE', unavailableMessage(health, failures));
  };
}

/**
 * Stream a backend's answer to the client; the backend stays "outstanding" until it ends. A body
 * that has not ended by the request's deadline is cut off (both sides closed), so a backend
 * that sends headers and then stalls cannot hold a client forever.
 */
function relay(upstream: http.IncomingMessage, res: http.ServerResponse, backend: Backend, remainingMs: number): void {
  let released = false;
  const stall = setTimeout(() => {
    upstream.destroy();
    res.destroy();
  }, remainingMs);
  const release = (): void => {
    if (released) return;
    released = true;
    clearTimeout(stall);
    backend.outstanding--;
  };
  upstream.once('close', release);
  upstream.once('end', release);
  upstream.on('error', () => {
    release();
    res.destroy();
  });
  if (res.destroyed) {
    upstream.resume();
    return;
  }
  res.once('close', () => {
    if (!upstream.complete) upstream.destroy();
  });
  res.writeHead(upstream.statusCode ?? 502, forwardResponseHeaders(upstream.headers));
  upstream.pipe(res);
}

function soapActionOperation(header: string | string[] | undefined): string {
  if (typeof header !== 'string') return '-';
  const text = header.replace(/^"|"$/g, '');
  const hash = text.lastIndexOf('#');
  return hash >= 0 ? text.slice(hash + 1) : text;
}
