import type http from 'node:http';
import type { AdminAuth } from '../common/admin-auth';
import type { Logger } from '../common/logger';
import { readRequestBody } from '../common/request-body';
import { isServiceFault } from '../common/service-fault';
import type { FaultSetup } from './fault-setup';
import { NO_FAULT_RULES, parseFaultRulesText } from './fault-rules';

/**
 * The fault rules of one business server over HTTP, for the control plane (which forwards its
 * admin SOAP operations SetFaultRules / GetFaultRules / ClearFaultRules to every business
 * server) and for scripts: `Authorization: Bearer <admin token>` on
 *   GET    /admin/faults   → 200 {"seed", "rules", "injected"}
 *   PUT    /admin/faults   (body: the rules file's JSON) → 200, or 400 {"code": "INVALID_REQUEST", "error": …}
 *   DELETE /admin/faults   → 200 (no rules)
 * Rules set here hold until the rules file next changes. Only on a server started with
 * --faults: elsewhere 409, so no admin call can turn injection on in a bank not started for it.
 */
export const FAULT_ADMIN_PATH = '/admin/faults';
const RULES_BODY_BYTES_MAX = 256 * 1024;

function send(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

export function faultAdminRoute(setup: FaultSetup | undefined, admin: AdminAuth, logger: Logger) {
  async function serve(req: http.IncomingMessage, res: http.ServerResponse, faults: FaultSetup): Promise<void> {
    if (req.method === 'GET') {
      send(res, 200, { ...faults.rulesJson(), injected: faults.injector.injectedByAction });
      return;
    }
    if (req.method === 'DELETE') {
      faults.set(NO_FAULT_RULES);
      logger.warn('fault rules cleared by the admin');
      send(res, 200, { rules: 0 });
      return;
    }
    if (req.method !== 'PUT' && req.method !== 'POST') {
      send(res, 405, { error: 'use GET, PUT or DELETE' });
      return;
    }
    const text = await readRequestBody(req, RULES_BODY_BYTES_MAX);
    let rules;
    try {
      rules = parseFaultRulesText(text);
    } catch (error) {
      send(res, 400, { code: 'INVALID_REQUEST', error: error instanceof Error ? error.message : String(error) });
      return;
    }
    faults.set(rules);
    logger.warn('fault rules set by the admin', { rules: rules.rules.length, seed: rules.seed });
    send(res, 200, { rules: rules.rules.length });
  }

  /** True when the request was this route's (answered or being answered). */
  return (req: http.IncomingMessage, res: http.ServerResponse, pathname: string): boolean => {
    if (pathname !== FAULT_ADMIN_PATH) return false;
    if (!admin.allows(req.headers.authorization)) {
      send(res, 401, { error: 'admin token required (Authorization: Bearer …)' });
    } else if (setup === undefined) {
      send(res, 409, { error: 'fault injection is off on this server: start it with --faults FILE' });
    } else {
      serve(req, res, setup).catch((error: unknown) => {
        if (!res.headersSent)
          send(res, 400, { code: 'INVALID_REQUEST', error: isServiceFault(error) ? error.message : 'bad request' });
      });
    }
    return true;
  };
}
