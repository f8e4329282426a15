import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ACCOUNT_ID_PATTERN,
  ADMIN_NAMESPACE,
  ADMIN_PATH,
  AUTH_TOKEN_CHARS_MAX,
  BANK_NAMESPACE,
  BANK_PATH,
  BANK_REQUEST_ID_CHARS_MAX,
  BANK_REQUEST_ID_PATTERN,
  DATA_NAMESPACE,
  DATA_PATH,
  DATA_REQUEST_ID_CHARS_MAX,
  ENTRY_ID_PATTERN,
  ENTRY_KINDS,
  FENCING_TOKEN_PATTERN,
  LOCK_ID_PATTERN,
  PRINCIPAL_ID_PATTERN,
  REQUEST_ID_CHARS_PATTERN,
  soapAction,
  soapActionHeader,
  TRACE_KEY_PATTERN,
  TRANSACTION_ID_PATTERN,
} from '../common/contract';
import { parseXml, XmlElement } from '../common/xml-reader';
import { REPO_DIR } from './helpers/process';

// The WSDLs are the contract; common/contract.ts mirrors them. Each check reads the WSDL's own
// text, so changing either side alone fails here.
const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';
const WSDL_SOAP_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';

function wsdl(file: string): XmlElement {
  return parseXml(readFileSync(join(REPO_DIR, 'wsdl', file), 'utf8'));
}

function descendants(root: XmlElement, ns: string, name: string): XmlElement[] {
  const found: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    if (e.ns === ns && e.name === name) found.push(e);
    e.children.forEach(walk);
  };
  walk(root);
  return found;
}

function attribute(e: XmlElement, name: string): string {
  const value = e.attributes.find((a) => a.ns === '' && a.name === name)?.value;
  if (value === undefined) throw new Error(`<${e.name}> has no ${name}`);
  return value;
}

/** The xsd:simpleType named so, or the anonymous one of the xsd:element named so. */
function simpleType(root: XmlElement, kind: 'simpleType' | 'element', name: string): XmlElement {
  const owner = descendants(root, XSD_NS, kind).find((e) => attribute(e, 'name') === name);
  if (owner === undefined) throw new Error(`no xsd:${kind} ${name}`);
  return kind === 'simpleType' ? owner : descendants(owner, XSD_NS, 'simpleType')[0]!;
}

function facets(type: XmlElement, facet: string): string[] {
  return descendants(type, XSD_NS, facet).map((e) => attribute(e, 'value'));
}

/**
 * An xsd:pattern as our anchored JavaScript source. XSD writes a class's literal final `-` as
 * `\-`, which is plain `-` in JavaScript; only that escape is rewritten (refused elsewhere).
 */
function jsSource(xsdPattern: string): string {
  const unescaped = xsdPattern.replace(/\\-\]/g, '-]');
  if (unescaped.includes('\\-')) throw new Error(`unexpected \\- in ${xsdPattern}`);
  return `^${unescaped}$`;
}

function patternOf(root: XmlElement, kind: 'simpleType' | 'element', name: string): string {
  const patterns = facets(simpleType(root, kind, name), 'pattern');
  expect(patterns, `${kind} ${name}: one pattern`).to.have.length(1);
  return jsSource(patterns[0]!);
}

const SERVICES = [
  { file: 'bank.wsdl', namespace: BANK_NAMESPACE, path: BANK_PATH },
  { file: 'data.wsdl', namespace: DATA_NAMESPACE, path: DATA_PATH },
  { file: 'admin.wsdl', namespace: ADMIN_NAMESPACE, path: ADMIN_PATH },
];

describe('the contract constants (common/contract.ts) against wsdl/*.wsdl', () => {
  for (const { file, namespace, path } of SERVICES) {
    describe(file, () => {
      const root = wsdl(file);

      it('has the namespace as targetNamespace of the definitions and the schema', () => {
        expect(attribute(root, 'targetNamespace')).to.equal(namespace);
        const schemas = descendants(root, XSD_NS, 'schema');
        expect(schemas).to.have.length(1);
        expect(attribute(schemas[0]!, 'targetNamespace')).to.equal(namespace);
      });

      it('declares every soapAction as soapAction(namespace, operation)', () => {
        const binding = descendants(root, WSDL_NS, 'binding');
        expect(binding).to.have.length(1);
        const operations = descendants(binding[0]!, WSDL_NS, 'operation');
        expect(operations.length).to.be.greaterThan(2);
        for (const op of operations) {
          const declared = attribute(descendants(op, WSDL_SOAP_NS, 'operation')[0]!, 'soapAction');
          expect(declared).to.equal(soapAction(namespace, attribute(op, 'name')));
          expect(soapActionHeader(namespace, attribute(op, 'name'))).to.equal(`"${declared}"`);
        }
      });

      it('serves the service at the path', () => {
        const address = descendants(root, WSDL_SOAP_NS, 'address');
        expect(address).to.have.length(1);
        expect(new URL(attribute(address[0]!, 'location')).pathname).to.equal(path);
      });
    });
  }

  for (const file of ['bank.wsdl', 'data.wsdl']) {
    describe(`${file}: ids and kinds`, () => {
      const root = wsdl(file);

      it('the auth-token bound', () => {
        expect(facets(simpleType(root, 'element', 'auth-token'), 'maxLength')).to.deep.equal([
          String(AUTH_TOKEN_CHARS_MAX),
        ]);
      });

      it('the request-id: its characters and its bound', () => {
        const max = file === 'bank.wsdl' ? BANK_REQUEST_ID_CHARS_MAX : DATA_REQUEST_ID_CHARS_MAX;
        const whole = REQUEST_ID_CHARS_PATTERN.source.replace(/\+\$$/, `{1,${max}}$`);
        expect(patternOf(root, 'element', 'request-id')).to.equal(whole);
      });

      it('EntryKind, in order', () => {
        expect(facets(simpleType(root, 'simpleType', 'EntryKind'), 'enumeration')).to.deep.equal([...ENTRY_KINDS]);
      });
    });
  }

  // [WSDL, xsd:simpleType or the anonymous type of an xsd:element, its name, the constant]
  const PATTERNS: readonly (readonly [string, 'simpleType' | 'element', string, RegExp])[] = [
    ['bank.wsdl', 'simpleType', 'AccountId', ACCOUNT_ID_PATTERN],
    ['bank.wsdl', 'simpleType', 'EntryId', ENTRY_ID_PATTERN],
    ['bank.wsdl', 'simpleType', 'TransactionId', TRANSACTION_ID_PATTERN],
    ['bank.wsdl', 'element', 'client-id', PRINCIPAL_ID_PATTERN],
    ['bank.wsdl', 'element', 'request-id', BANK_REQUEST_ID_PATTERN],
    ['data.wsdl', 'simpleType', 'AccountId', ACCOUNT_ID_PATTERN],
    ['data.wsdl', 'simpleType', 'EntryId', ENTRY_ID_PATTERN],
    ['data.wsdl', 'simpleType', 'TransactionId', TRANSACTION_ID_PATTERN],
    ['data.wsdl', 'simpleType', 'ClientId', PRINCIPAL_ID_PATTERN],
    ['data.wsdl', 'element', 'business-id', PRINCIPAL_ID_PATTERN],
    ['data.wsdl', 'simpleType', 'LockId', LOCK_ID_PATTERN],
    ['data.wsdl', 'simpleType', 'FencingToken', FENCING_TOKEN_PATTERN],
    ['admin.wsdl', 'simpleType', 'TraceKey', TRACE_KEY_PATTERN],
    ['admin.wsdl', 'simpleType', 'FaultClientId', PRINCIPAL_ID_PATTERN],
    ['admin.wsdl', 'simpleType', 'FaultAccountId', ACCOUNT_ID_PATTERN],
  ];
  for (const [file, kind, name, constant] of PATTERNS) {
    it(`${file} ${kind} ${name}: ${constant.source}`, () => {
      expect(patternOf(wsdl(file), kind, name)).to.equal(constant.source);
    });
  }

  it("the Python client's namespace (client-py/distbank/faults.py)", () => {
    const faultsPy = readFileSync(join(REPO_DIR, 'client-py', 'distbank', 'faults.py'), 'utf8');
    expect(/^BANK_NAMESPACE = "([^"]*)"$/m.exec(faultsPy)?.[1]).to.equal(BANK_NAMESPACE);
  });
});
