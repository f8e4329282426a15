import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { HttpLiteResponse } from '../common/http-lite';
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
  /** Header lines (headers.ts: forwardRequestHeaders); each attempt adds its traceparent. */
  readonly headerLines: string;
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
    const answer = await tryBackend(parts, request, backend, n, remainingMs);
    backend.outstanding--;
    if (answer.kind === 'broken') {
      answerBroken(parts, request, answer);
      return;
    }
    if (answer.kind === 'response' && !isNotReady(answer.response)) {
      answerFromBackend(parts, request, answer.response);
      return;
    }
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

/**
 * One try on one backend, counted as outstanding until its answer is in hand, and traced. Its
 * head must come within the attempt timeout, the whole answer by the request's deadline, so a
 * backend that sends headers and then stalls cannot hold a client forever.
 */
async function tryBackend(
  parts: ForwardParts,
  request: Forwarding,
  backend: Backend,
  n: number,
  remainingMs: number,
): Promise<AttemptOutcome> {
  const { observer } = parts;
  backend.outstanding++;
  backend.requestsTotal++;
  const span = observer.startAttempt(request.ids);
  const headerLines = `${request.headerLines}traceparent: ${span.traceparent}\r\n`;
  const timeoutMs = Math.min(parts.config.attemptTimeoutMs, remainingMs);
  const answer = await attempt(backend, headerLines, request.body, timeoutMs, remainingMs);
  const result =
    answer.kind === 'response'
      ? `HTTP ${answer.response.status}`
      : answer.kind === 'broken'
        ? `HTTP ${answer.status}: ${answer.reason}`
        : answer.reason;
  observer.endAttempt(request.ids, span, backend.url.host, n, result);
  return answer;
}

/** A backend answered: that answer is final, relayed as it is (a SOAP fault included). */
function answerFromBackend(parts: ForwardParts, request: Forwarding, response: HttpLiteResponse): void {
  const { outcome, res } = request;
  outcome.status = response.status;
  const code = parts.observer.sniffFaultCode(response.status, response.body);
  if (code !== undefined) outcome.code = code;
  if (res.destroyed) {
    outcome.reason = 'client gone';
    return;
  }
  res.writeHead(response.status, forwardResponseHeaders(response.headers, response.body.length));
  res.end(response.body);
}

/**
 * An answer came but could not be taken whole. It is final all the same (the backend did the
 * work): one too large is refused with a fault; one that broke off or stalled reaches the
 * client as a broken connection, as it would have had it been streamed.
 */
function answerBroken(
  parts: ForwardParts,
  request: Forwarding,
  broken: { readonly status: number; readonly reason: string; readonly tooLarge: boolean },
): void {
  const { outcome, res } = request;
  outcome.reason = broken.reason;
  if (!broken.tooLarge) {
    outcome.status = broken.status;
    res.destroy();
    return;
  }
  outcome.status = 500;
  outcome.code = 'INTERNAL_ERROR';
  parts.logger.warn('answer too large', {
    request_id: request.ids.requestId,
    status: broken.status,
    reason: broken.reason,
  });
  sendFault(
    res,
    500,
    'INTERNAL_ERROR',
    `the business server's answer is larger than ${parts.config.responseBytesMax} bytes (BANK_LB_RESPONSE_BYTES_MAX)`,
  );
}
