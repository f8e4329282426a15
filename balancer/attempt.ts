import { HttpLiteError, HttpLiteResponse } from '../common/http-lite';
import { Backend } from './backend';

/**
 * One try of a request on one backend. It ends in a whole answer (whatever the status: a SOAP
 * fault is an answer), an answer that came but could not be taken whole (`broken`: its head
 * came, then the connection broke, it stalled past the deadline or it is too large — final,
 * like an answer), or a failure before any answer, which is the only case the balancer may send
 * the same bytes elsewhere.
 */
export type AttemptOutcome =
  | { readonly kind: 'response'; readonly response: HttpLiteResponse }
  | {
      readonly kind: 'broken';
      readonly status: number;
      readonly reason: string;
      /** Over BANK_LB_RESPONSE_BYTES_MAX: the client is told so, not cut off. */
      readonly tooLarge: boolean;
    }
  | {
      readonly kind: 'failed';
      readonly reason: string;
      /** A pooled keep-alive socket the server had closed, no byte of an answer on it: not the backend's fault. */
      readonly staleSocket: boolean;
    };

/**
 * POSTs `body` with the given header lines; the answer's head must come within timeoutMs, the
 * whole answer within answerTimeoutMs (what is left of the request's deadline).
 */
export async function attempt(
  backend: Backend,
  headerLines: string,
  body: Buffer,
  timeoutMs: number,
  answerTimeoutMs: number,
): Promise<AttemptOutcome> {
  try {
    return { kind: 'response', response: await backend.http.post(headerLines, body, timeoutMs, answerTimeoutMs) };
  } catch (error) {
    if (!(error instanceof HttpLiteError)) throw error;
    if (error.status !== undefined)
      return { kind: 'broken', status: error.status, reason: error.message, tooLarge: error.kind === 'too-large' };
    return { kind: 'failed', reason: error.message, staleSocket: error.kind === 'stale' };
  }
}
