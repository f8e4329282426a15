import http from 'node:http';
import { BANK_REQUEST_ID_CHARS_MAX, REQUEST_ID_CHARS } from '../common/contract';
import { randomHex } from '../common/random-pool';
import { isRequestId } from '../common/request-id';
import { REQUEST_ID_HEADER } from './headers';

/**
 * The client's HTTP header request-id: absent, well-formed, or refused. A malformed one is
 * refused (INVALID_REQUEST, as the business server would), not replaced: it is the client's
 * idempotency key, and swapping it for a fresh one would let the client's retry move money
 * twice. Nor is it logged: its text is the caller's.
 */
export type HeaderRequestId =
  { readonly kind: 'none' } | { readonly kind: 'valid'; readonly id: string } | { readonly kind: 'invalid' };

export function headerRequestId(headers: http.IncomingHttpHeaders): HeaderRequestId {
  const given = headers[REQUEST_ID_HEADER];
  if (given === undefined || given === '') return { kind: 'none' };
  return typeof given === 'string' && isRequestId(given, BANK_REQUEST_ID_CHARS_MAX)
    ? { kind: 'valid', id: given }
    : { kind: 'invalid' };
}

/**
 * The idempotency key of a request as it leaves the balancer. The client's (valid) HTTP header
 * request-id passes unchanged; without one we assign 'lb-' + 24 hex, once per request, so that
 * every retry on another business server carries the same key and moves money at most once.
 * (A request-id SOAP header block, when present, wins at the business server over this header.)
 */
export function assignedRequestId(given: HeaderRequestId & { kind: 'none' | 'valid' }): string {
  return given.kind === 'valid' ? given.id : 'lb-' + randomHex(12);
}

// Only for the log line, so it carries the id the business and data tiers log too. A cheap
// search on the raw bytes; the business server does the real, strict parse.
// The attribute part is bounded: an unbounded `[^>]*` made the search quadratic on a body of
// repeated `<request-id ` (seconds per 64 KiB, before any authentication).
const BLOCK = new RegExp(
  `<(?:[A-Za-z_][\\w.-]*:)?request-id(?:\\s[^<>]{0,256})?>\\s*(${REQUEST_ID_CHARS}{1,${BANK_REQUEST_ID_CHARS_MAX}})\\s*<`,
);

export function requestIdBlock(body: Buffer): string | undefined {
  if (body.indexOf('request-id') < 0) return undefined;
  return BLOCK.exec(body.toString('utf8'))?.[1];
}
