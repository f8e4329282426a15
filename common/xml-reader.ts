import { defined, itemAt } from './defined';

/**
 * A small, strict, namespace-aware XML reader for SOAP messages on the hot paths (the SOAP edge
 * of every server, and the business tier's data-tier client). node-soap's parsing was most of
 * its cost; a purpose-built reader does the same job for our WSDL-described messages in a few
 * microseconds.
 *
 * It builds a tree of elements (namespace URI, local name, attributes, children, text) and
 * refuses every document that is not well-formed XML 1.0 (fifth edition) with Namespaces 1.0
 * (test/xml-differential.test.ts checks that against saxes over a generated corpus):
 * - Char everywhere: no raw C0 control other than tab, CR, LF; no lone surrogate; no U+FFFE or
 *   U+FFFF — nor any of those written as a character reference (`&#27;`, `&#xD800;`).
 * - References: only the five predefined entities and `&#N;` / `&#xH;`; a bare `&` is refused.
 * - No `]]>` in text; no `--` inside a comment; `<`, `&` rules in attribute values.
 * - Attributes: `name="value"` or `name='value'` only, white space between them, no duplicate
 *   (also none by expanded name), a namespace declared at most once per element, no
 *   undeclared prefix, no `xmlns:p=""`, the xml/xmlns prefixes and namespaces as reserved.
 * - The XML declaration only at offset 0 (after an optional byte-order mark), well-formed:
 *   version 1.x, then encoding, then standalone yes|no.
 * - Line ends normalized (CR LF and lone CR become LF, §2.11); attribute values normalized
 *   (§3.3.3: tab, CR, LF become a space; references keep their character).
 * Refused by design although well-formed (the differential test lists them too): a DOCTYPE
 * (no entity tricks), processing instructions (SOAP 1.1 §3 forbids them), a namespace name
 * with leading or trailing white space, a lone surrogate, more than `depthMax` levels, more
 * than XML_ATTRIBUTES_MAX attributes on one element and more than XMLNS_DECLARATIONS_MAX
 * namespace declarations. Error messages name a refused character by its
 * code point (U+001B), never echo it.
 * White space for trimming leaf text is XSD white space (space, tab, CR, LF): xsdTrim.
 *
 * Speed, CPU µs per parse (scripts/xml-reader-bench.ts; before → after these rules, one run,
 * 2-core VM): Transfer request (488 chars) 2.35 → 2.46–2.64 (+5–9 %); data-tier Read answer
 * (483 chars) 3.33 → 3.2 (−1–4 %); 100-entry statement (23.5 KB) 180 → 106 (−40 %: the old
 * start-tag scan searched the rest of the document for a quote, once per tag).
 */
export interface XmlAttribute {
  /** Namespace URI ('' for an unprefixed attribute). */
  readonly ns: string;
  readonly name: string;
  /** The normalized value (XML 1.0 §3.3.3, CDATA type), references decoded. */
  readonly value: string;
}

export interface XmlElement {
  /** Namespace URI ('' when none). */
  readonly ns: string;
  /** Local name (prefix dropped). */
  readonly name: string;
  /** Attributes other than namespace declarations, in document order. */
  readonly attributes: readonly XmlAttribute[];
  readonly children: XmlElement[];
  text: string;
}

export const XML_DEPTH_MAX = 32;
/** Namespace declarations per document, at most: each one copies the scope it extends. */
export const XMLNS_DECLARATIONS_MAX = 64;
/** Attributes (namespace declarations included) per start tag: duplicates are looked for pairwise. */
export const XML_ATTRIBUTES_MAX = 32;

export class XmlSyntaxError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'XmlSyntaxError';
  }
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
/** Anything that is not a Char (XML 1.0 §2.2); with the u flag a lone surrogate matches too. */
const NOT_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
/** The same, but any surrogate matches: a quicker first look (most messages have none). */
const NOT_CHAR_OR_SURROGATE = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/;
const XML_DECLARATION = new RegExp(
  '<\\?xml[ \\t\\r\\n]+version[ \\t\\r\\n]*=[ \\t\\r\\n]*(?:"(1\\.[0-9]+)"|\'(1\\.[0-9]+)\')' +
    '(?:[ \\t\\r\\n]+encoding[ \\t\\r\\n]*=[ \\t\\r\\n]*(?:"([A-Za-z][A-Za-z0-9._-]*)"|\'([A-Za-z][A-Za-z0-9._-]*)\'))?' +
    '(?:[ \\t\\r\\n]+standalone[ \\t\\r\\n]*=[ \\t\\r\\n]*(?:"(yes|no)"|\'(yes|no)\'))?[ \\t\\r\\n]*\\?>',
  'y',
);
const EMPTY_ATTRIBUTES: readonly XmlAttribute[] = Object.freeze([]);

// Character codes compared with charCodeAt(); an object of number literals rather than an enum,
// so that comparing with a plain number is comparing numbers.
const Code = {
  Tab: 0x09,
  Lf: 0x0a,
  Cr: 0x0d,
  Space: 0x20,
  Quot: 0x22,
  Amp: 0x26,
  Apos: 0x27,
  Slash: 0x2f,
  Colon: 0x3a,
  Lt: 0x3c,
  Eq: 0x3d,
  Gt: 0x3e,
  Question: 0x3f,
  Bang: 0x21,
} as const;

function isSpace(c: number): boolean {
  return c === Code.Space || c === Code.Tab || c === Code.Lf || c === Code.Cr;
}

/** NameStartChar of XML 1.0 fifth edition, minus ':' (we read QNames); surrogates: planes 1–14. */
function isNameStart(c: number): boolean {
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
  return (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    c === 0x200c ||
    c === 0x200d ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd) ||
    (c >= 0xd800 && c <= 0xdb7f)
  );
}

function isNameChar(c: number): boolean {
  if (c < 0x80) return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
  // A low surrogate follows a high one here: NOT_CHAR has refused every lone surrogate.
  return (
    isNameStart(c) ||
    c === 0xb7 ||
    (c >= 0x300 && c <= 0x36f) ||
    c === 0x203f ||
    c === 0x2040 ||
    (c >= 0xdc00 && c <= 0xdfff)
  );
}

/** The end of the QName (NCName, or NCName ':' NCName) at i; i itself when there is none. */
function qnameEnd(xml: string, i: number): number {
  if (!isNameStart(xml.charCodeAt(i))) return i;
  let j = i + 1;
  while (isNameChar(xml.charCodeAt(j))) j++;
  if (xml.charCodeAt(j) !== Code.Colon) return j;
  if (!isNameStart(xml.charCodeAt(j + 1))) throw new XmlSyntaxError('bad qualified name', i);
  j += 2;
  while (isNameChar(xml.charCodeAt(j))) j++;
  if (xml.charCodeAt(j) === Code.Colon) throw new XmlSyntaxError('bad qualified name', i);
  return j;
}

/** XSD white space (space, tab, CR, LF) only: trim() would also strip U+00A0, U+2028, U+FEFF. */
export function xsdTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function codePointName(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

function isChar(code: number): boolean {
  return (
    code === Code.Tab ||
    code === Code.Lf ||
    code === Code.Cr ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** The character(s) of one reference body (between '&' and ';'). */
function referenced(body: string, offset: number): string {
  const named = NAMED_ENTITIES[body];
  if (named !== undefined) return named;
  let code = NaN;
  if (/^#x[0-9A-Fa-f]+$/.test(body)) code = parseInt(body.slice(2), 16);
  else if (/^#[0-9]+$/.test(body)) code = parseInt(body.slice(1), 10);
  else
    throw new XmlSyntaxError(
      /^[A-Za-z_][\w.-]{0,31}$/.test(body) ? `unknown entity &${body};` : 'bad reference',
      offset,
    );
  if (!isChar(code)) {
    throw new XmlSyntaxError(
      code <= 0x10ffff ? `reference to a character not allowed in XML (${codePointName(code)})` : 'bad reference',
      offset,
    );
  }
  return String.fromCodePoint(code);
}

/** Decodes the references in raw (text or an attribute value starting at offset). */
function decodeReferences(raw: string, offset: number): string {
  let amp = raw.indexOf('&');
  if (amp < 0) return raw;
  let out = '';
  let from = 0;
  while (amp >= 0) {
    const semi = raw.indexOf(';', amp + 1);
    if (semi < 0) throw new XmlSyntaxError('bad reference', offset + amp);
    out += raw.slice(from, amp) + referenced(raw.slice(amp + 1, semi), offset + amp);
    from = semi + 1;
    amp = raw.indexOf('&', from);
  }
  return out + raw.slice(from);
}

function normalizeLineEnds(raw: string): string {
  return raw.indexOf('\r') < 0 ? raw : raw.replace(/\r\n?/g, '\n');
}

/** An attribute value as XML 1.0 §3.3.3 gives it for CDATA: line ends, then white space, then references. */
function attributeValue(raw: string, offset: number): string {
  if (raw.indexOf('<') >= 0) throw new XmlSyntaxError("'<' in an attribute value", offset);
  const spaced = /[\t\n\r]/.test(raw) ? normalizeLineEnds(raw).replace(/[\t\n]/g, ' ') : raw;
  return decodeReferences(spaced, offset);
}

/** Character data between markup; ']]>' may appear only as the end of a CDATA section. */
function textOf(raw: string, offset: number): string {
  const end = raw.indexOf(']]>');
  if (end >= 0) throw new XmlSyntaxError("']]>' in text", offset + end);
  return decodeReferences(normalizeLineEnds(raw), offset);
}

function checkChars(xml: string): void {
  if (!NOT_CHAR_OR_SURROGATE.test(xml)) return;
  const bad = NOT_CHAR.exec(xml);
  if (bad !== null)
    throw new XmlSyntaxError(
      `character ${codePointName(defined(xml.codePointAt(bad.index), 'the matched code point'))} is not allowed in XML`,
      bad.index,
    );
}

/** The XML declaration at `at` (validated), or undefined when there is none. */
function xmlDeclaration(xml: string, at: number): RegExpExecArray | undefined {
  if (!xml.startsWith('<?xml', at) || !(isSpace(xml.charCodeAt(at + 5)) || xml.charCodeAt(at + 5) === Code.Question))
    return undefined;
  XML_DECLARATION.lastIndex = at;
  const declaration = XML_DECLARATION.exec(xml);
  if (declaration === null) throw new XmlSyntaxError('malformed XML declaration', at);
  return declaration;
}

/** The encoding named by the XML declaration at the start of xml (after a BOM), if any. */
export function declaredEncoding(xml: string): string | undefined {
  const declaration = xmlDeclaration(xml, xml.charCodeAt(0) === 0xfeff ? 1 : 0);
  return declaration?.[3] ?? declaration?.[4];
}

type Scope = ReadonlyMap<string, string>;
const EMPTY_SCOPE: Scope = new Map();

interface RawAttribute {
  readonly qname: string;
  readonly value: string;
  readonly offset: number;
}

interface Open {
  readonly element: XmlElement;
  readonly qname: string;
  readonly scope: Scope;
}

/** Checks a namespace declaration (Namespaces 1.0 §3, reserved prefixes and names). */
function checkDeclaration(prefix: string, uri: string, offset: number): void {
  if (prefix === 'xmlns') throw new XmlSyntaxError('the xmlns prefix must not be declared', offset);
  if ((prefix === 'xml') !== (uri === XML_NS))
    throw new XmlSyntaxError('the xml prefix and namespace belong to each other', offset);
  if (uri === XMLNS_NS) throw new XmlSyntaxError('the xmlns namespace must not be declared', offset);
  if (uri === '' && prefix !== '')
    throw new XmlSyntaxError(`prefix ${prefix} undeclared (not allowed in XML 1.0)`, offset);
  // trim(), not xsdTrim: saxes (our differential reference) trims namespace names with trim().
  if (uri !== uri.trim()) throw new XmlSyntaxError('a namespace name must not start or end with white space', offset);
}

function resolvePrefix(qname: string, scope: Scope, offset: number, unprefixed: string): { ns: string; name: string } {
  const colon = qname.indexOf(':');
  if (colon < 0) return { ns: unprefixed, name: qname };
  const prefix = qname.slice(0, colon);
  const ns = prefix === 'xml' ? XML_NS : scope.get(prefix);
  if (ns === undefined || prefix === 'xmlns') throw new XmlSyntaxError(`undeclared prefix ${prefix}`, offset);
  return { ns, name: qname.slice(colon + 1) };
}

class Reader {
  private readonly stack: Open[] = [];
  private root: XmlElement | undefined;
  private declarations = 0;
  private i = 0;

  constructor(
    private readonly xml: string,
    private readonly depthMax: number,
  ) {}

  parse(): XmlElement {
    const { xml } = this;
    checkChars(xml);
    const start = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
    const declaration = xmlDeclaration(xml, start);
    this.i = declaration === undefined ? start : start + declaration[0].length;
    const n = xml.length;
    while (this.i < n) {
      const lt = xml.indexOf('<', this.i);
      const textEnd = lt < 0 ? n : lt;
      if (textEnd > this.i) this.text(this.i, textEnd);
      if (lt < 0) break;
      const next = xml.charCodeAt(lt + 1);
      if (next === Code.Slash) this.endTag(lt);
      else if (next === Code.Bang) this.markupDeclaration(lt);
      else if (next === Code.Question) this.processingInstruction(lt);
      else this.startTag(lt);
    }
    if (this.stack.length > 0) throw new XmlSyntaxError('unclosed element', n);
    if (this.root === undefined) throw new XmlSyntaxError('no root element', 0);
    return this.root;
  }

  private text(from: number, to: number): void {
    const top = this.stack[this.stack.length - 1];
    if (top !== undefined) {
      top.element.text += textOf(this.xml.slice(from, to), from);
      return;
    }
    for (let j = from; j < to; j++) {
      if (!isSpace(this.xml.charCodeAt(j))) throw new XmlSyntaxError('text outside the root element', j);
    }
  }

  private processingInstruction(lt: number): void {
    let end = lt + 2;
    while (isNameChar(this.xml.charCodeAt(end)) || this.xml.charCodeAt(end) === Code.Colon) end++;
    const target = this.xml.slice(lt + 2, end);
    if (target.toLowerCase() === 'xml') throw new XmlSyntaxError('an XML declaration is allowed only at the start', lt);
    throw new XmlSyntaxError('processing instructions are not accepted', lt);
  }

  private markupDeclaration(lt: number): void {
    const { xml } = this;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('--', lt + 4);
      if (end < 0) throw new XmlSyntaxError('unclosed comment', lt);
      if (xml.charCodeAt(end + 2) !== Code.Gt) throw new XmlSyntaxError("'--' inside a comment", end);
      this.i = end + 3;
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt + 9);
      const top = this.stack[this.stack.length - 1];
      if (end < 0 || top === undefined) throw new XmlSyntaxError('bad CDATA section', lt);
      top.element.text += normalizeLineEnds(xml.slice(lt + 9, end));
      this.i = end + 3;
    } else {
      throw new XmlSyntaxError('DOCTYPE and declarations are not accepted', lt);
    }
  }

  private endTag(lt: number): void {
    const { xml } = this;
    const open = this.stack.pop();
    if (open === undefined || !xml.startsWith(open.qname, lt + 2)) throw new XmlSyntaxError('mismatched end tag', lt);
    let end = lt + 2 + open.qname.length;
    while (isSpace(xml.charCodeAt(end))) end++;
    if (xml.charCodeAt(end) !== Code.Gt) throw new XmlSyntaxError('mismatched end tag', lt);
    this.i = end + 1;
  }

  private startTag(lt: number): void {
    const { xml } = this;
    const nameEnd = qnameEnd(xml, lt + 1);
    if (nameEnd === lt + 1) throw new XmlSyntaxError('bad element name', lt);
    const qname = xml.slice(lt + 1, nameEnd);
    let raw: RawAttribute[] | undefined;
    let j = nameEnd;
    let selfClosing = false;
    for (;;) {
      let c = xml.charCodeAt(j);
      const spaced = isSpace(c);
      while (isSpace(c)) c = xml.charCodeAt(++j);
      if (c === Code.Gt) break;
      if (c === Code.Slash) {
        if (xml.charCodeAt(j + 1) !== Code.Gt) throw new XmlSyntaxError("'/' not followed by '>' in a start tag", j);
        selfClosing = true;
        j++;
        break;
      }
      if (Number.isNaN(c)) throw new XmlSyntaxError('unclosed start tag', lt);
      if (!spaced)
        throw new XmlSyntaxError(raw === undefined ? 'bad element name' : 'no white space between attributes', j);
      raw ??= [];
      if (raw.length >= XML_ATTRIBUTES_MAX) throw new XmlSyntaxError(`more than ${XML_ATTRIBUTES_MAX} attributes`, j);
      j = this.attribute(j, raw);
    }
    this.open(qname, raw, selfClosing, lt);
    this.i = j + 1;
  }

  /** Reads `name S? = S? "value"` at j into raw; returns the offset after the closing quote. */
  private attribute(j: number, raw: RawAttribute[]): number {
    const { xml } = this;
    const nameEnd = qnameEnd(xml, j);
    if (nameEnd === j) throw new XmlSyntaxError('bad attribute name', j);
    let k = nameEnd;
    while (isSpace(xml.charCodeAt(k))) k++;
    if (xml.charCodeAt(k) !== Code.Eq) throw new XmlSyntaxError('attribute without a value', j);
    k++;
    while (isSpace(xml.charCodeAt(k))) k++;
    const quote = xml.charCodeAt(k);
    if (quote !== Code.Quot && quote !== Code.Apos) throw new XmlSyntaxError('attribute value not quoted', k);
    const close = xml.indexOf(quote === Code.Quot ? '"' : "'", k + 1);
    if (close < 0) throw new XmlSyntaxError('unclosed attribute value', k);
    raw.push({ qname: xml.slice(j, nameEnd), value: attributeValue(xml.slice(k + 1, close), k + 1), offset: j });
    return close + 1;
  }

  /** Adds the element with its namespace scope and attributes to the tree. */
  private open(qname: string, raw: readonly RawAttribute[] | undefined, selfClosing: boolean, lt: number): void {
    const parent = this.stack[this.stack.length - 1];
    const scope =
      raw === undefined ? (parent?.scope ?? EMPTY_SCOPE) : this.scopeOf(raw, parent?.scope ?? EMPTY_SCOPE, lt);
    const { ns, name } = resolvePrefix(qname, scope, lt, scope.get('') ?? '');
    const attributes = raw === undefined ? EMPTY_ATTRIBUTES : attributesOf(raw, scope);
    const element: XmlElement = { ns, name, attributes, children: [], text: '' };
    if (parent === undefined) {
      if (this.root !== undefined) throw new XmlSyntaxError('more than one root element', lt);
      this.root = element;
    } else {
      parent.element.children.push(element);
    }
    if (!selfClosing) {
      if (this.stack.length >= this.depthMax) throw new XmlSyntaxError('nested too deeply', lt);
      this.stack.push({ element, qname, scope });
    }
  }

  /** The parent's scope plus this tag's declarations; refuses a duplicate attribute name. */
  private scopeOf(raw: readonly RawAttribute[], parent: Scope, lt: number): Scope {
    let scope: Map<string, string> | undefined;
    for (let a = 0; a < raw.length; a++) {
      const { qname, value, offset } = itemAt(raw, a);
      for (let b = 0; b < a; b++)
        if (raw[b]?.qname === qname) throw new XmlSyntaxError(`duplicate attribute ${qname}`, offset);
      if (qname !== 'xmlns' && !qname.startsWith('xmlns:')) continue;
      if (++this.declarations > XMLNS_DECLARATIONS_MAX) throw new XmlSyntaxError('too many namespace declarations', lt);
      const prefix = qname === 'xmlns' ? '' : qname.slice(6);
      checkDeclaration(prefix, value, offset);
      scope ??= new Map(parent);
      scope.set(prefix, value);
    }
    return scope ?? parent;
  }
}

/** The attributes other than namespace declarations, resolved; refuses two with one expanded name. */
function attributesOf(raw: readonly RawAttribute[], scope: Scope): readonly XmlAttribute[] {
  let attributes: XmlAttribute[] | undefined;
  for (const { qname, value, offset } of raw) {
    if (qname === 'xmlns' || qname.startsWith('xmlns:')) continue;
    const { ns, name } = resolvePrefix(qname, scope, offset, '');
    // Unprefixed names were compared as written (scopeOf); prefixed ones also by expanded name.
    if (ns !== '' && attributes?.some((a) => a.ns === ns && a.name === name) === true) {
      throw new XmlSyntaxError(`duplicate attribute ${qname}`, offset);
    }
    (attributes ??= []).push({ ns, name, value });
  }
  return attributes ?? EMPTY_ATTRIBUTES;
}

/** Parses a whole document; returns its root element. */
export function parseXml(xml: string, depthMax = XML_DEPTH_MAX): XmlElement {
  return new Reader(xml, depthMax).parse();
}

export function child(element: XmlElement, name: string): XmlElement | undefined {
  for (const c of element.children) if (c.name === name) return c;
  return undefined;
}

export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

/** The XSD-trimmed text of a required leaf child; throws when it is missing. */
export function childText(element: XmlElement, name: string): string {
  const c = child(element, name);
  if (c === undefined) throw new XmlSyntaxError(`<${element.name}> has no <${name}>`, 0);
  return xsdTrim(c.text);
}

export function optionalChildText(element: XmlElement, name: string): string | undefined {
  const c = child(element, name);
  return c === undefined ? undefined : xsdTrim(c.text);
}
