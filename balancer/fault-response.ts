import http from 'node:http';
import { BANK_NAMESPACE, SOAP_CONTENT_TYPE } from '../common/contract';
import { FaultCode } from '../common/fault-codes';
import { faultEnvelope } from '../common/soap-fault';

/**
 * The few faults the balancer answers itself (no business server reachable, too busy, body too
 * large), in exactly the form the business servers use (common/soap-fault.ts).
 */

export function sendFault(
  res: http.ServerResponse,
  httpStatus: number,
  code: FaultCode,
  message: string,
  closeConnection = false,
): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = Buffer.from(faultEnvelope({ code, message }, BANK_NAMESPACE, 'BankFault'), 'utf8');
  const headers: http.OutgoingHttpHeaders = { 'content-type': SOAP_CONTENT_TYPE, 'content-length': body.length };
  if (closeConnection) headers.connection = 'close';
  res.writeHead(httpStatus, headers);
  res.end(body);
}
