import { TextDecoder } from 'node:util';
import { fault } from './service-fault';
import { declaredEncoding, XmlSyntaxError } from './xml-reader';
import { itemAt } from './defined';

/**
 * The text of a request body, from its bytes, the Content-Type charset and the XML
 * declaration. XML 1.0 §4.3.3 makes every processor read UTF-8 and UTF-16; WS-I Basic Profile
 * allows both; nothing else is accepted. Rules, in order:
 * 1. A UTF-32 byte-order mark is refused; a UTF-8 (EF BB BF) or UTF-16 (FF FE, FE FF) one
 *    fixes the encoding, and a charset that names another one is refused.
 * 2. Otherwise the charset decides: utf-8, utf-16le, utf-16be, or utf-16 (byte order from the
 *    first character: a zero high byte first is big-endian; RFC 2781's default, BE, otherwise).
 * 3. Without BOM or charset: `<?` as UTF-16 (3C 00 3F 00 / 00 3C 00 3F, XML 1.0 appendix F)
 *    is UTF-16LE/BE, anything else UTF-8.
 * 4. Bytes not valid in that encoding are refused (no silent U+FFFD).
 * 5. The XML declaration's encoding, when present, must be UTF-8, UTF-16, UTF-16LE or UTF-16BE
 *    and agree with the encoding read (utf-16 agrees with both byte orders).
 * Every refusal is INVALID_REQUEST; a charset that is not a plain token is not echoed.
 */
export type BodyEncoding = 'UTF-8' | 'UTF-16LE' | 'UTF-16BE';

const CHARSETS: Readonly<Record<string, readonly BodyEncoding[]>> = {
  'utf-8': ['UTF-8'],
  'utf-16': ['UTF-16LE', 'UTF-16BE'],
  'utf-16le': ['UTF-16LE'],
  'utf-16be': ['UTF-16BE'],
};

const DECODERS: Readonly<Record<BodyEncoding, TextDecoder>> = {
  'UTF-8': new TextDecoder('utf-8', { fatal: true }),
  'UTF-16LE': new TextDecoder('utf-16le', { fatal: true }),
  'UTF-16BE': new TextDecoder('utf-16be', { fatal: true }),
};

const TOKEN = /^[A-Za-z0-9._:-]{1,40}$/;

function invalid(message: string): never {
  throw fault('INVALID_REQUEST', message);
}

function shown(name: string): string {
  return TOKEN.test(name) ? name : '(not a charset name)';
}

/** The last Content-Type read and its charset: every request of a peer sends the same one. */
let lastContentType: string | undefined;
let lastCharset: string | undefined;

/** The charset parameter of a Content-Type, lower case, unquoted; undefined when absent. */
export function charsetOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  if (contentType !== lastContentType) {
    lastCharset = readCharset(contentType);
    lastContentType = contentType;
  }
  return lastCharset;
}

function readCharset(contentType: string): string | undefined {
  for (const parameter of contentType.split(';').slice(1)) {
    const eq = parameter.indexOf('=');
    if (eq < 0 || parameter.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const value = parameter.slice(eq + 1).trim();
    return (
      value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
    ).toLowerCase();
  }
  return undefined;
}

function byteOrderMark(bytes: Buffer): BodyEncoding | undefined {
  if (
    bytes.length >= 4 &&
    ((bytes[0] === 0xff && bytes[1] === 0xfe && bytes[2] === 0 && bytes[3] === 0) ||
      (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0xfe && bytes[3] === 0xff))
  ) {
    invalid('UTF-32 is not accepted: send UTF-8 or UTF-16');
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'UTF-8';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'UTF-16LE';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'UTF-16BE';
  return undefined;
}

/** The encoding of a body from its BOM, the charset (lower case) or, without both, its first bytes. */
export function bodyEncoding(bytes: Buffer, charset: string | undefined): BodyEncoding {
  const allowed = charset === undefined ? undefined : CHARSETS[charset];
  if (charset !== undefined && allowed === undefined) {
    invalid(`charset ${shown(charset)} is not accepted: send utf-8 or utf-16 (utf-16le, utf-16be)`);
  }
  const bom = byteOrderMark(bytes);
  if (bom !== undefined) {
    if (allowed !== undefined && !allowed.includes(bom))
      invalid(`charset ${String(charset)} contradicts the byte-order mark (${bom})`);
    return bom;
  }
  if (allowed !== undefined && allowed.length === 1) return itemAt(allowed, 0);
  if (allowed !== undefined) return bytes[0] !== 0 && bytes[1] === 0 ? 'UTF-16LE' : 'UTF-16BE';
  if (bytes[0] === 0x3c && bytes[1] === 0 && bytes[2] === 0x3f && bytes[3] === 0) return 'UTF-16LE';
  if (bytes[0] === 0 && bytes[1] === 0x3c && bytes[2] === 0 && bytes[3] === 0x3f) return 'UTF-16BE';
  return 'UTF-8';
}

/** Refuses an XML declaration whose encoding we do not read or that contradicts `encoding`. */
function checkDeclaration(text: string, encoding: BodyEncoding): void {
  let declared: string | undefined;
  try {
    declared = declaredEncoding(text);
  } catch (error) {
    if (error instanceof XmlSyntaxError) return; // The reader refuses the malformed declaration itself.
    throw error;
  }
  if (declared === undefined) return;
  const allowed = CHARSETS[declared.toLowerCase()];
  if (allowed === undefined)
    invalid(`encoding ${declared} in the XML declaration is not accepted: send UTF-8 or UTF-16`);
  if (!allowed.includes(encoding))
    invalid(`encoding ${declared} in the XML declaration contradicts the encoding of the body (${encoding})`);
}

/** The body as text (BOM removed), by the rules above. */
export function decodeBody(bytes: Buffer, contentType: string | undefined): string {
  const encoding = bodyEncoding(bytes, charsetOf(contentType));
  let text: string;
  try {
    text = DECODERS[encoding].decode(bytes);
  } catch {
    invalid(`the request body is not valid ${encoding}`);
  }
  checkDeclaration(text, encoding);
  return text;
}
