import { BANK_NAMESPACE, SOAP11_ENVELOPE_NS as SOAP } from '../../common/contract';

/** A typical bank Transfer request, as a client sends it: for the by-hand benchmarks. */
export const SAMPLE_TRANSFER_REQUEST =
  '<?xml version="1.0" encoding="utf-8"?>' +
  `<soap:Envelope xmlns:soap="${SOAP}" xmlns:b="${BANK_NAMESPACE}"><soap:Header>` +
  '<b:auth-token>6f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a</b:auth-token><b:client-id>alice</b:client-id>' +
  '<b:request-id>req-0123456789abcdef</b:request-id></soap:Header><soap:Body><b:Transfer>' +
  '<b:fromAccountId>1001</b:fromAccountId><b:toAccountId>1002</b:toAccountId><b:amount>12.34</b:amount>' +
  '</b:Transfer></soap:Body></soap:Envelope>';
