import type http from 'node:http';
import type { AdminAuth } from './admin-auth';

/**
 * GET /health on every process. Public: liveness only, `{"status":"ok"}` (HTTP 200) or
 * `{"status":"degraded"}` (HTTP 503: running, but cannot serve — say, a tier it needs refuses
 * its credentials; a load balancer routes around it). With `Authorization: Bearer <admin
 * token>` (common/admin-auth.ts) the answer adds the service name, the reason and the details
 * (backends, counters, errors). A wrong bearer token is refused with 401, so an operator with
 * a stale token hears so instead of silently seeing less.
 */
export type HealthStatus = 'ok' | 'degraded';

/**
 * On a SOAP fault sent with HTTP 503 by a server that is not ready (common/soap-host.ts): why.
 * balancer/health.ts tells a misconfigured business server from a merely busy one by it.
 */
export const NOT_READY_HEADER = 'distbank-not-ready';

export interface HealthReport {
  readonly status: HealthStatus;
  /** Why not ok; shown to the admin only (it may name hosts or peers). */
  readonly reason?: string | undefined;
  readonly details?: Readonly<Record<string, unknown>>;
  /** Shown to everyone, admin or not: what a caller must know (`"faultInjection": true`). */
  readonly public?: Readonly<Record<string, unknown>>;
}

export function isHealthRequest(method: string | undefined, path: string): boolean {
  return path === '/health' && (method === 'GET' || method === 'HEAD');
}

function send(
  res: http.ServerResponse,
  status: number,
  body: Record<string, unknown>,
  extra: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** Answer a /health request from a report made now; a report that throws is degraded. */
export async function serveHealth(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  service: string,
  admin: AdminAuth,
  report: () => Promise<HealthReport> | HealthReport,
): Promise<void> {
  const authorization = req.headers.authorization;
  const isAdmin = admin.allows(authorization);
  if (authorization !== undefined && !isAdmin) {
    send(res, 401, { error: 'wrong admin token' }, { 'www-authenticate': 'Bearer realm="distbank"' });
    return;
  }
  let r: HealthReport;
  try {
    r = await report();
  } catch (error) {
    r = {
      status: 'degraded',
      reason: `health check failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const code = r.status === 'ok' ? 200 : 503;
  if (!isAdmin) {
    send(res, code, { status: r.status, ...r.public });
    return;
  }
  send(res, code, {
    status: r.status,
    ...r.public,
    service,
    ...(r.reason === undefined ? {} : { reason: r.reason }),
    ...r.details,
  });
}
