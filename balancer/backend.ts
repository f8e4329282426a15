import http from 'node:http';

/**
 * One business server as the balancer sees it: its URL, a bounded keep-alive agent, and its
 * health. A backend takes requests when the active checks say it is up AND no request failed
 * on it at the connection level during the last passiveDownMs.
 */
export interface BackendLimits {
  readonly socketsPerBackendMax: number;
  readonly healthFailuresMax: number;
  readonly passiveDownMs: number;
}

export interface BackendState {
  readonly url: string;
  readonly healthy: boolean;
  readonly eligible: boolean;
  readonly outstanding: number;
  readonly requestsTotal: number;
  readonly failuresTotal: number;
  readonly lastError?: string;
}

export class Backend {
  readonly url: URL;
  readonly healthUrl: URL;
  readonly agent: http.Agent;
  /** Requests sent and not yet answered: the least-outstanding choice reads it. */
  outstanding = 0;
  requestsTotal = 0;
  failuresTotal = 0;
  private healthy = true;
  private healthFailures = 0;
  private downUntilMs = 0;
  private lastError: string | undefined;

  constructor(
    url: string,
    private readonly limits: BackendLimits,
  ) {
    this.url = new URL(url);
    this.healthUrl = new URL('/health', this.url);
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: limits.socketsPerBackendMax,
      maxFreeSockets: limits.socketsPerBackendMax,
      // No `timeout` here on purpose: it re-arms a socket timer on every request and doubled
      // the balancer's CPU per request (measured: ~200 -> ~105 us). Node's agent already closes
      // idle sockets at the server's `Keep-Alive: timeout=` hint, and a request that meets a
      // socket the server closed anyway is re-sent (attempt.ts: staleSocket).
      scheduling: 'lifo',
    });
  }

  isEligible(nowMs: number): boolean {
    return this.healthy && nowMs >= this.downUntilMs;
  }

  /** Up by the active checks, whatever the last request saw: a last resort. */
  isHealthy(): boolean {
    return this.healthy;
  }

  /** A connection-level failure of a real request: skip this backend for a while. */
  markRequestFailure(reason: string, nowMs: number): void {
    this.failuresTotal++;
    this.lastError = reason;
    this.downUntilMs = nowMs + this.limits.passiveDownMs;
  }

  healthCheckPassed(): void {
    this.healthFailures = 0;
    this.healthy = true;
  }

  /**
   * The backend itself says it cannot serve (its /health: degraded, e.g. its credentials are
   * refused by the data tier): down at once, no need to wait for more failures in a row.
   */
  healthCheckDegraded(reason: string): void {
    this.lastError = `health: ${reason}`;
    this.healthFailures = Math.max(this.healthFailures, this.limits.healthFailuresMax);
    this.healthy = false;
  }

  healthCheckFailed(reason: string): void {
    this.lastError = `health: ${reason}`;
    this.healthFailures++;
    if (this.healthFailures >= this.limits.healthFailuresMax) this.healthy = false;
  }

  state(nowMs: number): BackendState {
    const s: BackendState = {
      url: this.url.toString(),
      healthy: this.healthy,
      eligible: this.isEligible(nowMs),
      outstanding: this.outstanding,
      requestsTotal: this.requestsTotal,
      failuresTotal: this.failuresTotal,
    };
    return this.lastError === undefined ? s : { ...s, lastError: this.lastError };
  }

  close(): void {
    this.agent.destroy();
  }
}
