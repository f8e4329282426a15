import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStringPromise } from 'xml2js';
import { DATA_NAMESPACE, soapAction } from '../common/contract';
import { DataOperation } from './data-envelope';

/**
 * The data-tier client writes its envelopes from templates (data-envelope.ts) for speed; this
 * module ties those templates to the contract. At start the business server reads the local
 * wsdl/data.wsdl and checks that what the templates send is what the WSDL declares: the
 * namespace, each operation's SOAPAction, the header blocks, and the element order of each
 * request. A contract that moved on stops the server at start instead of failing on the wire.
 */
export function dataWsdlPath(): string {
  // Compiled to dist/business/; the WSDL stays in the source tree's wsdl/.
  return join(__dirname, '..', '..', 'wsdl', 'data.wsdl');
}

/** What the templates emit, in order: element → child sequence (complex types inlined by name). */
const REQUEST_SEQUENCES: Readonly<Record<DataOperation, readonly string[]>> = {
  Lock: ['accountId', 'waitMs', 'leaseMs'],
  Read: ['accountId'],
  Update: ['lockId', 'fencingToken', 'transactionId', 'posting', 'release'],
  Unlock: ['lockId'],
  CreateAccount: ['ownerId', 'transactionId', 'initialBalance', 'accountsMax'],
  GetJournal: ['accountId', 'limit', 'kind', 'beforeEntryId'],
};
const POSTING_SEQUENCE = ['accountId', 'amount'];
/** A Batch (data-envelope.ts batch()): its calls, and a call's fields then its one operation. */
const BATCH_SEQUENCES: Readonly<Record<string, readonly string[]>> = {
  Batch: ['call'],
  BatchCall: ['requestId', 'traceparent', 'lock|update|unlock'],
  BatchLock: ['accountId', 'leaseMs'],
};
const HEADER_BLOCKS = ['auth-token', 'business-id', 'request-id'];

type Node = Record<string, unknown> & { $?: Record<string, string> };

function list(value: unknown): Node[] {
  return Array.isArray(value) ? (value as Node[]) : value === undefined ? [] : [value as Node];
}

/** A sequence's element names; an xsd:choice in it (xml2js keeps it apart, after them) as `a|b|c`. */
function sequenceNames(complexType: Node | undefined): string[] {
  const sequence = list(complexType?.['xsd:sequence'])[0];
  const names = list(sequence?.['xsd:element']).map((e) => e.$?.['name'] ?? '?');
  for (const choice of list(sequence?.['xsd:choice']))
    names.push(
      list(choice['xsd:element'])
        .map((e) => e.$?.['name'] ?? '?')
        .join('|'),
    );
  return names;
}

/** An element's complex type: inline, or named by its type attribute. */
function typeOf(element: Node | undefined, complexTypes: ReadonlyMap<string, Node>): Node | undefined {
  const named = element?.$?.['type']?.split(':').pop();
  return named === undefined ? list(element?.['xsd:complexType'])[0] : complexTypes.get(named);
}

/** Throws with every mismatch listed; returns quietly when the templates match the WSDL. */
export async function checkDataContract(wsdlText: string): Promise<void> {
  const doc = (await parseStringPromise(wsdlText)) as { 'wsdl:definitions'?: Node };
  const definitions = doc['wsdl:definitions'];
  if (definitions === undefined) throw new Error('data.wsdl: no wsdl:definitions');
  const problems: string[] = [];
  if (definitions.$?.['targetNamespace'] !== DATA_NAMESPACE) problems.push(`targetNamespace is not ${DATA_NAMESPACE}`);

  const schema = list(list(definitions['wsdl:types'])[0]?.['xsd:schema'])[0];
  const elements = new Map(list(schema?.['xsd:element']).map((e) => [e.$?.['name'] ?? '', e]));
  const complexTypes = new Map(list(schema?.['xsd:complexType']).map((t) => [t.$?.['name'] ?? '', t]));
  const shapes = [
    ...Object.entries(REQUEST_SEQUENCES).map(([name, expected]) => ({
      what: `element ${name}`,
      actual: sequenceNames(typeOf(elements.get(name), complexTypes)),
      expected,
    })),
    ...Object.entries(BATCH_SEQUENCES).map(([name, expected]) => ({
      what: name === 'Batch' ? 'element Batch' : `type ${name}`,
      actual: sequenceNames(name === 'Batch' ? typeOf(elements.get(name), complexTypes) : complexTypes.get(name)),
      expected,
    })),
  ];
  for (const { what, actual, expected } of shapes) {
    if (actual.join(',') !== expected.join(','))
      problems.push(`${what}: WSDL sequence [${actual.join(', ')}], templates send [${expected.join(', ')}]`);
  }
  const posting = sequenceNames(complexTypes.get('Posting'));
  if (posting.join(',') !== POSTING_SEQUENCE.join(',')) problems.push(`Posting: WSDL sequence [${posting.join(', ')}]`);
  for (const block of HEADER_BLOCKS) if (!elements.has(block)) problems.push(`no header block element ${block}`);

  const binding = list(definitions['wsdl:binding'])[0];
  const actions = new Map(
    list(binding?.['wsdl:operation']).map((op) => [
      op.$?.['name'] ?? '',
      list(op['soap:operation'])[0]?.$?.['soapAction'],
    ]),
  );
  for (const operation of [...Object.keys(REQUEST_SEQUENCES), 'Batch']) {
    const action = actions.get(operation);
    if (action !== soapAction(DATA_NAMESPACE, operation))
      problems.push(`operation ${operation}: soapAction ${JSON.stringify(action)}`);
  }
  if (problems.length > 0)
    throw new Error(`data.wsdl does not match the data-tier client:\n  ${problems.join('\n  ')}`);
}

export async function checkDataContractFile(path = dataWsdlPath()): Promise<void> {
  await checkDataContract(readFileSync(path, 'utf8'));
}
