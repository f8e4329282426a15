import { SOAP11_ENVELOPE_NS } from './contract';
import { fault } from './service-fault';
import { HeaderShape, isNil, refuseStrayText } from './soap-message';
import { parseXml, xsdTrim, XmlElement, XmlSyntaxError } from './xml-reader';

/**
 * A SOAP 1.1 request, read strictly before any handler sees it (wsdl/README.md, "Envelope
 * rules"): soap:Envelope holding an optional soap:Header and then one soap:Body (WS-I BP R1011:
 * nothing after it) with exactly one operation element; no text between them. Header blocks
 * addressed to us (no soap:actor, or the `next` actor) are matched by namespace AND name: the
 * service's own blocks are read as text, any other block is ignored — unless it says
 * mustUnderstand="1", which is a soap:MustUnderstand fault (SOAP 1.1 §4.2.3). Blocks for other
 * actors are ignored. Everything else that is wrong is INVALID_REQUEST.
 */
export interface SoapRequest {
  readonly body: XmlElement;
  /** Text of each of the service's header blocks, by local name; a nilled block is absent. */
  readonly headerBlocks: ReadonlyMap<string, string>;
}

export interface EnvelopeRules {
  /** The service namespace: the only one in which its header blocks are recognized. */
  readonly namespace: string;
  /** The header blocks the service understands, by local name. */
  readonly headers: ReadonlyMap<string, HeaderShape>;
}

/** A header block addressed to us, marked mustUnderstand="1", that the service does not know. */
export class MustUnderstandFault extends Error {
  constructor(
    readonly blockNs: string,
    readonly blockName: string,
  ) {
    super(`header block {${blockNs}}${blockName} is marked mustUnderstand="1" and is not understood`);
    this.name = 'MustUnderstandFault';
  }
}

export const ELEMENT_DEPTH_MAX = 32;
export const SOAP_ACTOR_NEXT = 'http://schemas.xmlsoap.org/soap/actor/next';

function invalid(message: string): never {
  throw fault('INVALID_REQUEST', message);
}

function isSoap(element: XmlElement | undefined, name: string): boolean {
  return element !== undefined && element.ns === SOAP11_ENVELOPE_NS && element.name === name;
}

export function readEnvelope(xml: string, rules: EnvelopeRules): SoapRequest {
  let root: XmlElement;
  try {
    root = parseXml(xml, ELEMENT_DEPTH_MAX);
  } catch (error) {
    if (error instanceof XmlSyntaxError) invalid(`the request is not acceptable XML: ${error.message}`);
    throw error;
  }
  if (!isSoap(root, 'Envelope')) invalid('not a SOAP 1.1 envelope');
  refuseStrayText(root);
  const parts = root.children;
  const header = isSoap(parts[0], 'Header') ? parts[0] : undefined;
  const body = parts[header === undefined ? 0 : 1];
  if (body === undefined) invalid('soap:Envelope holds no soap:Body');
  if (isSoap(body, 'Header')) invalid('soap:Header appears more than once');
  if (!isSoap(body, 'Body')) invalid(`unexpected element in soap:Envelope: ${body.name}`);
  const after = parts[header === undefined ? 1 : 2];
  if (after !== undefined) {
    invalid(
      isSoap(after, 'Header')
        ? 'soap:Header, when present, must come before soap:Body'
        : 'nothing may follow soap:Body in soap:Envelope',
    );
  }
  refuseStrayText(body);
  const [operation] = body.children;
  if (operation === undefined || body.children.length !== 1) invalid('soap:Body must hold exactly one element');
  return { body: operation, headerBlocks: header === undefined ? new Map() : readHeader(header, rules) };
}

/** The soap:actor / soap:mustUnderstand attributes of a header block (SOAP 1.1 §4.2.2, §4.2.3). */
function blockTarget(block: XmlElement): { forUs: boolean; mustUnderstand: boolean } {
  let forUs = true;
  let mustUnderstand = false;
  for (const a of block.attributes) {
    if (a.ns !== SOAP11_ENVELOPE_NS) continue;
    const value = xsdTrim(a.value);
    if (a.name === 'actor') {
      forUs = value === SOAP_ACTOR_NEXT;
    } else if (a.name === 'mustUnderstand') {
      if (value !== '0' && value !== '1') invalid(`soap:mustUnderstand on ${block.name} must be 0 or 1`);
      mustUnderstand = value === '1';
    }
  }
  return { forUs, mustUnderstand };
}

function readHeader(header: XmlElement, rules: EnvelopeRules): Map<string, string> {
  refuseStrayText(header);
  const blocks = new Map<string, string>();
  const seen = new Set<string>();
  for (const block of header.children) {
    if (block.ns === '') invalid(`header block ${block.name} must be namespace-qualified`);
    const { forUs, mustUnderstand } = blockTarget(block);
    if (!forUs) continue;
    const shape = block.ns === rules.namespace ? rules.headers.get(block.name) : undefined;
    if (shape === undefined) {
      if (mustUnderstand) throw new MustUnderstandFault(block.ns, block.name);
      continue;
    }
    if (seen.has(block.name)) invalid(`header block appears twice: ${block.name}`);
    seen.add(block.name);
    if (isNil(block)) {
      if (!shape.nillable) invalid(`header block ${block.name} may not be nil`);
      continue;
    }
    if (block.children.length > 0) invalid(`header block ${block.name} must hold text only`);
    blocks.set(block.name, xsdTrim(block.text));
  }
  return blocks;
}
