/**
 * A small, strict, namespace-aware XML reader for SOAP messages on the hot paths (the SOAP edge
 * of every server, and the business tier's data-tier client). DESIGN §9: node-soap's parsing
 * is most of its cost; a purpose-built reader does the same job for our WSDL-described messages
 * in a few microseconds.
 *
 * It builds a tree of elements (namespace URI, local name, children, text), keeps every leaf's
 * text as text, decodes the five predefined entities and character references, reads CDATA,
 * skips comments and processing instructions, and refuses a DOCTYPE (no entity tricks), an
 * undeclared prefix, mismatched or unclosed tags, stray markup and more than `depthMax` levels.
 * Attributes other than namespace declarations are skipped (our messages carry none).
 */
export interface XmlElement {
  /** Namespace URI ('' when none). */
  readonly ns: string;
  /** Local name (prefix dropped). */
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

export const XML_DEPTH_MAX = 32;

export class XmlSyntaxError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'XmlSyntaxError';
  }
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const QNAME = /^[A-Za-z_][\w.-]*(:[A-Za-z_][\w.-]*)?$/;
// A match may start only at the beginning of a name (the lookbehind): without it, a long run
// of name characters with no '=' makes the search quadratic (4 s for 64 KiB, before login).
const ATTRIBUTE = /(?<![\w.:-])([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/g;
/** Namespace declarations per document, at most: each one copies the scope it extends. */
export const XMLNS_DECLARATIONS_MAX = 64;

function decodeEntities(raw: string, offset: number): string {
  if (raw.indexOf('&') < 0) return raw;
  return raw.replace(/&([^;]{0,10});?/g, (match, body: string) => {
    if (!match.endsWith(';')) throw new XmlSyntaxError('bad entity reference', offset);
    const named = NAMED_ENTITIES[body];
    if (named !== undefined) return named;
    let code = NaN;
    if (/^#x[0-9A-Fa-f]{1,6}$/.test(body)) code = parseInt(body.slice(2), 16);
    else if (/^#[0-9]{1,7}$/.test(body)) code = parseInt(body.slice(1), 10);
    if (!(code >= 0x9 && code <= 0x10ffff)) throw new XmlSyntaxError(`unknown entity &${body};`, offset);
    return String.fromCodePoint(code);
  });
}

/** Index of the '>' closing the start tag at lt, skipping quoted attribute values. */
function startTagEnd(xml: string, lt: number): number {
  const gt = xml.indexOf('>', lt + 1);
  if (gt < 0) throw new XmlSyntaxError('unclosed start tag', lt);
  // Fast path: no quote before the first '>' (or quotes that all close before it).
  const dq = xml.indexOf('"', lt + 1);
  const sq = xml.indexOf("'", lt + 1);
  if ((dq < 0 || dq > gt) && (sq < 0 || sq > gt)) return gt;
  let quote = 0;
  for (let j = lt + 1; j < xml.length; j++) {
    const c = xml.charCodeAt(j);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) {
      quote = c;
    } else if (c === 0x3e) {
      return j;
    } else if (c === 0x3c) {
      break;
    }
  }
  throw new XmlSyntaxError('unclosed start tag', lt);
}

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x3a;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

type Scope = ReadonlyMap<string, string>;

/** The namespace scope of a start tag: the parent's, plus the tag's own xmlns declarations. */
function scopeOf(attributes: string, parent: Scope, offset: number, budget: { declarations: number }): Scope {
  if (attributes.indexOf('xmlns') < 0) return parent;
  let scope: Map<string, string> | undefined;
  ATTRIBUTE.lastIndex = 0;
  for (let m = ATTRIBUTE.exec(attributes); m !== null; m = ATTRIBUTE.exec(attributes)) {
    const name = m[1]!;
    if (name !== 'xmlns' && !name.startsWith('xmlns:')) continue;
    if (++budget.declarations > XMLNS_DECLARATIONS_MAX) throw new XmlSyntaxError('too many namespace declarations', offset);
    scope ??= new Map(parent);
    const prefix = name === 'xmlns' ? '' : name.slice(6);
    if (prefix === 'xmlns' || prefix === 'xml') throw new XmlSyntaxError(`reserved prefix ${prefix}`, offset);
    scope.set(prefix, decodeEntities(m[3] ?? m[4] ?? '', offset));
  }
  return scope ?? parent;
}

function resolve(qname: string, scope: Scope, offset: number): { ns: string; name: string } {
  const colon = qname.indexOf(':');
  if (colon < 0) return { ns: scope.get('') ?? '', name: qname };
  const prefix = qname.slice(0, colon);
  const ns = prefix === 'xml' ? XML_NS : scope.get(prefix);
  if (ns === undefined) throw new XmlSyntaxError(`undeclared prefix ${prefix}`, offset);
  return { ns, name: qname.slice(colon + 1) };
}

const EMPTY_SCOPE: Scope = new Map();

/** Parses a whole document; returns its root element. */
export function parseXml(xml: string, depthMax = XML_DEPTH_MAX): XmlElement {
  const stack: { element: XmlElement; qname: string; scope: Scope }[] = [];
  let root: XmlElement | undefined;
  const budget = { declarations: 0 };
  let i = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const raw = xml.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top === undefined) {
        if (raw.trim() !== '') throw new XmlSyntaxError('text outside the root element', i);
      } else {
        top.element.text += decodeEntities(raw, i);
      }
    }
    if (lt < 0) break;
    const next = xml.charCodeAt(lt + 1);
    if (next === 0x3f /* ? */) {
      const end = xml.indexOf('?>', lt + 2);
      if (end < 0) throw new XmlSyntaxError('unclosed processing instruction', lt);
      i = end + 2;
    } else if (next === 0x21 /* ! */) {
      if (xml.startsWith('<!--', lt)) {
        const end = xml.indexOf('-->', lt + 4);
        if (end < 0) throw new XmlSyntaxError('unclosed comment', lt);
        i = end + 3;
      } else if (xml.startsWith('<![CDATA[', lt)) {
        const end = xml.indexOf(']]>', lt + 9);
        const top = stack[stack.length - 1];
        if (end < 0 || top === undefined) throw new XmlSyntaxError('bad CDATA section', lt);
        top.element.text += xml.slice(lt + 9, end);
        i = end + 3;
      } else {
        throw new XmlSyntaxError('DOCTYPE and declarations are not accepted', lt);
      }
    } else if (next === 0x2f /* / */) {
      const open = stack.pop();
      if (open === undefined || !xml.startsWith(open.qname, lt + 2)) throw new XmlSyntaxError('mismatched end tag', lt);
      let end = lt + 2 + open.qname.length;
      while (end < n && isSpace(xml.charCodeAt(end))) end++;
      if (xml.charCodeAt(end) !== 0x3e) throw new XmlSyntaxError('mismatched end tag', lt);
      i = end + 1;
    } else {
      const end = startTagEnd(xml, lt);
      if (!isNameStart(next)) throw new XmlSyntaxError('bad element name', lt);
      let nameEnd = lt + 2;
      while (nameEnd < end && isNameChar(xml.charCodeAt(nameEnd))) nameEnd++;
      const after = xml.charCodeAt(nameEnd);
      if (nameEnd < end && !isSpace(after) && after !== 0x2f) throw new XmlSyntaxError('bad element name', lt);
      const qname = xml.slice(lt + 1, nameEnd);
      if (!QNAME.test(qname)) throw new XmlSyntaxError('bad element name', lt);
      const selfClosing = xml.charCodeAt(end - 1) === 0x2f;
      const parent = stack[stack.length - 1];
      const parentScope = parent?.scope ?? EMPTY_SCOPE;
      const scope = nameEnd < end ? scopeOf(xml.slice(nameEnd, selfClosing ? end - 1 : end), parentScope, lt, budget) : parentScope;
      const { ns, name } = resolve(qname, scope, lt);
      const element: XmlElement = { ns, name, children: [], text: '' };
      if (parent === undefined) {
        if (root !== undefined) throw new XmlSyntaxError('more than one root element', lt);
        root = element;
      } else {
        parent.element.children.push(element);
      }
      if (!selfClosing) {
        if (stack.length >= depthMax) throw new XmlSyntaxError('nested too deeply', lt);
        stack.push({ element, qname, scope });
      }
      i = end + 1;
    }
  }
  if (stack.length > 0) throw new XmlSyntaxError('unclosed element', n);
  if (root === undefined) throw new XmlSyntaxError('no root element', 0);
  return root;
}

export function child(element: XmlElement, name: string): XmlElement | undefined {
  for (const c of element.children) if (c.name === name) return c;
  return undefined;
}

export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

/** The trimmed text of a required leaf child; throws when it is missing. */
export function childText(element: XmlElement, name: string): string {
  const c = child(element, name);
  if (c === undefined) throw new XmlSyntaxError(`<${element.name}> has no <${name}>`, 0);
  return c.text.trim();
}

export function optionalChildText(element: XmlElement, name: string): string | undefined {
  const c = child(element, name);
  return c === undefined ? undefined : c.text.trim();
}
