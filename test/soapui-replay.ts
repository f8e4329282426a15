/**
 * Replays a SoapUI 5.x project the way SoapUI's testrunner would, for the steps and assertions
 * soapui/distbank-soapui-project.xml uses — and refuses (fails) on anything else, so that a
 * project change this replayer cannot honour is never silently skipped.
 *
 * Supported, with SoapUI's meaning (checked against SoapUI's sources, see soapui/README.md):
 * - steps: `request` (WSDL request: endpoint and body with property expansion, SOAPAction from the
 *   interface operation's `action`, Content-Type text/xml), `transfer` (property transfer from a
 *   previous step's Response by XPath into a #TestCase#/#TestSuite#/#Project# property);
 * - property expansion `${#Project#x}`, `${#TestSuite#x}`, `${#TestCase#x}` (an unknown
 *   property fails here, where SoapUI would silently expand it to "");
 * - assertions: "SOAP Response" (a valid SOAP 1.1 envelope), "SOAP Fault Assertion" (which SoapUI
 *   labels *Not SOAP Fault*), "Not SOAP Fault Assertion" (labelled *SOAP Fault*), "Valid HTTP
 *   Status Codes", "XPath Match" (XPath 1.0; text comparison with optional `*` wildcards).
 * A test case stops at its first failing step when it has failOnError ("Abort on error", SoapUI's
 * default), and fails when a step failed if it has failTestCaseOnErrors ("Fail TestCase on
 * error"): `testCasePassed`. A request whose connection closed without any answer is a failed
 * step flagged `answerLost` (what SoapUI reports as "NoHttpResponseException"): the fault
 * injection suite's case that loses an answer on purpose turns both options off.
 *
 * XML is parsed with xml2js for the project and @xmldom/xmldom + xpath for responses (both are
 * loaded with require and typed locally: their .d.ts files pull the DOM lib into the build).
 */
import { request as httpRequest } from 'node:http';
import { parseString } from 'xml2js';
import { SOAP11_ENVELOPE_NS } from '../common/contract';

const SOAPUI_NS = 'http://eviware.com/soapui/config';
const RESPONSE_BYTES_MAX = 4 * 1024 * 1024;
export const REQUEST_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------- minimal DOM typing
interface XNode {
  readonly nodeType: number;
  readonly nodeValue: string | null;
  readonly localName: string | null;
  readonly namespaceURI: string | null | undefined;
  readonly childNodes: { readonly length: number; item(i: number): XNode | null };
  readonly documentElement?: XNode | null;
}
const ELEMENT_NODE = 1;
const ATTRIBUTE_NODE = 2;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;

interface XmlDom {
  DOMParser: new (options: { errorHandler: Record<'warning' | 'error' | 'fatalError', (msg: string) => void> }) => {
    parseFromString(text: string, mime: string): XNode;
  };
}
type XPathValue = XNode[] | string | number | boolean | null | XNode;
interface XPathLib {
  useNamespaces(map: Record<string, string>): (expression: string, node: XNode) => XPathValue;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an import would load its .d.ts, which pulls in the DOM lib
const xmldom = require('@xmldom/xmldom') as XmlDom;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an import would load its .d.ts, which pulls in the DOM lib
const xpathLib = require('xpath') as XPathLib;

/** A failure the replayer refuses to paper over: unsupported step, assertion, expansion. */
export class ReplayUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayUnsupported';
  }
}

// ---------------------------------------------------------------- the project model
export interface Assertion {
  readonly type: string;
  readonly name: string;
  readonly disabled: boolean;
  readonly config: Readonly<Record<string, string>>;
}
export interface RequestStep {
  readonly kind: 'request';
  readonly name: string;
  readonly interfaceName: string;
  readonly operation: string;
  readonly endpoint: string;
  readonly body: string;
  /** Extra HTTP headers (SoapUI's request-headers setting), values before expansion. */
  readonly httpHeaders: readonly (readonly [string, string])[];
  readonly assertions: readonly Assertion[];
}
export interface TransferStep {
  readonly kind: 'transfer';
  readonly name: string;
  readonly transfers: readonly {
    readonly name: string;
    readonly sourceType: string;
    readonly sourceStep: string;
    readonly sourcePath: string;
    readonly targetType: string;
    readonly targetStep: string;
    readonly setNullOnMissingSource: boolean;
  }[];
}
export type Step = RequestStep | TransferStep;
export interface TestCase {
  readonly name: string;
  readonly disabled: boolean;
  /** "Abort on error": stop at the first failed step. */
  readonly failOnError: boolean;
  /** "Fail TestCase on error": a failed step fails the case (else it only shows in the log). */
  readonly failTestCaseOnErrors: boolean;
  readonly properties: Map<string, string>;
  readonly steps: readonly Step[];
}
export interface TestSuite {
  readonly name: string;
  readonly disabled: boolean;
  readonly properties: Map<string, string>;
  readonly cases: readonly TestCase[];
}
export interface WsdlInterface {
  readonly name: string;
  readonly soapVersion: string;
  readonly definitionUrl: string;
  readonly definitionCache: string | undefined;
  readonly actions: ReadonlyMap<string, string>;
}
export interface Project {
  readonly name: string;
  readonly properties: Map<string, string>;
  readonly interfaces: ReadonlyMap<string, WsdlInterface>;
  readonly suites: readonly TestSuite[];
}

type XmlNode = Record<string, unknown> & { $?: Record<string, string>; _?: string };

function children(node: XmlNode, name: string): XmlNode[] {
  const value = node[name];
  if (value === undefined) return [];
  return (value as unknown[]).map((v) => (typeof v === 'string' ? { _: v } : (v as XmlNode)));
}
function child(node: XmlNode, name: string): XmlNode | undefined {
  return children(node, name)[0];
}
function text(node: XmlNode | undefined): string {
  return node?._ ?? '';
}
function attr(node: XmlNode, name: string): string | undefined {
  return node.$?.[name];
}

const KNOWN_STEP_CHILDREN = new Set(['$', 'con:settings', 'con:config', 'con:description']);

function properties(holder: XmlNode): Map<string, string> {
  const map = new Map<string, string>();
  for (const props of children(holder, 'con:properties')) {
    for (const p of children(props, 'con:property')) map.set(text(child(p, 'con:name')), text(child(p, 'con:value')));
  }
  return map;
}

const REQUEST_HEADERS_SETTING = 'com.eviware.soapui.impl.wsdl.WsdlRequest@request-headers';

/**
 * A request's HTTP headers: SoapUI keeps them as one setting whose text is an XML fragment
 * `<xml-fragment xmlns:con="…"><con:entry key="…" value="…"/>…</xml-fragment>`. Any other
 * request setting is refused.
 */
function requestHeaders(request: XmlNode, where: string): [string, string][] {
  const headers: [string, string][] = [];
  for (const settings of children(request, 'con:settings')) {
    for (const setting of children(settings, 'con:setting')) {
      if (attr(setting, 'id') !== REQUEST_HEADERS_SETTING) {
        throw new ReplayUnsupported(`${where}: setting ${attr(setting, 'id') ?? '?'} is not replayed`);
      }
      let fragment: Record<string, XmlNode> | undefined;
      parseString(text(setting), { explicitArray: true, async: false }, (error, result: Record<string, XmlNode>) => {
        if (error !== null)
          throw new ReplayUnsupported(`${where}: request-headers setting is not XML: ${String(error)}`);
        fragment = result;
      });
      const root = fragment?.['xml-fragment'];
      if (root === undefined) throw new ReplayUnsupported(`${where}: request-headers setting without xml-fragment`);
      for (const entry of children(root, 'con:entry'))
        headers.push([attr(entry, 'key') ?? '', attr(entry, 'value') ?? '']);
    }
  }
  return headers;
}

function settingsMustBeEmpty(node: XmlNode, where: string): void {
  for (const settings of children(node, 'con:settings')) {
    if (children(settings, 'con:setting').length > 0) {
      throw new ReplayUnsupported(`${where}: con:setting entries (e.g. extra HTTP headers) are not replayed`);
    }
  }
}

function parseAssertion(node: XmlNode): Assertion {
  const type = attr(node, 'type') ?? '';
  const config: Record<string, string> = {};
  const configuration = child(node, 'con:configuration');
  if (configuration !== undefined) {
    for (const [key, value] of Object.entries(configuration)) {
      if (key === '$' || key === '_') continue;
      const first = (value as unknown[])[0];
      config[key] = typeof first === 'string' ? first : text(first as XmlNode);
    }
  }
  return {
    type,
    name: attr(node, 'name') ?? type,
    disabled: attr(node, 'disabled') === 'true',
    config: Object.freeze(config),
  };
}

function parseRequestStep(name: string, config: XmlNode): RequestStep {
  const where = `request step "${name}"`;
  const request = child(config, 'con:request');
  if (request === undefined) throw new ReplayUnsupported(`${where}: no con:request`);
  for (const flag of ['useWsAddressing', 'useWsReliableMessaging']) {
    if (attr(request, flag) === 'true') throw new ReplayUnsupported(`${where}: ${flag} is not replayed`);
  }
  for (const wss of ['outgoingWss', 'incomingWss']) {
    if ((attr(request, wss) ?? '') !== '') throw new ReplayUnsupported(`${where}: ${wss} is not replayed`);
  }
  if (children(request, 'con:attachment').length > 0)
    throw new ReplayUnsupported(`${where}: attachments are not replayed`);
  const credentials = child(request, 'con:credentials');
  const authType = text(child(credentials ?? {}, 'con:authType'));
  if (
    credentials !== undefined &&
    (child(credentials, 'con:username') !== undefined ||
      !['No Authorization', 'Global HTTP Settings', ''].includes(authType))
  ) {
    throw new ReplayUnsupported(`${where}: HTTP authentication (${authType}) is not replayed`);
  }
  const httpHeaders = requestHeaders(request, where);
  const encoding = text(child(request, 'con:encoding'));
  if (encoding !== '' && encoding.toUpperCase() !== 'UTF-8')
    throw new ReplayUnsupported(`${where}: encoding ${encoding}`);
  return {
    kind: 'request',
    name,
    interfaceName: text(child(config, 'con:interface')),
    operation: text(child(config, 'con:operation')),
    endpoint: text(child(request, 'con:endpoint')),
    body: text(child(request, 'con:request')),
    httpHeaders,
    assertions: children(request, 'con:assertion').map((a) => parseAssertion(a)),
  };
}

function parseTransferStep(name: string, config: XmlNode): TransferStep {
  const where = `transfer step "${name}"`;
  return {
    kind: 'transfer',
    name,
    transfers: children(config, 'con:transfers').map((t) => {
      if (attr(t, 'disabled') === 'true') throw new ReplayUnsupported(`${where}: disabled transfers are not replayed`);
      if (attr(t, 'useXQuery') === 'true') throw new ReplayUnsupported(`${where}: XQuery transfers are not replayed`);
      if (attr(t, 'transferTextContent') === 'false')
        throw new ReplayUnsupported(`${where}: XML (non-text) transfers are not replayed`);
      if (text(child(t, 'con:targetPath')) !== '')
        throw new ReplayUnsupported(`${where}: a target path is not replayed`);
      const type = text(child(t, 'con:type'));
      if (type !== '' && type !== 'XPATH') throw new ReplayUnsupported(`${where}: transfer type ${type}`);
      return {
        name: text(child(t, 'con:name')),
        sourceType: text(child(t, 'con:sourceType')),
        sourceStep: text(child(t, 'con:sourceStep')),
        sourcePath: text(child(t, 'con:sourcePath')),
        targetType: text(child(t, 'con:targetType')),
        targetStep: text(child(t, 'con:targetStep')),
        setNullOnMissingSource: attr(t, 'setNullOnMissingSource') !== 'false',
      };
    }),
  };
}

function parseStep(node: XmlNode): Step | undefined {
  const type = attr(node, 'type') ?? '';
  const name = attr(node, 'name') ?? '';
  if (attr(node, 'disabled') === 'true') return undefined; // SoapUI skips disabled steps
  for (const key of Object.keys(node)) {
    if (!KNOWN_STEP_CHILDREN.has(key)) throw new ReplayUnsupported(`step "${name}": unexpected element ${key}`);
  }
  settingsMustBeEmpty(node, `step "${name}"`);
  const config = child(node, 'con:config');
  if (config === undefined) throw new ReplayUnsupported(`step "${name}": no con:config`);
  switch (type) {
    case 'request':
      return parseRequestStep(name, config);
    case 'transfer':
      return parseTransferStep(name, config);
    default:
      throw new ReplayUnsupported(`step "${name}": step type "${type}" is not replayed`);
  }
}

function parseInterface(node: XmlNode): WsdlInterface {
  const name = attr(node, 'name') ?? '';
  const type = attr(node, 'xsi:type') ?? '';
  if (type !== 'con:WsdlInterface') throw new ReplayUnsupported(`interface "${name}": type ${type} is not replayed`);
  const cache = child(node, 'con:definitionCache');
  const parts = cache === undefined ? [] : children(cache, 'con:part');
  const actions = new Map<string, string>();
  for (const op of children(node, 'con:operation')) actions.set(attr(op, 'name') ?? '', attr(op, 'action') ?? '');
  return {
    name,
    soapVersion: attr(node, 'soapVersion') ?? '1_1',
    definitionUrl: attr(node, 'definition') ?? '',
    definitionCache: parts.length === 1 ? text(child(parts[0]!, 'con:content')) : undefined,
    actions,
  };
}

/** Parse a SoapUI project file (xml2js parses synchronously when given a callback). */
export function parseProject(xml: string): Project {
  // An object, not two lets: the callback sets it, which the checker's narrowing cannot see.
  const parsed: { error: Error | null; root?: Record<string, XmlNode> } = { error: null };
  parseString(xml, { explicitArray: true, async: false }, (error, result: Record<string, XmlNode>) => {
    parsed.error = error;
    parsed.root = result;
  });
  if (parsed.error !== null) throw parsed.error;
  const project = parsed.root?.['con:soapui-project'];
  if (project === undefined) throw new ReplayUnsupported('not a SoapUI project: no con:soapui-project root');
  if (attr(project, 'xmlns:con') !== SOAPUI_NS) throw new ReplayUnsupported(`con: is not ${SOAPUI_NS}`);
  for (const unsupported of [
    'con:mockService',
    'con:restMockService',
    'con:afterLoadScript',
    'con:beforeRunScript',
    'con:afterRunScript',
    'con:eventHandlers',
    'con:environment',
  ]) {
    if (project[unsupported] !== undefined) throw new ReplayUnsupported(`project: ${unsupported} is not replayed`);
  }
  const interfaces = new Map<string, WsdlInterface>();
  for (const i of children(project, 'con:interface')) {
    const parsed = parseInterface(i);
    interfaces.set(parsed.name, parsed);
  }
  const suites = children(project, 'con:testSuite').map((s): TestSuite => {
    for (const script of ['con:setupScript', 'con:tearDownScript']) {
      if (s[script] !== undefined)
        throw new ReplayUnsupported(`suite "${attr(s, 'name') ?? ''}": ${script} is not replayed`);
    }
    return {
      name: attr(s, 'name') ?? '',
      disabled: attr(s, 'disabled') === 'true',
      properties: properties(s),
      cases: children(s, 'con:testCase').map((c): TestCase => {
        for (const script of ['con:setupScript', 'con:tearDownScript', 'con:loadTest', 'con:securityTest']) {
          if (c[script] !== undefined)
            throw new ReplayUnsupported(`test case "${attr(c, 'name') ?? ''}": ${script} is not replayed`);
        }
        return {
          name: attr(c, 'name') ?? '',
          disabled: attr(c, 'disabled') === 'true',
          failOnError: attr(c, 'failOnError') !== 'false',
          failTestCaseOnErrors: attr(c, 'failTestCaseOnErrors') !== 'false',
          properties: properties(c),
          steps: children(c, 'con:testStep')
            .map(parseStep)
            .filter((s): s is Step => s !== undefined),
        };
      }),
    };
  });
  return { name: attr(project, 'name') ?? '', properties: properties(project), interfaces, suites };
}

// ---------------------------------------------------------------- property expansion
export interface Scope {
  readonly project: Map<string, string>;
  readonly suite: Map<string, string>;
  readonly testCase: Map<string, string>;
}

function holder(scope: Scope, name: string): Map<string, string> | undefined {
  switch (name) {
    case 'Project':
      return scope.project;
    case 'TestSuite':
      return scope.suite;
    case 'TestCase':
      return scope.testCase;
    default:
      return undefined;
  }
}

/** `${#Project#x}`, `${#TestSuite#x}`, `${#TestCase#x}`; anything else is refused. */
export function expand(textIn: string, scope: Scope): string {
  return textIn.replace(/\$\{([^}]*)\}/g, (_match, inner: string) => {
    const m = /^#(Project|TestSuite|TestCase)#([^#{}$]+)$/.exec(inner);
    if (m === null)
      throw new ReplayUnsupported(
        `property expansion \${${inner}} is not replayed (only #Project#, #TestSuite#, #TestCase#)`,
      );
    const value = holder(scope, m[1]!)?.get(m[2]!);
    if (value === undefined) throw new ReplayUnsupported(`property ${m[1]!}#${m[2]!} is not defined`);
    return value;
  });
}

// ---------------------------------------------------------------- XML helpers
interface ParsedXml {
  readonly doc: XNode | undefined;
  readonly errors: readonly string[];
}

export function parseXml(textIn: string): ParsedXml {
  const errors: string[] = [];
  const parser = new xmldom.DOMParser({
    errorHandler: { warning: () => undefined, error: (m) => errors.push(m), fatalError: (m) => errors.push(m) },
  });
  let doc: XNode | undefined;
  try {
    doc = parser.parseFromString(textIn, 'text/xml');
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  if (doc?.documentElement === undefined || doc.documentElement === null) errors.push('no document element');
  return { doc, errors };
}

function elementChildren(node: XNode): XNode[] {
  const out: XNode[] = [];
  for (let i = 0; i < node.childNodes.length; i++) {
    const c = node.childNodes.item(i);
    if (c !== null && c.nodeType === ELEMENT_NODE) out.push(c);
  }
  return out;
}

/** The text of an element's own text children (SoapUI's XmlUtils.getElementText). */
function elementText(node: XNode): string {
  let out = '';
  for (let i = 0; i < node.childNodes.length; i++) {
    const c = node.childNodes.item(i);
    if (c !== null && (c.nodeType === TEXT_NODE || c.nodeType === CDATA_SECTION_NODE)) out += c.nodeValue ?? '';
  }
  return out;
}

function isEnv(node: XNode | undefined, local: string): boolean {
  return node !== undefined && node.localName === local && node.namespaceURI === SOAP11_ENVELOPE_NS;
}

/** SoapUI's SOAP 1.1 envelope validation, the parts that matter: structure and Fault shape. */
export function soapEnvelopeErrors(body: string): string[] {
  if (body.trim() === '') return ['Response is missing or empty'];
  const { doc, errors } = parseXml(body);
  if (errors.length > 0 || doc?.documentElement === undefined || doc.documentElement === null)
    return errors.map((e) => `not well-formed XML: ${e}`);
  const root = doc.documentElement;
  if (!isEnv(root, 'Envelope'))
    return [`root element is {${root.namespaceURI ?? ''}}${root.localName ?? ''}, not a SOAP 1.1 Envelope`];
  const kids = elementChildren(root);
  let i = 0;
  if (isEnv(kids[i], 'Header')) i++;
  const bodyEl = kids[i];
  if (bodyEl === undefined || !isEnv(bodyEl, 'Body')) return ['Envelope has no Body (after an optional Header)'];
  const fault = elementChildren(bodyEl).find((e) => isEnv(e, 'Fault'));
  if (fault === undefined) return [];
  const names = elementChildren(fault).map((e) =>
    e.namespaceURI === null || e.namespaceURI === undefined || e.namespaceURI === ''
      ? e.localName
      : `{${e.namespaceURI}}${String(e.localName)}`,
  );
  if (!/^faultcode,faultstring(,faultactor)?(,detail)?$/.test(names.join(','))) {
    return [
      `Fault children must be faultcode, faultstring, faultactor?, detail? (unqualified); got ${names.join(', ')}`,
    ];
  }
  const faultcode = elementText(elementChildren(fault)[0]!).trim();
  if (!/^([A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*$/.test(faultcode)) return [`faultcode is not a QName: ${faultcode}`];
  return [];
}

/** SoapUtils.isSoapFault: the Body's first element is a SOAP 1.1 Fault. Throws if not SOAP. */
export function isSoapFault(body: string): boolean {
  const { doc, errors } = parseXml(body);
  if (errors.length > 0 || doc?.documentElement === undefined || doc.documentElement === null)
    throw new Error(`response is not XML: ${errors.join('; ')}`);
  const root = doc.documentElement;
  if (!isEnv(root, 'Envelope')) throw new Error('response is not a SOAP 1.1 envelope');
  const bodyEl = elementChildren(root).find((e) => isEnv(e, 'Body'));
  const first = bodyEl === undefined ? undefined : elementChildren(bodyEl)[0];
  return isEnv(first, 'Fault');
}

/** Split SoapUI's `declare namespace p='uri';` prologue off an XPath expression. */
export function splitNamespaces(path: string): { namespaces: Record<string, string>; expression: string } {
  const namespaces: Record<string, string> = {};
  let rest = path;
  for (;;) {
    const m = /^\s*declare\s+namespace\s+([A-Za-z_][\w.-]*)\s*=\s*(['"])(.*?)\2\s*;/.exec(rest);
    if (m === null) break;
    namespaces[m[1]!] = m[3]!;
    rest = rest.slice(m[0].length);
  }
  if (/^\s*declare\s/.test(rest)) throw new ReplayUnsupported(`XPath prologue not understood: ${rest.slice(0, 60)}`);
  return { namespaces, expression: rest.trim() };
}

/** Evaluate an XPath 1.0 expression; node-sets come back as the values SoapUI compares. */
export function selectValues(xml: string, path: string): string[] {
  const { doc, errors } = parseXml(xml);
  if (errors.length > 0 || doc === undefined) throw new Error(`not XML: ${errors.join('; ')}`);
  const { namespaces, expression } = splitNamespaces(path);
  const result = xpathLib.useNamespaces(namespaces)(expression, doc);
  if (typeof result === 'string') return [result];
  if (typeof result === 'boolean') return [String(result)];
  if (typeof result === 'number') return [Number.isInteger(result) ? String(result) : String(result)];
  if (result === null) return [];
  const nodes = Array.isArray(result) ? result : [result];
  return nodes.map((node) => {
    switch (node.nodeType) {
      case ELEMENT_NODE:
        return elementText(node);
      case ATTRIBUTE_NODE:
      case TEXT_NODE:
      case CDATA_SECTION_NODE:
        return node.nodeValue ?? '';
      default:
        throw new ReplayUnsupported(`XPath ${expression} selected a node of type ${node.nodeType}`);
    }
  });
}

/** SoapUI's Tools.assertSimilar with '*' as the wildcard. */
function similar(expected: string, actual: string): boolean {
  const pattern = expected
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${pattern}$`).test(actual);
}

// ---------------------------------------------------------------- running
export interface Exchange {
  readonly status: number;
  readonly body: string;
  readonly requestBody: string;
  readonly soapAction: string;
  readonly endpoint: string;
}

export async function post(
  endpoint: string,
  soapAction: string,
  body: string,
  extraHeaders: readonly (readonly [string, string])[] = [],
): Promise<Exchange> {
  const url = new URL(endpoint);
  if (url.protocol !== 'http:') throw new ReplayUnsupported(`endpoint ${endpoint}: only http is replayed`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          // What SoapUI sends for a SOAP 1.1 request.
          'Content-Type': 'text/xml;charset=UTF-8',
          SOAPAction: `"${soapAction}"`,
          'Content-Length': Buffer.byteLength(body, 'utf8'),
          ...Object.fromEntries(extraHeaders),
        },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > RESPONSE_BYTES_MAX) req.destroy(new Error(`response larger than ${RESPONSE_BYTES_MAX} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            requestBody: body,
            soapAction,
            endpoint,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${endpoint} within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Evaluate one assertion on an exchange; returns an error message, or undefined when it holds. */
export function checkAssertion(assertion: Assertion, exchange: Exchange, scope: Scope): string | undefined {
  switch (assertion.type) {
    case 'SOAP Response': {
      const errors = soapEnvelopeErrors(exchange.body);
      return errors.length === 0 ? undefined : errors.join('; ');
    }
    case 'SOAP Fault Assertion': // SoapUI's NotSoapFaultAssertion.ID: "Not SOAP Fault"
      try {
        return isSoapFault(exchange.body) ? 'Response is a SOAP Fault' : undefined;
      } catch (error) {
        return (error as Error).message;
      }
    case 'Not SOAP Fault Assertion': // SoapUI's SoapFaultAssertion.ID: "SOAP Fault"
      try {
        return isSoapFault(exchange.body) ? undefined : 'Response is not a SOAP Fault';
      } catch (error) {
        return (error as Error).message;
      }
    case 'Valid HTTP Status Codes': {
      const codes = expand(assertion.config['codes'] ?? '', scope)
        .split(',')
        .map((c) => c.trim());
      return codes.includes(String(exchange.status))
        ? undefined
        : `Response status code:${exchange.status} is not in acceptable list of status codes`;
    }
    case 'XPath Match':
      return checkXPathMatch(assertion, exchange.body, scope);
    default:
      throw new ReplayUnsupported(`assertion type "${assertion.type}" (${assertion.name}) is not replayed`);
  }
}

function checkXPathMatch(assertion: Assertion, body: string, scope: Scope): string | undefined {
  const path = assertion.config['path'];
  const content = assertion.config['content'];
  if (path === undefined || content === undefined)
    throw new ReplayUnsupported(`XPath Match "${assertion.name}" without path or content`);
  const expandedPath = expand(path, scope);
  const expected = expand(content, scope);
  if (!expandedPath.trimEnd().endsWith('text()') && expected.trimStart().startsWith('<')) {
    throw new ReplayUnsupported(`XPath Match "${assertion.name}": XML content comparison is not replayed`);
  }
  const wildcards = assertion.config['allowWildcards'] === 'true';
  let values: string[];
  try {
    values = selectValues(body, expandedPath);
  } catch (error) {
    if (error instanceof ReplayUnsupported) throw error;
    return `XPathContains assertion failed for path [${path}] : ${(error as Error).message}`;
  }
  if (values.length === 0) return `Missing content for xpath [${path}] in Response`;
  if (values.some((v) => (wildcards ? similar(expected, v) : v === expected))) return undefined;
  return `XPathContains comparison failed for path [${path}], expecting [${expected}], actual was [${values.join(' | ')}]`;
}

export interface StepResult {
  readonly step: string;
  readonly failures: readonly string[];
  readonly exchange?: Exchange;
  /** The server took the connection and closed it (FIN or RST) without any HTTP answer. */
  readonly answerLost?: boolean;
}

/** SoapUI's verdict on a case: with failTestCaseOnErrors off, failed steps do not fail it. */
export function testCasePassed(testCase: TestCase, results: readonly StepResult[]): boolean {
  return !testCase.failTestCaseOnErrors || results.every((r) => r.failures.length === 0);
}

/** Run one test case, stopping at the first failed step when failOnError is on, like SoapUI. */
export async function runTestCase(project: Project, suite: TestSuite, testCase: TestCase): Promise<StepResult[]> {
  const scope: Scope = { project: project.properties, suite: suite.properties, testCase: new Map(testCase.properties) };
  const responses = new Map<string, Exchange>();
  const results: StepResult[] = [];
  for (const step of testCase.steps) {
    const result =
      step.kind === 'request' ? await runRequest(project, step, scope) : runTransfer(step, scope, responses);
    results.push(result);
    if (result.exchange !== undefined) responses.set(step.name, result.exchange);
    if (result.failures.length > 0 && testCase.failOnError) break;
  }
  return results;
}

async function runRequest(project: Project, step: RequestStep, scope: Scope): Promise<StepResult> {
  const iface = project.interfaces.get(step.interfaceName);
  if (iface === undefined) throw new ReplayUnsupported(`step "${step.name}": no interface "${step.interfaceName}"`);
  if (iface.soapVersion !== '1_1')
    throw new ReplayUnsupported(`interface ${iface.name}: SOAP ${iface.soapVersion} is not replayed`);
  const action = iface.actions.get(step.operation);
  if (action === undefined)
    throw new ReplayUnsupported(`step "${step.name}": no operation "${step.operation}" in ${iface.name}`);
  const endpoint = expand(step.endpoint, scope);
  const body = expand(step.body, scope);
  const headers = step.httpHeaders.map(([name, value]) => [name, expand(value, scope)] as const);
  let exchange: Exchange;
  try {
    exchange = await post(endpoint, action, body, headers);
  } catch (error) {
    if (error instanceof ReplayUnsupported) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    return {
      step: step.name,
      failures: [`request failed: ${(error as Error).message}`],
      answerLost: code === 'ECONNRESET', // Node's "socket hang up" (FIN) and a reset (RST) alike
    };
  }
  const failures: string[] = [];
  for (const assertion of step.assertions) {
    if (assertion.disabled) continue;
    const failure = checkAssertion(assertion, exchange, scope);
    if (failure !== undefined) failures.push(`[${assertion.name}] ${failure}`);
  }
  return { step: step.name, failures, exchange };
}

function runTransfer(step: TransferStep, scope: Scope, responses: ReadonlyMap<string, Exchange>): StepResult {
  const failures: string[] = [];
  for (const t of step.transfers) {
    if (t.sourceType !== 'Response')
      throw new ReplayUnsupported(`transfer "${t.name}": source property ${t.sourceType} is not replayed`);
    const target = /^#(Project|TestSuite|TestCase)#$/.exec(t.targetStep);
    if (target === null) throw new ReplayUnsupported(`transfer "${t.name}": target ${t.targetStep} is not replayed`);
    const targetHolder = holder(scope, target[1]!)!;
    if (!targetHolder.has(t.targetType)) {
      failures.push(`transfer "${t.name}": Missing target property ${t.targetStep}${t.targetType}`);
      continue;
    }
    const source = responses.get(t.sourceStep);
    if (source === undefined) {
      failures.push(`transfer "${t.name}": step "${t.sourceStep}" has no response (Missing source property)`);
      continue;
    }
    const values = selectValues(source.body, expand(t.sourcePath, scope));
    const value = values[0];
    if (value === undefined) {
      if (!t.setNullOnMissingSource)
        failures.push(`transfer "${t.name}": Missing match for Source XPath [${t.sourcePath}]`);
      else targetHolder.set(t.targetType, '');
      continue;
    }
    targetHolder.set(t.targetType, value);
  }
  return { step: step.name, failures };
}
