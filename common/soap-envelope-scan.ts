import sax from 'sax';
import { SOAP11_ENVELOPE_NS } from './soap-fault';
import { fault, isServiceFault } from './service-fault';

/**
 * A strict first look at a SOAP 1.1 request, before node-soap sees it: which operation the body
 * names, and the text of each header block. It refuses what node-soap would mishandle:
 * a DOCTYPE (entity tricks), element names that would touch JS prototypes, deep nesting,
 * repeated header blocks, and anything that is not a SOAP 1.1 envelope with one body element.
 */
export interface EnvelopeScan {
  /** Namespace URI and local name of the first child of soap:Body. */
  readonly bodyElementNs: string;
  readonly bodyElementName: string;
  /** Text of each direct child of soap:Header, by local name. */
  readonly headerBlocks: ReadonlyMap<string, string>;
}

export const ELEMENT_DEPTH_MAX = 32;
const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf']);

function invalid(message: string): never {
  throw fault('INVALID_REQUEST', message);
}

export function scanEnvelope(xml: string): EnvelopeScan {
  const parser = sax.parser(true, { xmlns: true, position: false });
  const stack: sax.QualifiedTag[] = [];
  const headerBlocks = new Map<string, string>();
  let bodyElementNs: string | undefined;
  let bodyElementName: string | undefined;
  let headerBlockName: string | undefined;
  let headerBlockText = '';
  let error: Error | undefined;

  parser.onerror = (e) => {
    error = e;
  };
  parser.ondoctype = () => invalid('DTDs are not accepted');
  parser.onopentag = (tag) => {
    const node = tag as sax.QualifiedTag;
    if (FORBIDDEN_NAMES.has(node.local)) invalid(`element name not accepted: ${node.local}`);
    for (const attr of Object.values(node.attributes)) {
      if (FORBIDDEN_NAMES.has(attr.local)) invalid(`attribute name not accepted: ${attr.local}`);
    }
    const depth = stack.length;
    if (depth >= ELEMENT_DEPTH_MAX) invalid('XML nested too deeply');
    const parent = stack[depth - 1];
    if (depth === 0) {
      if (node.local !== 'Envelope' || node.uri !== SOAP11_ENVELOPE_NS) invalid('not a SOAP 1.1 envelope');
    } else if (depth === 1) {
      if (node.uri !== SOAP11_ENVELOPE_NS || (node.local !== 'Header' && node.local !== 'Body')) {
        invalid(`unexpected element in soap:Envelope: ${node.name}`);
      }
    } else if (depth === 2 && parent?.local === 'Header') {
      if (headerBlocks.has(node.local)) invalid(`header block appears twice: ${node.local}`);
      headerBlockName = node.local;
      headerBlockText = '';
    } else if (depth === 2 && parent?.local === 'Body') {
      if (bodyElementName !== undefined) invalid('soap:Body must hold exactly one element');
      bodyElementNs = node.uri;
      bodyElementName = node.local;
    }
    stack.push(node);
  };
  parser.ontext = (text) => {
    if (headerBlockName !== undefined && stack.length === 3) headerBlockText += text;
  };
  parser.oncdata = parser.ontext;
  parser.onclosetag = () => {
    stack.pop();
    if (stack.length === 2 && headerBlockName !== undefined) {
      headerBlocks.set(headerBlockName, headerBlockText.trim());
      headerBlockName = undefined;
    }
  };

  try {
    parser.write(xml).close();
  } catch (thrown) {
    if (isServiceFault(thrown)) throw thrown;
    error = thrown instanceof Error ? thrown : new Error(String(thrown));
  }
  if (error !== undefined) invalid('the request is not well-formed XML');
  if (bodyElementName === undefined || bodyElementNs === undefined) invalid('soap:Body holds no operation element');
  return { bodyElementNs, bodyElementName, headerBlocks };
}
