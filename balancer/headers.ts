import http from 'node:http';

/**
 * Which headers cross the balancer. Everything end-to-end passes (SOAPAction, content-type,
 * content-encoding, the plain-HTTP credential headers auth-token / client-id / request-id);
 * hop-by-hop headers stay behind (RFC 9110 §7.6.1). Bodies are relayed from a buffer, so their
 * length is fixed (and written anew) and any `expect` was already answered here.
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

const TRACEPARENT_HEADER = 'traceparent';

export const REQUEST_ID_HEADER = 'request-id';

/**
 * The header lines (`name: value\r\n`, latin1 as node read them) sent on to a business server;
 * common/http-lite.ts adds Host and Content-Length, each attempt its own traceparent.
 */
export function forwardRequestHeaders(incoming: http.IncomingHttpHeaders, requestId: string): string {
  let lines = '';
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name === REQUEST_ID_HEADER || name === TRACEPARENT_HEADER)
      continue;
    if (typeof value === 'string') lines += `${name}: ${value}\r\n`;
    else for (const one of value) lines += `${name}: ${one}\r\n`;
  }
  return `${lines}${REQUEST_ID_HEADER}: ${requestId}\r\n`;
}

/**
 * The fields of a business server's answer that go on to the client (name, value, … as
 * common/http-lite.ts read them), with the length of the body as relayed.
 */
export function forwardResponseHeaders(received: readonly string[], bodyBytes: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < received.length; i += 2) {
    const name = received[i] ?? '';
    if (!HOP_BY_HOP.has(name.toLowerCase())) out.push(name, received[i + 1] ?? '');
  }
  out.push('content-length', String(bodyBytes));
  return out;
}

/** A header of the answer, by name (any case); the first one when repeated. */
export function responseHeader(received: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < received.length; i += 2) if (received[i]?.toLowerCase() === name) return received[i + 1];
  return undefined;
}
