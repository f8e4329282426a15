import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { readBodyBytes } from './body-bytes';
import { decodeBody } from './charset';
import { fault } from './service-fault';

/**
 * Reads a SOAP request body as text with a hard limit on its size in bytes, counted both on
 * the wire (common/body-bytes.ts, the reader the balancer uses too) and after gzip inflation
 * (a 64 KiB gzip bomb must not become 64 MiB in memory), then decodes it as UTF-8 or UTF-16
 * (common/charset.ts: BOM, Content-Type charset, XML declaration). Only identity and gzip
 * content encodings are accepted. Reading, inflating and decoding are three separate steps.
 */
const gunzipAsync = promisify(gunzip);

export async function readRequestBody(req: IncomingMessage, bodyBytesMax: number): Promise<string> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    req.resume();
    throw fault('INVALID_REQUEST', `content-encoding not accepted: ${encoding}`);
  }
  const read = await readBodyBytes(req, bodyBytesMax);
  if (read.kind === 'too-large') {
    req.resume();
    throw fault('INVALID_REQUEST', `request body exceeds ${bodyBytesMax} bytes`);
  }
  // The caller went away mid-body (or the connection guard closed it at its deadline): nobody
  // is left to answer, so no INTERNAL_ERROR alarm.
  if (read.kind === 'aborted') throw fault('INVALID_REQUEST', 'the request body was cut off');
  const bytes = encoding === 'gzip' ? await inflate(read.body, bodyBytesMax) : read.body;
  return decodeBody(bytes, req.headers['content-type']);
}

async function inflate(body: Buffer, bodyBytesMax: number): Promise<Buffer> {
  try {
    return await gunzipAsync(body, { maxOutputLength: bodyBytesMax });
  } catch {
    // Not gzip, cut short, or past the limit inflated (RangeError ERR_BUFFER_TOO_LARGE).
    throw fault('INVALID_REQUEST', `request body is not valid gzip or exceeds ${bodyBytesMax} bytes inflated`);
  }
}
