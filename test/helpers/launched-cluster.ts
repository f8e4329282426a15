import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStringPromise } from 'xml2js';
import { RunningProcess, startProcess } from './process';
import { ADMIN_NAMESPACE, SOAP11_ENVELOPE_NS, SOAP_CONTENT_TYPE, soapActionHeader } from '../../common/contract';

/**
 * `npm start` (scripts/cluster.js) on free ports in a temp dir, with the console: what the
 * console tests drive. Gives the demo clients, the admin token and the console's URL as the
 * launcher wrote them, and a caller of the admin SOAP service.
 */
export interface LaunchedCluster {
  readonly process: RunningProcess;
  readonly dir: string;
  readonly bankUrl: string;
  readonly consoleUrl: string;
  readonly adminToken: string;
  readonly clients: ReadonlyArray<{ clientId: string; authToken: string; accounts: string[] }>;
  stop(): Promise<void>;
}

/** `args` go to npm start after the port flags (e.g. `['--faults', file]`). */
export async function launchCluster(
  env: Record<string, string> = {},
  args: readonly string[] = [],
): Promise<LaunchedCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'distbank-console-'));
  const proc = await startProcess(
    'scripts/cluster.js',
    { BANK_DATA_DIR: dir, BANK_LOG_LEVEL: 'warn', ...env },
    60_000,
    ['--data-port', '0', '--business-ports', '0,0,0', '--balancer-port', '0', '--console-port', '0', ...args],
  );
  const demo = JSON.parse(readFileSync(join(dir, 'demo-credentials.json'), 'utf8')) as {
    url: string;
    consoleUrl: string;
    clients: LaunchedCluster['clients'];
  };
  const admin = JSON.parse(readFileSync(join(dir, 'admin-credentials.json'), 'utf8')) as { adminToken: string };
  return {
    process: proc,
    dir,
    bankUrl: proc.url,
    consoleUrl: demo.consoleUrl,
    adminToken: admin.adminToken,
    clients: demo.clients,
    async stop() {
      await proc.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface AdminAnswer {
  readonly status: number;
  /** The response element's content (xml2js, explicitArray off), or the AdminFault. */
  readonly body?: Record<string, unknown>;
  readonly fault?: { code: string; message: string };
}

/** One call of wsdl/admin.wsdl. `inner` is the body element's content, already XML. */
export async function callAdmin(
  consoleUrl: string,
  operation: string,
  inner: string,
  token: string | undefined,
): Promise<AdminAnswer> {
  const header = token === undefined ? '' : `<soap:Header><a:admin-token>${token}</a:admin-token></soap:Header>`;
  const res = await fetch(new URL('/admin', consoleUrl), {
    method: 'POST',
    headers: { 'content-type': SOAP_CONTENT_TYPE, soapaction: soapActionHeader(ADMIN_NAMESPACE, operation) },
    body: `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:a="${ADMIN_NAMESPACE}">${header}<soap:Body><a:${operation}>${inner}</a:${operation}></soap:Body></soap:Envelope>`,
  });
  const xml = await res.text();
  const parsed = (await parseStringPromise(xml, {
    explicitArray: false,
    tagNameProcessors: [(n: string) => n.replace(/^.*:/, '')],
    ignoreAttrs: true,
  })) as { Envelope: { Body: Record<string, unknown> } };
  const body = parsed.Envelope.Body;
  const f = (body.Fault as { detail?: { AdminFault?: { code: string; message: string } } } | undefined)?.detail
    ?.AdminFault;
  if (f !== undefined) return { status: res.status, fault: f };
  return { status: res.status, body: body[`${operation}Response`] as Record<string, unknown> };
}

export function list<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** npm start's settings for port 0 on every tier, so a cluster on this machine's default ports changes nothing. */
export const LAUNCHER_ON_FREE_PORTS: Readonly<Record<string, string>> = Object.freeze({
  BANK_DATA_PORT: '0',
  BANK_BUSINESS_PORTS: '0',
  BANK_BALANCER_PORT: '0',
  BANK_CONSOLE_PORT: '0',
});
