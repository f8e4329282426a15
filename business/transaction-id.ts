import { sha256Hex } from '../common/sha256';

/**
 * The data tier's transaction id of a client request, derived from (client-id, request-id):
 * every business server computes the same id for a retry of the same request, so the retry
 * meets the data tier's idempotency record and moves no money twice; and two clients that
 * pick the same request-id never collide (the client id is part of the hash). The request-id
 * itself is validated at the SOAP edge (common/soap-host.ts, at most 64 characters of
 * [A-Za-z0-9_.:-] as bank.wsdl says); without one, the edge supplies a random one.
 */
export function transactionIdFor(clientId: string, requestId: string): string {
  return 't' + sha256Hex(clientId + '\n' + requestId).slice(0, 32);
}
