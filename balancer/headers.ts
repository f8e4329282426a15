import http from 'node:http';

/**
 * Which headers cross the balancer. Everything end-to-end passes (SOAPAction, content-type,
 * content-encoding, the plain-HTTP credential headers auth-token / client-id / request-id);
 * hop-by-hop headers stay behind (RFC 9110 §7.6.1). The body is re-sent from a buffer, so its
 * length is fixed and any `expect` was already answered here.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
  'content-length',
]);

export const REQUEST_ID_HEADER = 'request-id';

export function forwardRequestHeaders(
  incoming: http.IncomingHttpHeaders,
  requestId: string,
  bodyBytes: number,
): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  out[REQUEST_ID_HEADER] = requestId;
  out['content-length'] = bodyBytes;
  return out;
}

export function forwardResponseHeaders(incoming: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || (HOP_BY_HOP.has(name) && name !== 'content-length')) continue;
    out[name] = value;
  }
  return out;
}
