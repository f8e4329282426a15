import type { ConnectionStats } from '../common/connection-guard';
import type { HealthReport } from '../common/health';
import type { HealthChecker } from './health-checker';
import type { BackendPool } from './pool';

/**
 * The balancer's own /health report (served by common/health.ts): ok while at least one
 * business server is eligible; the backends, their last errors, the in-flight count and the
 * client connections (common/connection-guard.ts) are details, for the admin only.
 */
export function balancerHealth(pool: BackendPool, inFlight: number, inFlightMax: number, connections: ConnectionStats): HealthReport {
  const now = Date.now();
  const up = pool.eligibleCount(now) > 0;
  return {
    status: up ? 'ok' : 'degraded',
    reason: up ? undefined : 'no business server is healthy',
    details: { inFlight, inFlightMax, connections, backends: pool.states(now) },
  };
}

/**
 * What a client hears when no business server can take its request. When every one says it is
 * degraded (misconfigured, e.g. refused by the data tier), retrying will not help: say so.
 */
export function noBackendMessage(health: HealthChecker): string {
  return health.allDegraded()
    ? 'the bank is misconfigured: every business server reports it cannot serve; an operator must fix it'
    : 'no business server is available';
}
