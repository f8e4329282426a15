import type { HttpLiteResponse } from '../common/http-lite';
import type { ConnectionStats } from '../common/connection-guard';
import { HealthReport, NOT_READY_HEADER } from '../common/health';
import { responseHeader } from './headers';
import type { HealthChecker } from './health-checker';
import type { BackendPool } from './pool';

/**
 * The balancer's own /health report (served by common/health.ts): ok while at least one
 * business server is eligible; `"faultInjection": true` for everyone when any business server's
 * /health says it injects faults (the admin's details name them in `faultInjectionOn`); the
 * backends, their last errors, the in-flight count and the
 * client connections (common/connection-guard.ts) are details, for the admin only.
 */
export function balancerHealth(
  pool: BackendPool,
  inFlight: number,
  inFlightMax: number,
  connections: ConnectionStats,
  faultInjecting: readonly string[] = [],
): HealthReport {
  const now = Date.now();
  const up = pool.eligibleCount(now) > 0;
  return {
    status: up ? 'ok' : 'degraded',
    reason: up ? undefined : 'no business server is healthy',
    // As loud as a business server's own /health: everyone is told, admin or not.
    ...(faultInjecting.length === 0 ? {} : { public: { faultInjection: true } }),
    details: {
      inFlight,
      inFlightMax,
      connections,
      backends: pool.states(now),
      ...(faultInjecting.length === 0 ? {} : { faultInjectionOn: faultInjecting }),
    },
  };
}

export const MISCONFIGURED_MESSAGE =
  'the bank is misconfigured: no business server can serve (each reports it is not ready); an operator must fix it';
const MISCONFIGURED_REASON = 'not ready: misconfigured (HTTP 503)';

/**
 * HTTP 503 from a business server means it did nothing with the request: it is not ready (its
 * credentials refused by the data tier, business/data-tier-check.ts; header distbank-not-ready)
 * or it turned the connection away at its bound (common/connection-guard.ts). Either way the
 * request may go to another one, as after a refused connection. Other statuses are answers.
 */
export function isNotReady(response: HttpLiteResponse): boolean {
  return response.status === 503;
}

export function notReadyFailure(response: HttpLiteResponse): {
  kind: 'failed';
  reason: string;
  staleSocket: false;
} {
  const misconfigured = responseHeader(response.headers, NOT_READY_HEADER) === 'misconfigured';
  return { kind: 'failed', reason: misconfigured ? MISCONFIGURED_REASON : 'busy (HTTP 503)', staleSocket: false };
}

/**
 * What a client hears when no business server took its request. When every one says it is
 * degraded or not ready (misconfigured), retrying will not help: say so.
 */
export function unavailableMessage(health: HealthChecker, failures: readonly string[]): string {
  if (failures.length === 0) return health.allDegraded() ? MISCONFIGURED_MESSAGE : 'no business server is available';
  return failures.every((f) => f.endsWith(MISCONFIGURED_REASON))
    ? MISCONFIGURED_MESSAGE
    : 'no business server answered in time';
}
