import * as soap from 'soap';
import { SOAP11_ENVELOPE_NS, XSI_NS } from './contract';
import { fault } from './service-fault';
import { xsdTrim, XmlElement } from './xml-reader';
import { xmlAttribute, xmlText } from './xml-writer';

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
  /** nillable="true" in the schema: xsi:nil="true" means absent (only optional elements are nillable). */
  readonly nillable: boolean;
  /** Child fields of a complex element; undefined for a leaf (text). */
  readonly fields?: readonly Field[];
  /** An alternative of an xsd:choice: the fields with the same number are its alternatives, exactly one present. */
  readonly choice?: number;
}

export interface OperationShape {
  readonly name: string;
  readonly input: readonly Field[];
  readonly output: readonly Field[];
  readonly outputElement: string;
}

/** A header block the binding declares (soap:header part named after its element). */
export interface HeaderShape {
  readonly nillable: boolean;
}

export interface ServiceShape {
  readonly service: string;
  readonly port: string;
  readonly operations: ReadonlyMap<string, OperationShape>;
  /** The header blocks of the binding's inputs, by element name. */
  readonly headers: ReadonlyMap<string, HeaderShape>;
}

/** The part of node-soap's parsed schema we walk: XSD elements by tag name with their attributes. */
interface SchemaNode {
  readonly name: string;
  readonly children: readonly SchemaNode[];
  readonly $name?: string;
  readonly $type?: string;
  readonly $minOccurs?: string;
  readonly $maxOccurs?: string;
  readonly $nillable?: string;
  readonly $part?: string;
}
interface Schema {
  readonly elements: Readonly<Record<string, SchemaNode>>;
  readonly complexTypes: Readonly<Record<string, SchemaNode>>;
}

function sequenceOf(schema: Schema, element: SchemaNode): SchemaNode | undefined {
  const localType = element.$type?.split(':').pop();
  const complex =
    element.children.find((c) => c.name === 'complexType') ??
    (localType !== undefined && !element.$type?.startsWith('xsd:') ? schema.complexTypes[localType] : undefined);
  if (complex === undefined) return undefined;
  const parts = complex.children.filter((c) => c.name !== 'annotation');
  const [sequence] = parts;
  if (parts.length !== 1 || sequence?.name !== 'sequence')
    throw new Error(`complex type of ${String(element.$name)}: only xsd:sequence is supported`);
  return sequence;
}

/**
 * The fields of a sequence. An xsd:choice in it (once, of elements each occurring once: all
 * that our contracts use) becomes its alternatives, each marked with the choice's number.
 */
function fieldsOf(schema: Schema, sequence: SchemaNode): Field[] {
  const fields: Field[] = [];
  for (const node of sequence.children) {
    if (node.name === 'annotation') continue;
    if (node.name !== 'choice') {
      fields.push(fieldOf(schema, node));
      continue;
    }
    if ((node.$minOccurs ?? '1') !== '1' || (node.$maxOccurs ?? '1') !== '1')
      throw new Error('only an xsd:choice that occurs exactly once is supported');
    const choice = fields.length;
    for (const alternative of node.children.filter((c) => c.name !== 'annotation')) {
      const field = fieldOf(schema, alternative);
      if (field.repeated || alternative.$minOccurs !== undefined)
        throw new Error(`${field.name}: an alternative of an xsd:choice must occur exactly once`);
      fields.push({ ...field, choice });
    }
  }
  return fields;
}

function fieldOf(schema: Schema, node: SchemaNode): Field {
  const name = node.$name;
  if (node.name !== 'element' || name === undefined)
    throw new Error(`unsupported schema construct xsd:${node.name} in a sequence`);
  const nillable = node.$nillable === 'true';
  if (nillable && node.$minOccurs !== '0')
    throw new Error(`${name}: only optional elements may be nillable (nil means absent)`);
  const repeated = node.$maxOccurs !== undefined && node.$maxOccurs !== '1';
  const inner = sequenceOf(schema, node);
  return inner === undefined
    ? { name, repeated, nillable }
    : { name, repeated, nillable, fields: fieldsOf(schema, inner) };
}

function elementFields(schema: Schema, name: string): Field[] {
  const element = schema.elements[name];
  const sequence = element === undefined ? undefined : sequenceOf(schema, element);
  if (sequence === undefined) throw new Error(`the WSDL lacks the wrapper element ${name}`);
  return fieldsOf(schema, sequence);
}

interface Definitions {
  readonly schemas: Readonly<Record<string, Schema>>;
  readonly bindings: Readonly<
    Record<string, { readonly methods: Readonly<Record<string, { readonly inputSoap?: SchemaNode }>> }>
  >;
}

function headersOf(definitions: Definitions, schema: Schema): Map<string, HeaderShape> {
  const headers = new Map<string, HeaderShape>();
  for (const binding of Object.values(definitions.bindings)) {
    for (const method of Object.values(binding.methods)) {
      for (const part of method.inputSoap?.children ?? []) {
        if (part.name !== 'header' || part.$part === undefined) continue;
        const element = schema.elements[part.$part];
        if (element === undefined)
          throw new Error(`soap:header part ${part.$part} must name a global element of the same name`);
        headers.set(part.$part, { nillable: element.$nillable === 'true' });
      }
    }
  }
  if (headers.size === 0) throw new Error('the WSDL binds no soap:header blocks');
  return headers;
}

/** Reads the WSDL with node-soap and keeps the one service's operation and header shapes. */
export async function describeService(wsdlText: string): Promise<ServiceShape> {
  const wsdl = new soap.WSDL(wsdlText, 'urn:distbank:local', {});
  await new Promise<void>((resolve, reject) => wsdl.onReady((err?: Error) => (err ? reject(err) : resolve())));
  const services = wsdl.describeServices() as Record<string, Record<string, Record<string, unknown>>>;
  const [service, ports] = Object.entries(services)[0] ?? [];
  const [port, operations] = Object.entries(ports ?? {})[0] ?? [];
  if (service === undefined || port === undefined || operations === undefined)
    throw new Error('the WSDL describes no service port');
  const definitions = (wsdl as unknown as { definitions: Definitions }).definitions;
  const schema = Object.values(definitions.schemas)[0];
  if (schema === undefined || Object.keys(definitions.schemas).length !== 1)
    throw new Error('the WSDL must hold exactly one inline schema');
  const shapes = new Map<string, OperationShape>();
  for (const name of Object.keys(operations)) {
    const outputElement = `${name}Response`;
    shapes.set(name, {
      name,
      input: elementFields(schema, name),
      output: elementFields(schema, outputElement),
      outputElement,
    });
  }
  return { service, port, operations: shapes, headers: headersOf(definitions, schema) };
}

/**
 * xsi:nil on an element: true, false, or absent (false). A value that is not an xsd:boolean, or
 * a nilled element with content, is INVALID_REQUEST (XML Schema §3.3.4: a nilled element is empty).
 */
export function isNil(node: XmlElement): boolean {
  const attribute = node.attributes.find((a) => a.ns === XSI_NS && a.name === 'nil');
  if (attribute === undefined) return false;
  const value = xsdTrim(attribute.value);
  if (value === 'false' || value === '0') return false;
  if (value !== 'true' && value !== '1')
    throw fault('INVALID_REQUEST', `xsi:nil on <${node.name}> must be true or false`);
  if (node.children.length > 0 || xsdTrim(node.text) !== '')
    throw fault('INVALID_REQUEST', `<${node.name}> has xsi:nil="true" and content`);
  return true;
}

/** Text directly inside an element that holds elements (mixed content) is refused. */
export function refuseStrayText(element: XmlElement): void {
  if (xsdTrim(element.text) !== '')
    throw fault('INVALID_REQUEST', `text directly inside <${element.name}> is not allowed`);
}

/**
 * The body element's children as arguments: leaves as text with XML Schema whitespace trimmed
 * (decimals, longs and booleans stay text), complex elements as objects, repeated ones as
 * arrays. An element the schema does not declare, in another namespace, or repeated where the
 * schema allows one, is INVALID_REQUEST — so no caller-chosen name ever becomes a key. A nilled
 * element (xsi:nil="true") is absent when the schema makes it nillable, else INVALID_REQUEST.
 */
export function readArguments(
  element: XmlElement,
  fields: readonly Field[],
  namespace: string,
): Record<string, unknown> {
  refuseStrayText(element);
  const args: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const node of element.children) {
    const field = fields.find((f) => f.name === node.name);
    if (field === undefined || node.ns !== namespace) {
      throw fault('INVALID_REQUEST', `unexpected element <${node.name}> in <${element.name}>`);
    }
    if (!field.repeated) {
      if (seen.has(field.name)) throw fault('INVALID_REQUEST', `element <${node.name}> appears more than once`);
      seen.add(field.name);
    }
    if (isNil(node)) {
      if (!field.nillable) throw fault('INVALID_REQUEST', `<${node.name}> is required and may not be nil`);
      continue;
    }
    const value = field.fields === undefined ? leafText(node) : readArguments(node, field.fields, namespace);
    if (field.repeated) {
      const list = (args[field.name] ??= []) as unknown[];
      list.push(value);
    } else {
      args[field.name] = value;
    }
  }
  refuseUnmadeChoices(element, fields, args);
  return args;
}

/** Of each xsd:choice, exactly one alternative must be there. */
function refuseUnmadeChoices(element: XmlElement, fields: readonly Field[], args: Record<string, unknown>): void {
  const made = new Map<number, string[]>();
  for (const field of fields) {
    if (field.choice === undefined) continue;
    const names = made.get(field.choice) ?? [];
    if (args[field.name] !== undefined) names.push(field.name);
    made.set(field.choice, names);
  }
  for (const [choice, names] of made) {
    if (names.length === 1) continue;
    const alternatives = fields.filter((f) => f.choice === choice).map((f) => `<${f.name}>`);
    throw fault('INVALID_REQUEST', `<${element.name}> must hold exactly one of ${alternatives.join(', ')}`);
  }
}

function leafText(node: XmlElement): string {
  if (node.children.length > 0) throw fault('INVALID_REQUEST', `element <${node.name}> must hold text only`);
  return xsdTrim(node.text);
}

/** The response envelope: fields in schema order; absent (undefined) fields are omitted. */
export function responseEnvelope(shape: OperationShape, namespace: string, result: Record<string, unknown>): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Body>` +
    `<${shape.outputElement} xmlns="${xmlAttribute(namespace)}">${writeFields(shape.output, result)}</${shape.outputElement}>` +
    '</soap:Body></soap:Envelope>'
  );
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
  return `<${field.name}>${xmlText(String(value))}</${field.name}>`;
}
