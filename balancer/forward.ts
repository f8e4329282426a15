import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Logger } from '../common/logger';
import { attempt, AttemptOutcome } from './attempt';
import { Backend } from './backend';
import { BalancerObserver, RequestIds } from './balancer-observer';
import { BalancerConfig } from './config';
import { sendFault } from './fault-response';
import { forwardResponseHeaders } from './headers';
import { isNotReady, notReadyFailure, unavailableMessage } from './health';
import { HealthChecker } from './health-checker';
import { BackendPool } from './pool';

/** What became of one POST: its log line, metrics and trace entry are written from it. */
export interface Outcome {
  backend: string;
  status: number;
  retries: number;
  reason?: string;
  /** The fault code of a fault answer (ours, or read from the backend's). */
  code?: string;
}

/** What forwarding needs of the balancer: its limits, its backends and where it reports. */
export interface ForwardParts {
  readonly config: BalancerConfig;
  readonly pool: BackendPool;
  readonly health: HealthChecker;
  readonly logger: Logger;
  readonly observer: BalancerObserver;
}

/** One buffered POST on its way to a backend. */
export interface Forwarding {
  readonly res: http.ServerResponse;
  readonly headers: http.OutgoingHttpHeaders;
  readonly body: Buffer;
  readonly outcome: Outcome;
  readonly ids: RequestIds;
}

/**
 * Sends one buffered request to the least-busy eligible backend, and again to another one only
 * when no response came, within the request's deadline; answers SERVICE_UNAVAILABLE if none did.
 */
export async function forwardRequest(parts: ForwardParts, request: Forwarding): Promise<void> {
  const { config, pool, health } = parts;
  const { res, outcome } = request;
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
    const answer = await tryBackend(parts, request, backend, n, Math.min(config.attemptTimeoutMs, remainingMs));
    if (answer.kind === 'response' && !isNotReady(answer.response)) {
      answerFromBackend(parts, request, backend, answer.response, deadlineMs);
      return;
    }
    backend.outstanding--;
    // A backend that says it is not ready (HTTP 503) did nothing: like no response at all.
    const failure = answer.kind === 'failed' ? answer : notReadyFailure(answer.response);
    failures.push(`${backend.url.host}: ${failure.reason}`);
    if (failure.staleSocket) {
      // The server closed a pooled socket as we reused it; the backend itself is fine.
      tried.delete(backend);
    } else {
      backend.markRequestFailure(failure.reason, Date.now());
      parts.logger.warn('backend failed', {
        request_id: request.ids.requestId,
        backend: backend.url.host,
        reason: failure.reason,
      });
    }
  }
  outcome.status = 500;
  outcome.code = 'SERVICE_UNAVAILABLE';
  outcome.reason = failures.length === 0 ? 'no healthy backend' : failures.join('; ');
  sendFault(res, 500, 'SERVICE_UNAVAILABLE', unavailableMessage(health, failures));
}

/** One try on one backend, counted as outstanding from here on, and traced. */
async function tryBackend(
  parts: ForwardParts,
  request: Forwarding,
  backend: Backend,
  n: number,
  timeoutMs: number,
): Promise<AttemptOutcome> {
  const { observer } = parts;
  backend.outstanding++;
  backend.requestsTotal++;
  const span = observer.startAttempt(request.ids, request.headers);
  const answer = await attempt(backend, 'POST', request.headers, request.body, timeoutMs);
  const result = answer.kind === 'response' ? `HTTP ${answer.response.statusCode ?? 0}` : answer.reason;
  observer.endAttempt(request.ids, span, backend.url.host, n, result);
  return answer;
}

/** A backend answered: that answer is final, relayed as it is (a SOAP fault included). */
function answerFromBackend(
  parts: ForwardParts,
  request: Forwarding,
  backend: Backend,
  response: http.IncomingMessage,
  deadlineMs: number,
): void {
  const { outcome } = request;
  relay(response, request.res, backend, Math.max(1, Math.floor(deadlineMs - performance.now())));
  parts.observer.sniffFaultCode(response, (code) => {
    outcome.code = code;
  });
  outcome.status = response.statusCode ?? 0;
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
