import * as soap from 'soap';
import { escapeXml, SOAP11_ENVELOPE_NS } from './soap-fault';
import { fault } from './service-fault';
import { XmlElement, xsdTrim } from './xml-reader';

/**
 * The shapes of a service's messages, learned once at start from the WSDL by node-soap (which
 * parses the contract and its inline XSD), then used on every request to turn the body element
 * into arguments and the handler's result into the response element — in the schema's element
 * order, with repeated elements (maxOccurs > 1) as arrays. Per request, no node-soap code runs:
 * its parse and serialize were 3/4 of a data-tier call's CPU (server/README.md).
 */
export interface Field {
  readonly name: string;
  readonly repeated: boolean;
  /** Child fields of a complex element; undefined for a leaf (text). */
  readonly fields?: readonly Field[];
}

export interface OperationShape {
  readonly name: string;
  readonly input: readonly Field[];
  readonly output: readonly Field[];
  readonly outputElement: string;
}

export interface ServiceShape {
  readonly service: string;
  readonly port: string;
  readonly operations: ReadonlyMap<string, OperationShape>;
}

type Description = Record<string, unknown>;
const DESCRIPTION_META = new Set(['targetNSAlias', 'targetNamespace']);

function fieldsOf(description: Description): Field[] {
  return Object.entries(description)
    .filter(([key]) => !DESCRIPTION_META.has(key))
    .map(([key, value]): Field => {
      const repeated = key.endsWith('[]');
      const name = repeated ? key.slice(0, -2) : key;
      if (value !== null && typeof value === 'object') return { name, repeated, fields: fieldsOf(value as Description) };
      return { name, repeated };
    });
}

/** Reads the WSDL with node-soap and keeps the one service's operation shapes. */
export async function describeService(wsdlText: string): Promise<ServiceShape> {
  const wsdl = new soap.WSDL(wsdlText, 'urn:distbank:local', {});
  await new Promise<void>((resolve, reject) => wsdl.onReady((err?: Error) => (err ? reject(err) : resolve())));
  const services = wsdl.describeServices() as Record<string, Record<string, Record<string, { input: Description; output: Description }>>>;
  const [service, ports] = Object.entries(services)[0] ?? [];
  const [port, operations] = Object.entries(ports ?? {})[0] ?? [];
  if (service === undefined || port === undefined || operations === undefined) throw new Error('the WSDL describes no service port');
  const shapes = new Map<string, OperationShape>();
  for (const [name, op] of Object.entries(operations)) {
    const outputElement = `${name}Response`;
    if (!wsdlText.includes(`<xsd:element name="${outputElement}">`)) throw new Error(`WSDL lacks the wrapped response element ${outputElement}`);
    shapes.set(name, { name, input: fieldsOf(op.input), output: fieldsOf(op.output), outputElement });
  }
  return { service, port, operations: shapes };
}

/**
 * The body element's children as arguments: leaves as trimmed text (xsd whitespace collapse;
 * decimals, longs and booleans stay text), complex elements as objects, repeated ones as
 * arrays. An element the schema does not declare, in another namespace, or repeated where the
 * schema allows one, is INVALID_REQUEST — so no caller-chosen name ever becomes a key.
 */
export function readArguments(element: XmlElement, fields: readonly Field[], namespace: string): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const node of element.children) {
    const field = fields.find((f) => f.name === node.name);
    if (field === undefined || node.ns !== namespace) {
      throw fault('INVALID_REQUEST', `unexpected element <${node.name}> in <${element.name}>`);
    }
    const value = field.fields === undefined ? leafText(node) : readArguments(node, field.fields, namespace);
    if (field.repeated) {
      const list = (args[field.name] ??= []) as unknown[];
      list.push(value);
    } else {
      if (field.name in args) throw fault('INVALID_REQUEST', `element <${node.name}> appears more than once`);
      args[field.name] = value;
    }
  }
  return args;
}

function leafText(node: XmlElement): string {
  if (node.children.length > 0) throw fault('INVALID_REQUEST', `element <${node.name}> must hold text only`);
  return xsdTrim(node.text);
}

/** The response envelope: fields in schema order; absent (undefined) fields are omitted. */
export function responseEnvelope(shape: OperationShape, namespace: string, result: Record<string, unknown>): string {
  return '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Body>` +
    `<${shape.outputElement} xmlns="${escapeXml(namespace)}">${writeFields(shape.output, result)}</${shape.outputElement}>` +
    '</soap:Body></soap:Envelope>';
}

function writeFields(fields: readonly Field[], value: Record<string, unknown>): string {
  let xml = '';
  for (const field of fields) {
    const item = value[field.name];
    if (item === undefined) continue;
    if (field.repeated) {
      if (!Array.isArray(item)) throw new Error(`response field ${field.name} must be an array`);
      for (const one of item) xml += writeField(field, one);
    } else {
      xml += writeField(field, item);
    }
  }
  return xml;
}

function writeField(field: Field, value: unknown): string {
  if (field.fields !== undefined) {
    if (value === null || typeof value !== 'object') throw new Error(`response field ${field.name} must be an object`);
    return `<${field.name}>${writeFields(field.fields, value as Record<string, unknown>)}</${field.name}>`;
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new Error(`response field ${field.name} must be text, a number or a boolean`);
  }
  return `<${field.name}>${escapeXml(String(value))}</${field.name}>`;
}
