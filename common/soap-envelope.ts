import { SOAP11_ENVELOPE_NS } from './soap-fault';
import { fault } from './service-fault';
import { parseXml, XmlElement, XmlSyntaxError, xsdTrim } from './xml-reader';

/**
 * A SOAP 1.1 request, read strictly before any handler sees it: the one element of soap:Body
 * (which names the operation) and the text of each header block. Refuses a DOCTYPE (entity
 * tricks), deep nesting, repeated header blocks, and anything that is not a SOAP 1.1 envelope
 * with exactly one body element — each as INVALID_REQUEST.
 */
export interface SoapRequest {
  readonly body: XmlElement;
  /** Text of each direct child of soap:Header, by local name. */
  readonly headerBlocks: ReadonlyMap<string, string>;
}

export const ELEMENT_DEPTH_MAX = 32;

function invalid(message: string): never {
  throw fault('INVALID_REQUEST', message);
}

export function readEnvelope(xml: string): SoapRequest {
  let root: XmlElement;
  try {
    root = parseXml(xml, ELEMENT_DEPTH_MAX);
  } catch (error) {
    if (error instanceof XmlSyntaxError) invalid(`the request is not acceptable XML: ${error.message}`);
    throw error;
  }
  if (root.name !== 'Envelope' || root.ns !== SOAP11_ENVELOPE_NS) invalid('not a SOAP 1.1 envelope');
  const headerBlocks = new Map<string, string>();
  let body: XmlElement | undefined;
  for (const part of root.children) {
    if (part.ns !== SOAP11_ENVELOPE_NS || (part.name !== 'Header' && part.name !== 'Body')) {
      invalid(`unexpected element in soap:Envelope: ${part.name}`);
    }
    if (part.name === 'Header') {
      for (const block of part.children) {
        if (headerBlocks.has(block.name)) invalid(`header block appears twice: ${block.name}`);
        headerBlocks.set(block.name, xsdTrim(block.text));
      }
    } else {
      if (body !== undefined || part.children.length !== 1) invalid('soap:Body must hold exactly one element');
      body = part.children[0];
    }
  }
  if (body === undefined) invalid('soap:Body holds no operation element');
  return { body, headerBlocks };
}
