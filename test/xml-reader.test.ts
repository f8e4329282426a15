import { expect } from 'chai';
import { parseXml, XmlSyntaxError } from '../common/xml-reader';

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
