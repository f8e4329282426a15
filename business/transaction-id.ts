import { createHash, randomUUID } from 'node:crypto';
import { fault } from '../common/service-fault';

/**
 * The data tier's transaction id of a client request, derived from (client-id, request-id):
 * every business server computes the same id for a retry of the same request, so the retry
 * meets the data tier's idempotency record and moves no money twice; and two clients that
 * pick the same request-id never collide (the client id is part of the hash).
 */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export function transactionIdFor(clientId: string, requestId: string): string {
  return 't' + createHash('sha256').update(clientId + '\n' + requestId, 'utf8').digest('hex').slice(0, 32);
}

/** The request id to key a money movement with; a malformed one is the caller's mistake. */
export function checkRequestId(requestId: string | undefined): string {
  if (requestId === undefined || requestId === '') return randomUUID();
  if (!REQUEST_ID_PATTERN.test(requestId)) {
    throw fault('INVALID_REQUEST', 'request-id must be 1 to 64 characters of A-Z a-z 0-9 _ . : -');
  }
  return requestId;
}
