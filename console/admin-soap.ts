import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdminCheck } from '../common/admin-routes';
import { ADMIN_NAMESPACE, SOAP_CONTENT_TYPE, soapAction } from '../common/contract';
import type { Logger } from '../common/logger';
import { readRequestBody } from '../common/request-body';
import { fault, isServiceFault } from '../common/service-fault';
import { readEnvelope } from '../common/soap-envelope';
import { FAULT_HTTP_STATUS, faultEnvelope } from '../common/soap-fault';
import { describeService, readArguments, responseEnvelope, ServiceShape } from '../common/soap-message';
import type { TraceEntry } from '../common/trace-ring';
import { AdminApi } from './admin-api';
import { notAnswered } from './fault-rules-forward';
import { ruleOfJson, rulesJsonOfArguments } from './fault-rules-xml';
import type { ProcessView } from './cluster-view';

/**
 * wsdl/admin.wsdl at /admin: the control plane's operations for scripts and SoapUI, on the same
 * strict reader and schema-ordered writer as the bank's SOAP edge (common/soap-envelope.ts,
 * soap-message.ts). The operator is the holder of the admin token, sent in the admin-token header
 * block (or as `Authorization: Bearer …`). Every error is an AdminFault with a registry code.
 */
export const ADMIN_WSDL_PATH = join(__dirname, '..', '..', 'wsdl', 'admin.wsdl');

type Handler = (args: Record<string, unknown>) => Promise<Record<string, unknown>>;

function decimal(value: number | undefined, digits = 1): string | undefined {
  return value === undefined ? undefined : value.toFixed(digits);
}

function processStatus(p: ProcessView): Record<string, unknown> {
  return {
    name: p.name,
    tier: p.tier,
    url: p.url,
    up: p.up,
    requestsPerSecond: decimal(p.requestsPerSecond),
    p50Ms: decimal(p.p50Ms),
    p99Ms: decimal(p.p99Ms),
    cpuPercent: decimal(p.cpuPercent),
    inFlight: p.inFlight,
    queueDepth: p.queueDepth,
    queueDepthMax: p.queueDepthMax,
    faultsPerMinute: p.faultsPerMinute,
    error: p.error,
  };
}

function traceStep(e: TraceEntry): Record<string, unknown> {
  return {
    at: new Date(e.atMs).toISOString(),
    service: e.service,
    kind: e.kind,
    operation: e.operation,
    outcome: e.outcome,
    durationMs: Math.round(e.durationMs),
    requestId: e.requestId,
    traceId: e.traceId,
    spanId: e.spanId,
    parentSpanId: e.parentSpanId,
    peer: e.peer,
    transactionId: e.transactionId,
    fencingToken: e.fencingToken,
    accountId: e.accounts === undefined ? undefined : [...e.accounts],
  };
}

/** A string argument as the host read it (admin.wsdl declares these as xsd:string); absent is ''. */
function textArg(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function adminOperations(api: AdminApi): Readonly<Record<string, Handler>> {
  return Object.freeze({
    GetClusterStatus: () => {
      const s = api.clusterStatus();
      return Promise.resolve({ devMode: s.devMode, process: s.processes.map(processStatus) });
    },
    GetLocks: () => {
      const l = api.locks();
      return Promise.resolve({
        locksHeld: l.locksHeld,
        lock: l.locks.map((k) => ({
          accountId: [...k.accounts],
          holder: k.holder,
          fencingToken: k.fencingToken,
          leaseLeftMs: k.leaseLeftMs,
        })),
        waiting: l.waiters.map((w) => ({ accountId: w.accountId, waiters: w.waiters })),
      });
    },
    GetTrace: async (args) => {
      const t = await api.trace(textArg(args.id));
      return { id: t.id, step: t.steps.map(traceStep), journalEntry: t.journal.map((j) => ({ ...j })) };
    },
    SetFaultRules: async (args) =>
      api.setFaultRules(rulesJsonOfArguments(args)).then((r) => ({ rules: r.rules, server: r.servers })),
    GetFaultRules: async () => {
      const f = await api.faultRules();
      // The page shows what it could get; a script is answered only when every server answered.
      if (f.unreachable.length > 0) throw notAnswered(f.unreachable, 'the rules cannot be shown for every server');
      return {
        faultInjection: f.faultInjection,
        server: f.servers.map((s) => ({
          server: s.server,
          seed: s.seed,
          rule: s.rules.map(ruleOfJson),
          injected: Object.entries(s.injected).map(([action, count]) => ({ action, count })),
        })),
      };
    },
    ClearFaultRules: async () => ({ server: (await api.clearFaultRules()).servers }),
    ControlServer: async (args) => {
      const server = textArg(args.server);
      const action = textArg(args.action);
      return { server, action, message: await api.control(server, action) };
    },
  });
}

export interface AdminSoap {
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  wsdl(publicUrl: string): string;
}

export async function adminSoap(
  api: AdminApi,
  auth: AdminCheck,
  bodyBytesMax: number,
  logger: Logger,
): Promise<AdminSoap> {
  const wsdlText = readFileSync(ADMIN_WSDL_PATH, 'utf8');
  const shape: ServiceShape = await describeService(wsdlText);
  const operations = adminOperations(api);
  for (const name of shape.operations.keys())
    if (operations[name] === undefined) throw new Error(`admin.wsdl operation ${name} has no handler`);

  async function call(req: http.IncomingMessage): Promise<string> {
    const request = readEnvelope(await readRequestBody(req, bodyBytesMax), {
      namespace: ADMIN_NAMESPACE,
      headers: shape.headers,
    });
    const name = request.body.name;
    const op = shape.operations.get(name);
    const handler = Object.prototype.hasOwnProperty.call(operations, name) ? operations[name] : undefined;
    if (request.body.ns !== ADMIN_NAMESPACE || op === undefined || handler === undefined)
      throw fault('INVALID_REQUEST', `unknown operation {${request.body.ns}}${name}`);
    const action = String(req.headers.soapaction ?? '').replace(/^"|"$/g, '');
    if (action !== '' && action !== soapAction(ADMIN_NAMESPACE, name))
      throw fault(
        'INVALID_REQUEST',
        `SOAPAction ${JSON.stringify(action)} does not match the body's operation ${name}`,
      );
    const token = request.headerBlocks.get('admin-token');
    const authorization = token === undefined ? req.headers.authorization : `Bearer ${token}`;
    if (!auth.allows(authorization)) throw fault('AUTHENTICATION_FAILED', 'missing or wrong admin-token');
    return responseEnvelope(op, ADMIN_NAMESPACE, await handler(readArguments(request.body, op.input, ADMIN_NAMESPACE)));
  }

  return {
    wsdl: (publicUrl) => wsdlText.replace(/(<soap:address\s+location=")[^"]*(")/, `$1${publicUrl}$2`),
    handle(req, res) {
      call(req).then(
        (xml) => send(res, 200, xml),
        (error: unknown) => {
          if (!isServiceFault(error))
            logger.error('admin service error', {
              error: error instanceof Error ? (error.stack ?? error.message) : String(error),
            });
          const f = isServiceFault(error) ? error : fault('INTERNAL_ERROR', 'internal error in the console');
          send(res, FAULT_HTTP_STATUS, faultEnvelope(f, ADMIN_NAMESPACE, 'AdminFault'));
        },
      );
    },
  };
}

function send(res: http.ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': SOAP_CONTENT_TYPE, 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}
