import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { decodeBody } from './charset';
import { fault } from './service-fault';

/**
 * Reads a request body as text with a hard limit on its size in bytes, counted both on the wire
 * and after gzip inflation (a 64 KiB gzip bomb must not become 64 MiB in memory), then decodes
 * it as UTF-8 or UTF-16 (common/charset.ts: BOM, Content-Type charset, XML declaration).
 * Only identity and gzip content encodings are accepted.
 */
export async function readRequestBody(req: IncomingMessage, bodyBytesMax: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > bodyBytesMax) {
    req.resume();
    throw fault('INVALID_REQUEST', `request body exceeds ${bodyBytesMax} bytes`);
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    req.resume();
    throw fault('INVALID_REQUEST', `content-encoding not accepted: ${encoding}`);
  }
  // pipeline, not pipe: a caller that goes away mid-body must end the gunzip stream too, or
  // the read below would wait forever (and hold the request's memory).
  const source: NodeJS.ReadableStream = encoding === 'gzip'
    ? pipeline(req, createGunzip({ maxOutputLength: bodyBytesMax + 1 }), () => undefined)
    : req;
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of source) {
      const buffer = chunk as Buffer;
      bytes += buffer.length;
      if (bytes > bodyBytesMax) {
        req.resume();
        throw fault('INVALID_REQUEST', `request body exceeds ${bodyBytesMax} bytes`);
      }
      chunks.push(buffer);
    }
  } catch (error) {
    req.resume();
    if (error instanceof Error && 'code' in error && typeof (error as { code: unknown }).code === 'string' &&
        ((error as { code: string }).code.startsWith('Z_') || (error as { code: string }).code === 'ERR_BUFFER_TOO_LARGE')) {
      throw fault('INVALID_REQUEST', `request body is not valid gzip or exceeds ${bodyBytesMax} bytes inflated`);
    }
    if (req.destroyed || req.readableAborted) {
      // The caller went away mid-body: nobody is left to answer, so no INTERNAL_ERROR alarm.
      throw fault('INVALID_REQUEST', 'the request body was cut off');
    }
    throw error;
  }
  return decodeBody(Buffer.concat(chunks), req.headers['content-type']);
}
