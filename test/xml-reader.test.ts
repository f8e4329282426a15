import { expect } from 'chai';
import {
  childText,
  optionalChildText,
  parseXml,
  xsdTrim,
  XML_ATTRIBUTES_MAX,
  XmlSyntaxError,
} from '../common/xml-reader';
import { readEnvelope } from '../common/soap-envelope';
import { readArguments } from '../common/soap-message';
import { SOAP11_ENVELOPE_NS } from '../common/contract';

describe('xml-reader: namespaces', () => {
  it('resolves prefixes and the default namespace, inherited by children', () => {
    const root = parseXml('<a:Env xmlns:a="urn:a" xmlns="urn:d"><a:B><c x="1">t&amp;u</c></a:B><e xmlns=""/></a:Env>');
    expect([root.ns, root.name]).to.deep.equal(['urn:a', 'Env']);
    const b = root.children[0]!;
    expect([b.ns, b.name]).to.deep.equal(['urn:a', 'B']);
    const c = b.children[0]!;
    expect([c.ns, c.name, c.text]).to.deep.equal(['urn:d', 'c', 't&u']);
    const e = root.children[1]!;
    expect([e.ns, e.name]).to.deep.equal(['', 'e']);
  });

  it('scopes a declaration to its element', () => {
    expect(() => parseXml('<r><p:a xmlns:p="urn:p"/><p:b/></r>')).to.throw(XmlSyntaxError, /undeclared prefix p/);
  });

  for (const [name, xml] of [
    ['an undeclared prefix', '<p:a/>'],
    ['two colons in a name', '<a:b:c xmlns:a="urn:a"/>'],
    ['a DOCTYPE', '<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'],
    ['an unknown entity', '<r>&x;</r>'],
    ['a mismatched end tag', '<a:r xmlns:a="urn:a"></r>'],
    ['a redeclared xmlns prefix', '<r xmlns:xmlns="urn:x"/>'],
  ] as const) {
    it(`refuses ${name}`, () => {
      expect(() => parseXml(xml)).to.throw(XmlSyntaxError);
    });
  }
});

describe('xml-reader: cost stays linear in hostile input', () => {
  it('reads a 64 KiB run of name characters in a start tag in milliseconds', () => {
    const xml = `<E xmlns${'a'.repeat(65_400)}>`;
    const startedMs = Date.now();
    expect(() => parseXml(xml)).to.throw(XmlSyntaxError);
    expect(Date.now() - startedMs).to.be.below(200);
  });

  it('refuses more than 64 namespace declarations in a document', () => {
    const declarations = Array.from({ length: 65 }, (_, i) => `<a xmlns:p${i}="urn:${i}"/>`).join('');
    expect(() => parseXml(`<r>${declarations}</r>`)).to.throw(XmlSyntaxError, /namespace declarations/);
    expect(() => parseXml(`<r>${declarations.slice(declarations.indexOf('/>') + 2)}</r>`)).to.not.throw();
  });
});

// XML 1.0 (fifth edition) well-formedness and Namespaces 1.0: each case below was accepted
// before (issue 7, item 8) or pins a rule the differential test relies on.
function envelope(value: string): string {
  return `<s:Envelope xmlns:s="${SOAP11_ENVELOPE_NS}"><s:Body><b:Read xmlns:b="urn:b"><b:accountId>${value}</b:accountId></b:Read></s:Body></s:Envelope>`;
}

describe('xml-reader: the Char production', () => {
  const refused: readonly (readonly [string, string])[] = [
    ['a raw NUL in text', envelope('1\u0000')],
    ['a raw U+0001 in text', envelope('\u00011')],
    ['a raw ESC in text', envelope('1\u001b')],
    ['a raw U+000C in text', envelope('1\u000c')],
    ['a raw NUL in an attribute value', '<r a="\u0000"/>'],
    ['a raw U+0008 in a comment', '<r><!-- \u0008 --></r>'],
    ['a raw U+001F in CDATA', '<r><![CDATA[\u001f]]></r>'],
    ['a raw U+FFFE', envelope('1\ufffe')],
    ['a raw U+FFFF', envelope('1\uffff')],
    ['a lone high surrogate', envelope('1\ud800')],
    ['a lone low surrogate', envelope('\udc001')],
    ['&#0;', envelope('&#0;')],
    ['&#27;', envelope('1&#27;')],
    ['&#x1B;', envelope('1&#x1B;')],
    ['&#xC;', envelope('&#xC;')],
    ['&#xD800; (a surrogate)', envelope('&#xD800;')],
    ['&#xDFFF; (a surrogate)', envelope('&#xDFFF;')],
    ['&#xFFFE;', envelope('&#xFFFE;')],
    ['&#65535;', envelope('&#65535;')],
    ['&#x110000;', envelope('&#x110000;')],
    ['&#27; in an attribute value', '<r a="&#27;"/>'],
    ['&#x; (no digits)', envelope('&#x;')],
    ['&#1a; (not decimal)', envelope('&#1a;')],
    ['&#X41; (upper-case X)', envelope('&#X41;')],
  ];
  for (const [name, xml] of refused) {
    it(`refuses ${name}`, () => {
      expect(() => parseXml(xml)).to.throw(XmlSyntaxError);
    });
  }

  it('names a refused character by its code point and never echoes it', () => {
    for (const bad of ['\u0000', '\u0001', '\u001b', '\ud800']) {
      let message = '';
      try {
        parseXml(envelope(`1${bad}`));
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).to.match(/U\+[0-9A-F]{4}/);
      expect(message).to.not.contain(bad);
    }
  });

  it('accepts every Char: tab, CR, LF, U+007F, U+FFFD, a surrogate pair, and their references', () => {
    const text = parseXml(
      envelope('\t\u007f\ufffd\ud83d\ude00&#9;&#xA;&#xD;&#x7F;&#xFFFD;&#x1F600;&#x10FFFF;&#x0041;&#00066;'),
    ).children[0]!.children[0]!.children[0]!.text;
    expect(text).to.equal('\t\u007f\ufffd\ud83d\ude00\t\n\r\u007f\ufffd\ud83d\ude00\u{10FFFF}AB');
  });
});

describe('xml-reader: text, comments, declarations', () => {
  for (const [name, xml] of [
    [']]> in text', envelope('1]]>')],
    [']]> in text after a reference', envelope('&amp;]]>')],
    ['-- inside a comment', '<r><!-- a -- b --></r>'],
    ['a comment ending in --->', '<r><!-- a ---></r>'],
    ['an XML declaration after the root', '<r/><?xml version="1.0"?>'],
    ['an XML declaration after white space', ' <?xml version="1.0"?><r/>'],
    ['an XML declaration after a comment', '<!-- c --><?xml version="1.0"?><r/>'],
    ['an XML declaration inside the root', '<r><?xml version="1.0"?></r>'],
    ['an XML declaration without version', '<?xml encoding="utf-8"?><r/>'],
    ['an XML declaration with version 2.0', '<?xml version="2.0"?><r/>'],
    ['an XML declaration with standalone="maybe"', '<?xml version="1.0" standalone="maybe"?><r/>'],
    [
      'an XML declaration with its pseudo-attributes out of order',
      '<?xml version="1.0" standalone="yes" encoding="utf-8"?><r/>',
    ],
    ['an XML declaration with an unquoted version', '<?xml version=1.0?><r/>'],
    ['a processing instruction (SOAP 1.1 forbids them)', '<r><?pi data?></r>'],
    ['non-white text outside the root', '<r/>x'],
    ['a no-break space outside the root', '\u00a0<r/>'],
    ['a reference outside the root', '<r/>&#32;'],
  ] as const) {
    it(`refuses ${name}`, () => {
      expect(() => parseXml(xml)).to.throw(XmlSyntaxError);
    });
  }

  it('accepts ]]&gt; in text, ]]> in an attribute value and an empty comment', () => {
    const root = parseXml('<?xml version="1.0" encoding="UTF-8" standalone="no"?><r a="]]>"><!----><b>]]&gt;]</b></r>');
    expect(root.children[0]!.text).to.equal(']]>]');
    expect(root.attributes).to.deep.equal([{ ns: '', name: 'a', value: ']]>' }]);
  });

  it('normalizes line ends (XML 1.0 §2.11) but keeps a CR written as a reference', () => {
    const root = parseXml('<r><a>1\r\n2\r3\n4&#13;5&#xD;&#xA;</a><b><![CDATA[x\r\ny]]></b></r>');
    expect(root.children[0]!.text).to.equal('1\n2\n3\n4\r5\r\n');
    expect(root.children[1]!.text).to.equal('x\ny');
  });

  it('skips a leading byte-order mark', () => {
    expect(parseXml('\ufeff<?xml version="1.0"?><r/>').name).to.equal('r');
  });
});

describe('xml-reader: attributes', () => {
  for (const [name, xml] of [
    ['an unquoted value', '<r a=1/>'],
    ['an attribute without a value', '<r a/>'],
    ['an attribute without a value before another', '<r a b="1"/>'],
    ['an empty value position', '<r a= />'],
    ['< inside a value', '<r a="x<y"/>'],
    ['a duplicate attribute', '<r a="1" a="2"/>'],
    ['a duplicate attribute, other quotes', `<r a="1" a='1'/>`],
    ['a prefix declared twice on one element', '<r xmlns:p="urn:p" xmlns:p="urn:p"/>'],
    ['the default namespace declared twice on one element', '<r xmlns="urn:p" xmlns="urn:q"/>'],
    ['two attributes with one expanded name', '<r xmlns:p="urn:p" xmlns:q="urn:p" p:a="1" q:a="2"/>'],
    ['no white space between attributes', '<r a="1"b="2"/>'],
    ['a space inside />', '<r a="1"/ >'],
    ['an unknown entity in a value', '<r a="&bogus;"/>'],
    ['a bare & in a value', '<r a="x & y"/>'],
    ['an undeclared attribute prefix', '<r p:a="1"/>'],
    ['an unclosed value', '<r a="1/>'],
    ['a prefix undeclared with xmlns:p=""', '<r xmlns:p=""/>'],
    ['a prefix bound to the xmlns namespace', '<r xmlns:p="http://www.w3.org/2000/xmlns/"/>'],
    ['the xml prefix bound elsewhere', '<r xmlns:xml="urn:x"/>'],
    ['another prefix bound to the xml namespace', '<r xmlns:p="http://www.w3.org/XML/1998/namespace"/>'],
    ['an element with the xmlns prefix', '<xmlns:r/>'],
    ['an attribute named xmlns:', '<r xmlns:="urn:x"/>'],
    ['an attribute name with two colons', '<r xmlns:a="urn:a" a:b:c="1"/>'],
    ['a namespace name with leading white space', '<p:r xmlns:p=" urn:p"/>'],
  ] as const) {
    it(`refuses ${name}`, () => {
      expect(() => parseXml(xml)).to.throw(XmlSyntaxError);
    });
  }

  it('exposes attributes (not namespace declarations) with their namespace and normalized value', () => {
    const root = parseXml(
      `<r xmlns:xsi="urn:xsi" xmlns="urn:d" xsi:nil="true" plain = 'a\tb\r\nc&#9;&lt;' xml:lang="en"/>`,
    );
    expect(root.attributes).to.deep.equal([
      { ns: 'urn:xsi', name: 'nil', value: 'true' },
      { ns: '', name: 'plain', value: 'a b c\t<' },
      { ns: 'http://www.w3.org/XML/1998/namespace', name: 'lang', value: 'en' },
    ]);
    expect(parseXml('<r/>').attributes).to.deep.equal([]);
  });

  it('normalizes white space inside a namespace name and accepts xmlns:xml bound to its own namespace', () => {
    const root = parseXml('<p:r xmlns:p="urn:a\tb" xmlns:xml="http://www.w3.org/XML/1998/namespace"/>');
    expect(root.ns).to.equal('urn:a b');
  });

  it('reads names beyond ASCII (XML 1.0 fifth edition Name production)', () => {
    const root = parseXml('<é:Konto xmlns:é="urn:é" é:ÿ="1"><名前>x</名前></é:Konto>');
    expect([root.ns, root.name, root.children[0]!.name]).to.deep.equal(['urn:é', 'Konto', '名前']);
    expect(() => parseXml('<·a/>')).to.throw(XmlSyntaxError);
  });
});

describe('xml-reader: XSD white space', () => {
  it('trims only space, tab, CR and LF (not U+00A0 or U+2028, which trim() removes)', () => {
    const read = parseXml(envelope('&#160;1&#x2028;')).children[0]!.children[0]!;
    expect(optionalChildText(read, 'accountId')).to.equal('\u00a01\u2028');
    expect(childText(read, 'accountId')).to.equal('\u00a01\u2028');
    expect(xsdTrim(' \t\r\n1 2\n')).to.equal('1 2');
    expect(xsdTrim('\u00a0\u2028\ufeff')).to.equal('\u00a0\u2028\ufeff');
    expect(xsdTrim(' \n ')).to.equal('');
  });
});

describe('xml-reader: XSD white space at the SOAP edge', () => {
  it('hands the handler "\\u00a01\\u2028" for <accountId>&#160;1&#x2028;</accountId>, so its pattern refuses it', () => {
    const xml =
      `<s:Envelope xmlns:s="${SOAP11_ENVELOPE_NS}"><s:Header><b:client-id xmlns:b="urn:b">&#160;alice</b:client-id></s:Header>` +
      '<s:Body><b:Read xmlns:b="urn:b"><b:accountId>&#160;1&#x2028;</b:accountId><b:limit> 5\t</b:limit></b:Read></s:Body></s:Envelope>';
    const request = readEnvelope(xml, { namespace: 'urn:b', headers: new Map([['client-id', { nillable: false }]]) });
    const fields = [
      { name: 'accountId', repeated: false, nillable: false },
      { name: 'limit', repeated: false, nillable: false },
    ];
    const args = readArguments(request.body, fields, 'urn:b');
    expect(args).to.deep.equal({ accountId: '\u00a01\u2028', limit: '5' });
    expect(request.headerBlocks.get('client-id')).to.equal('\u00a0alice');
  });
});

describe('xml-reader: attribute limits stay linear', () => {
  it(`refuses more than ${XML_ATTRIBUTES_MAX} attributes on one element, quickly even for 64 KiB of them`, () => {
    const attributes = (count: number): string => Array.from({ length: count }, (_, i) => ` a${i}="${i}"`).join('');
    expect(parseXml(`<r${attributes(XML_ATTRIBUTES_MAX)}/>`).attributes).to.have.length(XML_ATTRIBUTES_MAX);
    expect(() => parseXml(`<r${attributes(XML_ATTRIBUTES_MAX + 1)}/>`)).to.throw(XmlSyntaxError, /attributes/);
    const startedMs = Date.now();
    expect(() => parseXml(`<r${' a=""'.repeat(13_000)}/>`)).to.throw(XmlSyntaxError);
    expect(Date.now() - startedMs).to.be.below(200);
  });
});
