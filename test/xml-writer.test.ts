import { expect } from 'chai';
import { SaxesParser } from 'saxes';
import { SeededRandom } from '../common/seeded-random';
import { parseXml } from '../common/xml-reader';
import { XmlCharError, xmlAttribute, xmlText } from '../common/xml-writer';

/**
 * common/xml-writer.ts: what it writes, our reader and saxes (an independent strict XML 1.0
 * parser) read back as the same string, for text and for attribute values; a character XML 1.0
 * cannot carry is replaced or refused, never written.
 */
function document(value: string): string {
  return `<a x="${xmlAttribute(value)}" y='${xmlAttribute(value)}'>${xmlText(value)}</a>`;
}

function saxesRead(xml: string): { attributes: Record<string, string>; text: string } {
  const parser = new SaxesParser({ xmlns: false });
  let attributes: Record<string, string> = {};
  let text = '';
  parser.on('opentag', (tag) => {
    attributes = Object.fromEntries(Object.entries(tag.attributes).map(([k, v]) => [k, v]));
  });
  parser.on('text', (t) => (text += t));
  parser.on('error', (e) => {
    throw e;
  });
  parser.write(xml).close();
  return { attributes, text };
}

function expectRoundTrip(value: string): void {
  const xml = document(value);
  const ours = parseXml(xml);
  expect(ours.text, JSON.stringify(value)).to.equal(value);
  expect(ours.attributes.map((a) => a.value)).to.deep.equal([value, value]);
  const theirs = saxesRead(xml);
  expect(theirs.text, JSON.stringify(value)).to.equal(value);
  expect(theirs.attributes).to.deep.equal({ x: value, y: value });
}

/** Characters that test the rules, and some that need nothing. */
const ALPHABET = [
  ...Array.from('&<>"\'\t\n\r ;#x]'), // ASCII: one element per character
  'a',
  'Z',
  '0',
  'é',
  '\u00a0',
  '\u2028',
  '名',
  '\ud7ff',
  '\ue000',
  '\ufffd',
  '😀',
  '\u{10ffff}',
];

describe('xml-writer: the escaper next to the reader', () => {
  it('writes the markup characters as the fault writer always did (known answers)', () => {
    expect(xmlText(`a<b&c>"d'e`)).to.equal('a&lt;b&amp;c&gt;&quot;d&apos;e');
    expect(xmlAttribute(`a<b&c>"d'e`)).to.equal('a&lt;b&amp;c&gt;&quot;d&apos;e');
    expect(xmlText('plain-id_1.2:3')).to.equal('plain-id_1.2:3');
    expect(xmlText(']]>')).to.equal(']]&gt;');
  });

  it('keeps tab and LF in text, writes CR as a reference; all three as references in attributes', () => {
    expect(xmlText('a\tb\nc\rd')).to.equal('a\tb\nc&#13;d');
    expect(xmlAttribute('a\tb\nc\rd')).to.equal('a&#9;b&#10;c&#13;d');
  });

  it('round-trips every value through our reader and saxes (text, both quote styles)', () => {
    for (const value of ['', 'x', '\r\n', ' \t\n\r ', '&amp;', '<![CDATA[x]]>', '&#13;', '😀\r😀']) {
      expectRoundTrip(value);
    }
    const random = new SeededRandom(20261201);
    for (let i = 0; i < 1000; i++) {
      const length = random.int(0, 12);
      expectRoundTrip(Array.from({ length }, () => random.pick(ALPHABET)).join(''));
    }
  });

  const NOT_CHARS: readonly (readonly [string, string])[] = [
    ['\u0000', 'U+0000'],
    ['\u001b', 'U+001B'],
    ['\u000b', 'U+000B'],
    ['\ufffe', 'U+FFFE'],
    ['\uffff', 'U+FFFF'],
    ['\ud800', 'U+D800'],
    ['\udfff', 'U+DFFF'],
  ];

  it('replaces a character outside XML 1.0 Char with U+FFFD by default, so the answer still parses', () => {
    for (const [c] of NOT_CHARS) {
      const value = `a${c}b`;
      expect(xmlText(value)).to.equal('a\ufffdb');
      expect(xmlAttribute(value)).to.equal('a\ufffdb');
      expect(parseXml(document(value)).text).to.equal('a\ufffdb');
    }
  });

  it("refuses such a character on request, naming its code point and not echoing it (as the reader's error does)", () => {
    for (const [c, name] of NOT_CHARS) {
      for (const escape of [xmlText, xmlAttribute]) {
        expect(() => escape(`a${c}b`, 'refuse'))
          .to.throw(XmlCharError, `${name} is not allowed in XML 1.0`)
          .with.property('message')
          .that.does.not.include(c);
      }
      expect(() => parseXml(`<a>x${c}y</a>`)).to.throw(/not allowed in XML/);
    }
    expect(xmlText('😀', 'refuse')).to.equal('😀');
  });
});
