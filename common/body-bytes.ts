import type { IncomingMessage } from 'node:http';
import { itemAt } from './defined';

/**
 * Reads a whole request body into memory, as the bytes on the wire, refusing more than
 * bytesMax (checked against content-length up front and against the bytes actually received).
 * The one bounded reader: the balancer forwards these bytes as they are; the SOAP edge
 * (common/request-body.ts) inflates and decodes them. Its deadline is the connection guard's
 * (common/connection-guard.ts): a body that stops coming ends as 'aborted' when it closes the
 * connection.
 */
export type BodyBytes =
  { readonly kind: 'ok'; readonly body: Buffer } | { readonly kind: 'too-large' } | { readonly kind: 'aborted' };

export function readBodyBytes(req: IncomingMessage, bytesMax: number): Promise<BodyBytes> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > bytesMax) {
    req.resume();
    return Promise.resolve({ kind: 'too-large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const settle = (result: BodyBytes): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      bytes += chunk.length;
      if (bytes > bytesMax) {
        chunks.length = 0;
        settle({ kind: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () =>
      settle({ kind: 'ok', body: chunks.length === 1 ? itemAt(chunks, 0) : Buffer.concat(chunks, bytes) }),
    );
    req.on('error', () => settle({ kind: 'aborted' }));
    req.on('close', () => settle({ kind: 'aborted' }));
  });
}
