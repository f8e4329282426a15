/**
 * The one XML escaper of distbank, the writing half of common/xml-reader.ts: every envelope,
 * fault, WSDL rewrite and report that puts a value into XML goes through xmlText (element
 * content) or xmlAttribute (a quoted attribute value). What it writes, the reader (and any XML
 * 1.0 parser) reads back as the same string (test/xml-writer.test.ts):
 * - the markup characters & < > " ' become entities (the same bytes the writers always sent);
 * - CR becomes &#13; everywhere, and tab and LF become &#9; &#10; in attributes: a parser
 *   turns a raw CR into LF (XML 1.0 §2.11) and raw white space in an attribute into a space
 *   (§3.3.3);
 * - a character XML 1.0 cannot carry at all (a C0 control, U+FFFE/U+FFFF, a lone surrogate:
 *   outside the Char production, §2.2) is what the caller chooses: 'replace' with U+FFFD, so a
 *   server echoing a caller's value still answers with a document a strict parser reads; or
 *   'refuse' with an XmlCharError naming its code point (never echoing it), so a client does not
 *   send what the server's reader would refuse.
 */
export type NotXmlChar = 'replace' | 'refuse';

export class XmlCharError extends RangeError {
  constructor(codePoint: number) {
    super(`U+${codePoint.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML 1.0`);
    this.name = 'XmlCharError';
  }
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
  '\t': '&#9;',
  '\n': '&#10;',
};

// With the u flag a lone surrogate is one match (and so refused), a pair is a character.
const NOT_CHAR = '[^\\t\\n\\r\\u0020-\\ud7ff\\ue000-\\ufffd\\u{10000}-\\u{10ffff}]';
const TEXT_SPECIAL = new RegExp(`[&<>"'\\r]|${NOT_CHAR}`, 'gu');
const ATTRIBUTE_SPECIAL = new RegExp(`[&<>"'\\r\\t\\n]|${NOT_CHAR}`, 'gu');

function escaped(text: string, special: RegExp, notChar: NotXmlChar): string {
  special.lastIndex = 0;
  if (!special.test(text)) return text; // the common case: ids, numbers, plain words
  special.lastIndex = 0;
  return text.replace(special, (c) => {
    const entity = ENTITIES[c];
    if (entity !== undefined) return entity;
    if (notChar === 'refuse') throw new XmlCharError(c.codePointAt(0) ?? 0);
    return '\ufffd';
  });
}

/** Text for element content. */
export function xmlText(text: string, notChar: NotXmlChar = 'replace'): string {
  return escaped(text, TEXT_SPECIAL, notChar);
}

/** Text for an attribute value in double or single quotes. */
export function xmlAttribute(value: string, notChar: NotXmlChar = 'replace'): string {
  return escaped(value, ATTRIBUTE_SPECIAL, notChar);
}
