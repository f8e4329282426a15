import http from 'node:http';
import { Backend } from './backend';

/**
 * One try of a request on one backend. It ends in either response headers (a final answer,
 * whatever the status: a SOAP fault is an answer) or a failure that happened before any
 * response, which is the only case the balancer may send the same bytes elsewhere.
 */
export type AttemptOutcome =
  | { readonly kind: 'response'; readonly response: http.IncomingMessage }
  | {
      readonly kind: 'failed';
      readonly reason: string;
      /** A reset of a pooled keep-alive socket the server was closing: not the backend's fault. */
      readonly staleSocket: boolean;
    };

export function attempt(
  backend: Backend,
  method: string,
  headers: http.OutgoingHttpHeaders,
  body: Buffer,
  timeoutMs: number,
): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: AttemptOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = http.request(
      {
        protocol: backend.url.protocol,
        hostname: backend.url.hostname,
        port: backend.url.port,
        path: backend.url.pathname + backend.url.search,
        method,
        headers,
        agent: backend.agent,
      },
      (response) => settle({ kind: 'response', response }),
    );
    const timer = setTimeout(() => {
      settle({ kind: 'failed', reason: `no response within ${timeoutMs} ms`, staleSocket: false });
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? err.message;
      settle({ kind: 'failed', reason: code, staleSocket: req.reusedSocket && code === 'ECONNRESET' });
    });
    req.end(body);
  });
}
