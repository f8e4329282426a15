import { expect } from 'chai';
import { SaxesParser } from 'saxes';
import { parseXml, XmlElement, XmlSyntaxError } from '../common/xml-reader';
import { BANK_NAMESPACE, DATA_NAMESPACE, SOAP11_ENVELOPE_NS, XSI_NS } from '../common/contract';

/**
 * Differential test: common/xml-reader.ts against saxes (strict XML 1.0 + Namespaces 1.0) over
 * a seeded corpus of mutated SOAP envelopes. For every document:
 * - saxes refuses it as not well-formed → our reader refuses it too;
 * - both accept it → both see the same tree (namespace + local name, attributes other than
 *   namespace declarations with namespace, local name and normalized value, text);
 * - only ours refuses it → the refusal is one of the deliberate extras below, else it fails.
 * Set XML_DIFF_SEED / XML_DIFF_DOCUMENTS to explore further; a failure prints the seed, the
 * document's index and the document itself.
 */
const SEED = Number(process.env['XML_DIFF_SEED'] ?? 20261201);
const DOCUMENTS = Number(process.env['XML_DIFF_DOCUMENTS'] ?? 100_000);

/**
 * What our reader refuses although saxes (and XML 1.0) accept it, on purpose; each is matched
 * against our error message:
 * - a DOCTYPE (and any <!…> declaration): no DTDs, so no entity expansion tricks;
 * - processing instructions other than the XML declaration: SOAP 1.1 §3 forbids them;
 * - a namespace name starting or ending with white space: saxes silently trims it, the
 *   Namespaces spec would keep it; no stack sends one, so neither reading is trusted;
 * - a local name after a prefix that starts with a digit, '-' or '.' (`a:1b`): a QName is
 *   NCName ':' NCName (Namespaces 1.0 §4); saxes checks only the Name production;
 * - more than XML_DEPTH_MAX levels, XML_ATTRIBUTES_MAX attributes on one element or
 *   XMLNS_DECLARATIONS_MAX namespace declarations (limits).
 * And where saxes 6 is wrong, our reader follows XML 1.0:
 * - a lone surrogate (U+D800–U+DFFF not in a pair) is not a Char, but saxes lets one through
 *   in attribute values and in text.
 */
const DELIBERATE: readonly (readonly [string, RegExp])[] = [
  ['lone surrogate (saxes misses it)', /character U\+D[89A-F][0-9A-F]{2} is not allowed in XML/],
  ['DOCTYPE', /DOCTYPE and declarations are not accepted/],
  ['processing instruction', /processing instructions are not accepted/],
  ['namespace name with white space at an end', /namespace name must not start or end with white space/],
  ['QName local part not an NCName', /bad qualified name/],
  ['depth limit', /nested too deeply/],
  ['namespace declaration limit', /too many namespace declarations/],
  ['attribute limit', /more than \d+ attributes/],
];

const BASES: readonly string[] = [
  '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}"><soap:Header>` +
    '<b:auth-token>tok-1</b:auth-token><b:client-id>alice</b:client-id><b:request-id>r-1</b:request-id>' +
    '</soap:Header><soap:Body><b:Transfer><b:fromAccountId>1001</b:fromAccountId>' +
    '<b:toAccountId>1002</b:toAccountId><b:amount>12.34</b:amount></b:Transfer></soap:Body></soap:Envelope>',
  `<S:Envelope xmlns:S="${SOAP11_ENVELOPE_NS}">\n  <S:Header>\n    <auth-token xmlns="${BANK_NAMESPACE}">T&amp;K</auth-token>\n` +
    `    <request-id xmlns="${BANK_NAMESPACE}" xmlns:xsi="${XSI_NS}" xsi:nil="true"/>\n  </S:Header>\n` +
    `  <S:Body>\n    <ns2:GetBalance xmlns:ns2="${BANK_NAMESPACE}"><accountId> 7 </accountId></ns2:GetBalance>\n` +
    '  </S:Body>\n</S:Envelope>\n',
  `<?xml version='1.0' standalone='yes'?>\r\n<!-- gSOAP -->\r\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="${SOAP11_ENVELOPE_NS}" ` +
    `xmlns:xsi="${XSI_NS}" xmlns:ns1="${BANK_NAMESPACE}"><SOAP-ENV:Header><ns1:client-id SOAP-ENV:mustUnderstand="1">bob</ns1:client-id>` +
    '</SOAP-ENV:Header><SOAP-ENV:Body><ns1:Deposit><ns1:accountId>&#49;&#x32;</ns1:accountId>' +
    '<ns1:amount><![CDATA[0.010]]></ns1:amount></ns1:Deposit></SOAP-ENV:Body></SOAP-ENV:Envelope>',
  `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Body><ReadResponse xmlns="${DATA_NAMESPACE}">` +
    '<account><accountId>1</accountId><ownerId>é&lt;名&gt;</ownerId><balance>10.50</balance><version>3</version>' +
    '<locked>false</locked></account></ReadResponse></soap:Body></soap:Envelope>',
  `<e:Envelope xmlns:e="${SOAP11_ENVELOPE_NS}" e:encodingStyle="urn:x" xml:lang="en"><e:Body><q:Op xmlns:q="urn:q" a='1' b="&quot;x&apos;">` +
    '<q:v>a]b&#9;c</q:v><w xmlns=""/></q:Op></e:Body></e:Envelope>',
];

/** Fragments the mutator inserts: markup pieces, hostile characters, references, names. */
const PIECES: readonly string[] = [
  '<',
  '>',
  '&',
  '"',
  "'",
  '=',
  ' ',
  '\t',
  '\n',
  '\r',
  '\r\n',
  '/',
  ':',
  ';',
  '#',
  '?',
  '!',
  '[',
  ']',
  '-',
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000b',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\ufeff',
  '\ufffe',
  '\uffff',
  '\ud800',
  '\udc00',
  '\ud83d\ude00',
  'é',
  '名',
  '·',
  '\u0300',
  ']]>',
  ']]',
  '--',
  '<!--',
  '-->',
  '<!-- c -->',
  '<![CDATA[',
  '<![CDATA[x]]>',
  '<!DOCTYPE r>',
  '<?xml version="1.0"?>',
  '<?pi x?>',
  '<?xml ',
  '?>',
  '&amp;',
  '&lt;',
  '&gt;',
  '&quot;',
  '&apos;',
  '&bogus;',
  '&#27;',
  '&#0;',
  '&#x1B;',
  '&#xD800;',
  '&#xDFFF;',
  '&#xFFFE;',
  '&#65535;',
  '&#x110000;',
  '&#160;',
  '&#x2028;',
  '&#65;',
  '&#x41;',
  '&#x;',
  '&#;',
  '&#X41;',
  '&#13;',
  '&#x0000041;',
  ' a="1"',
  " a='1'",
  ' a=1',
  ' a',
  ' a="x<y"',
  ' a="1"a="2"',
  ' xmlns="urn:x"',
  ' xmlns=""',
  ' xmlns:b="urn:b"',
  ' xmlns:p="urn:p"',
  ' xmlns:p=""',
  ' xmlns:p=" urn:p"',
  ' p:a="1"',
  ' xmlns:xml="urn:x"',
  ' xml:lang="x"',
  ` xmlns:xsi="${XSI_NS}" xsi:nil="true"`,
  ' xmlns:xmlns="urn:x"',
  ` xmlns:p="${SOAP11_ENVELOPE_NS}" p:mustUnderstand="1"`,
  'p:',
  'b:',
  'x',
  '1',
  '<x>',
  '</x>',
  '<x/>',
  '<b:x>',
  '<p:x>',
  '</soap:Body>',
  '<soap:Body>',
];

const TEXT_PIECES: readonly string[] = [
  ' ',
  '\t',
  '\r\n',
  '\r',
  'x',
  'é',
  '名',
  '\ud83d\ude00',
  '\u00a0',
  '\u2028',
  '&amp;',
  '&lt;',
  '&#160;',
  '&#x2028;',
  '&#x10FFFF;',
  '&#13;',
  '&#x0000041;',
  ']]',
  ']',
  '<!-- c -->',
  '<!---->',
  '<![CDATA[ <&> ]]>',
  '<x/>',
  '<p:x xmlns:p="urn:p">t</p:x>',
  '<x a="1"/>',
  '<é:x xmlns:é="urn:é"/>',
];
const ATTRIBUTE_PIECES: readonly string[] = [
  ' a="1"',
  " a='&lt;&#9;\t\r\n'",
  ' xmlns:p="urn:p"',
  ' xmlns:p="urn:p" p:a="x"',
  ' xmlns=""',
  ' xmlns="urn:d"',
  ' xml:lang="en"',
  ` xmlns:xsi="${XSI_NS}" xsi:nil="true"`,
  ' b = "]]>"',
  ' xmlns:p="urn:p" xmlns:q="urn:p" p:a="1" q:a="2"',
  ' a="1" a="2"',
  ' ä="1"',
  ' xmlns:p="urn:p\t x"',
];

/** mulberry32: small, fast and seeded, so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(base: string, next: () => number): string {
  const pick = (n: number): number => Math.floor(next() * n);
  let doc = base;
  const edits = 1 + pick(3);
  for (let e = 0; e < edits; e++) {
    const at = pick(doc.length + 1);
    const kind = pick(12);
    if (kind >= 10) {
      // Mostly harmless edits, so that enough documents stay well-formed: a piece of text
      // after a '>', or an attribute before one.
      const gt = doc.indexOf('>', at);
      if (gt < 0) continue;
      const piece =
        kind === 10 ? TEXT_PIECES[pick(TEXT_PIECES.length)]! : ATTRIBUTE_PIECES[pick(ATTRIBUTE_PIECES.length)]!;
      const where = kind === 10 ? gt + 1 : doc[gt - 1] === '/' ? gt - 1 : gt;
      doc = doc.slice(0, where) + piece + doc.slice(where);
    } else if (kind < 5) {
      doc = doc.slice(0, at) + PIECES[pick(PIECES.length)]! + doc.slice(at);
    } else if (kind < 7) {
      doc = doc.slice(0, at) + doc.slice(at + 1 + pick(8));
    } else if (kind < 8) {
      const len = 1 + pick(12);
      doc = doc.slice(0, at) + doc.slice(at, at + len) + doc.slice(at);
    } else if (kind < 9) {
      doc = doc.slice(0, at) + PIECES[pick(PIECES.length)]! + doc.slice(at + 1);
    } else {
      const other = pick(doc.length);
      const [lo, hi] = at < other ? [at, other] : [other, at];
      if (hi < doc.length) doc = doc.slice(0, lo) + doc[hi]! + doc.slice(lo + 1, hi) + doc[lo]! + doc.slice(hi + 1);
    }
  }
  return doc;
}

/** The tree as both readers must agree on it. */
interface Node {
  ns: string;
  name: string;
  attributes: string[];
  text: string;
  children: Node[];
}

function ours(element: XmlElement): Node {
  return {
    ns: element.ns,
    name: element.name,
    attributes: element.attributes.map((a) => `{${a.ns}}${a.name}=${a.value}`),
    text: element.text,
    children: element.children.map(ours),
  };
}

function reference(xml: string): Node {
  const parser = new SaxesParser({ xmlns: true, forceXMLVersion: true, defaultXMLVersion: '1.0' });
  const stack: Node[] = [];
  let root: Node | undefined;
  parser.on('opentag', (tag) => {
    const attributes = Object.values(tag.attributes)
      .filter((a) => a.name !== 'xmlns' && a.prefix !== 'xmlns')
      .map((a) => `{${a.uri}}${a.local}=${a.value}`);
    const node: Node = { ns: tag.uri, name: tag.local, attributes, text: '', children: [] };
    const parent = stack[stack.length - 1];
    if (parent === undefined) root = node;
    else parent.children.push(node);
    stack.push(node);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const addText = (text: string): void => {
    const top = stack[stack.length - 1];
    if (top !== undefined) top.text += text;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.write(xml).close();
  if (root === undefined) throw new Error('saxes accepted a document without a root');
  return root;
}

function outcome(read: () => Node): { tree: Node } | { error: string } {
  try {
    return { tree: read() };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function show(doc: string): string {
  return JSON.stringify(doc);
}

describe('xml-reader: differential test against saxes', function () {
  this.timeout(300_000);

  it(`agrees with saxes on ${DOCUMENTS} mutated envelopes (seed ${SEED})`, () => {
    const next = random(SEED);
    const startedMs = Date.now();
    const counts = { bothAccept: 0, bothRefuse: 0, deliberate: new Map<string, number>() };
    const failures: string[] = [];
    for (let index = 0; index < DOCUMENTS && failures.length < 10; index++) {
      const doc = mutate(BASES[index % BASES.length]!, next);
      const theirs = outcome(() => reference(doc));
      const mine = outcome(() => ours(parseXml(doc)));
      if ('error' in mine && !mine.error.match(/at offset \d+$/)) {
        failures.push(
          `#${index}: our reader threw something other than XmlSyntaxError (${mine.error}) on ${show(doc)}`,
        );
      } else if ('error' in theirs && 'error' in mine) {
        counts.bothRefuse++;
      } else if ('error' in theirs) {
        failures.push(`#${index}: saxes refuses (${theirs.error}), ours accepts ${show(doc)}`);
      } else if ('error' in mine) {
        const reason = DELIBERATE.find(([, pattern]) => pattern.test(mine.error));
        if (reason === undefined) failures.push(`#${index}: ours refuses (${mine.error}), saxes accepts ${show(doc)}`);
        else counts.deliberate.set(reason[0], (counts.deliberate.get(reason[0]) ?? 0) + 1);
      } else if (JSON.stringify(mine.tree) !== JSON.stringify(theirs.tree)) {
        failures.push(
          `#${index}: trees differ on ${show(doc)}\n ours:  ${JSON.stringify(mine.tree)}\n saxes: ${JSON.stringify(theirs.tree)}`,
        );
      } else {
        counts.bothAccept++;
      }
    }
    const elapsedMs = Date.now() - startedMs;
    const deliberate = [...counts.deliberate].map(([name, n]) => `${name} ${n}`).join(', ') || 'none';
    console.log(
      `      corpus: ${DOCUMENTS} documents, seed ${SEED} (XML_DIFF_SEED), ${elapsedMs} ms; ` +
        `both accept ${counts.bothAccept}, both refuse ${counts.bothRefuse}, only ours refuses (deliberate): ${deliberate}`,
    );
    expect(failures, `seed ${SEED}:\n${failures.join('\n')}`).to.deep.equal([]);
    // The corpus must exercise both sides, or it proves nothing.
    expect(counts.bothAccept).to.be.above(DOCUMENTS / 20);
    expect(counts.bothRefuse).to.be.above(DOCUMENTS / 5);
  });

  it('has a reference that refuses what XML 1.0 refuses (so the comparison means something)', () => {
    for (const doc of [
      '<r>\u0001</r>',
      '<r>&#27;</r>',
      '<r a=1/>',
      '<r a="1" a="2"/>',
      '<r>]]></r>',
      '<r/><?xml version="1.0"?>',
    ]) {
      expect(() => reference(doc), doc).to.throw();
    }
    expect(() => parseXml('<r>\u0001</r>')).to.throw(XmlSyntaxError);
  });
});
