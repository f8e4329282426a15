import http from 'node:http';
import { REQUEST_ID_CHARS, TRACE_KEY_CHARS_MAX, TRACE_KEY_PATTERN } from './contract';
import { ProcessMetrics } from './metrics';
import { TRACE_MATCHES_MAX, TraceEntry, TraceRing } from './trace-ring';

/**
 * The observation endpoints every process serves next to its service, all behind
 * `Authorization: Bearer <admin token>` (Prometheus's `bearer_token` convention):
 *   GET /metrics               Prometheus text format (prom-client)
 *   GET /admin/metrics.json    the same as prom-client's JSON (what the console reads)
 *   GET /admin/trace?id=X      ring entries whose request id, trace id or transaction id is X
 *   GET /admin/state           tier-specific live state (locks, queues, backends …)
 * They answer GETs only and never touch the data plane's request path.
 */
/** Who is the operator (common/admin-auth.ts's AdminAuth has this shape). */
export interface AdminCheck {
  allows(authorization: string | string[] | undefined): boolean;
}

export interface AdminExtras {
  /** Extra facts for a trace (the data server adds the journal rows of the transactions found). */
  readonly traceExtra?: (entries: readonly TraceEntry[]) => Promise<Record<string, unknown>>;
  readonly state?: () => Promise<Record<string, unknown>>;
}

export interface AdminEndpoints extends AdminExtras {
  readonly metrics: ProcessMetrics;
  readonly ring: TraceRing;
  readonly auth: AdminCheck;
}

/** Newest failed requests listed by /admin/state. */
const RECENT_FAULTS_MAX = 20;

/** Serves the request if it is one of the admin routes; false if the path is not ours. */
export function handleAdminRoute(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  query: string,
  admin: AdminEndpoints,
): boolean {
  if (path !== '/metrics' && !path.startsWith('/admin/')) return false;
  if (req.method !== 'GET') {
    send(res, 405, 'application/json', JSON.stringify({ error: 'GET only' }), { allow: 'GET' });
    return true;
  }
  if (!admin.auth.allows(req.headers.authorization)) {
    send(res, 401, 'application/json', JSON.stringify({ error: 'admin token required (Authorization: Bearer …)' }), {
      'www-authenticate': 'Bearer realm="distbank"',
    });
    return true;
  }
  answer(path, new URLSearchParams(query), admin).then(
    (r) => send(res, r.status, r.type, r.body),
    () => send(res, 500, 'application/json', JSON.stringify({ error: 'internal error' })),
  );
  return true;
}

async function answer(
  path: string,
  params: URLSearchParams,
  admin: AdminEndpoints,
): Promise<{ status: number; type: string; body: string }> {
  const json = (status: number, value: unknown): { status: number; type: string; body: string } => ({
    status,
    type: 'application/json',
    body: JSON.stringify(value),
  });
  switch (path) {
    case '/metrics':
      return { status: 200, type: admin.metrics.registry.contentType, body: await admin.metrics.registry.metrics() };
    case '/admin/metrics.json':
      return json(200, await admin.metrics.registry.getMetricsAsJSON());
    case '/admin/trace': {
      const id = params.get('id') ?? '';
      // The trace key of admin.wsdl: request ids ≤ 128, trace ids 32, transaction ids 33.
      if (!TRACE_KEY_PATTERN.test(id)) {
        return json(400, { error: `id must be 1..${TRACE_KEY_CHARS_MAX} characters of ${REQUEST_ID_CHARS}` });
      }
      const entries = admin.ring.find(id, TRACE_MATCHES_MAX);
      return json(200, {
        service: admin.metrics.service,
        entries,
        ...(admin.traceExtra ? await admin.traceExtra(entries) : {}),
      });
    }
    case '/admin/state':
      return json(200, {
        service: admin.metrics.service,
        ringEntries: admin.ring.size,
        ringCapacity: admin.ring.capacity,
        recentFaults: admin.ring.recent(RECENT_FAULTS_MAX, (e) => e.kind === 'request' && e.outcome !== 'ok'),
        ...(admin.state ? await admin.state() : {}),
      });
    default:
      return json(404, { error: 'not found' });
  }
}

function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: http.OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(body);
}
