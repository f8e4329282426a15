import { HttpLiteClient } from '../common/http-lite';

/**
 * One business server as the balancer sees it: its URL, a bounded pool of keep-alive sockets
 * (common/http-lite.ts), and its health. A backend takes requests when the active checks say it
 * is up AND no request failed on it at the connection level during the last passiveDownMs.
 */
export interface BackendLimits {
  readonly socketsPerBackendMax: number;
  readonly responseBytesMax: number;
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

/**
 * An idle socket to a business server is closed after this, or 1 s before the server's own
 * `Keep-Alive: timeout=` hint (5 s by default, BANK_KEEP_ALIVE_MS) if that comes first.
 */
const IDLE_SOCKET_MS = 4000;

export class Backend {
  readonly url: URL;
  readonly healthUrl: URL;
  readonly http: HttpLiteClient;
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
    // The most recently used idle socket is taken first (LIFO); no timer is re-armed per
    // request (an agent `timeout` doubled node's CPU per request). A request that meets a
    // socket the server closed anyway is re-sent (attempt.ts: staleSocket).
    this.http = new HttpLiteClient(
      {
        host: this.url.hostname.replace(/^\[|\]$/g, ''),
        port: this.url.port === '' ? 80 : Number(this.url.port),
        socketsMax: limits.socketsPerBackendMax,
        idleSocketMs: IDLE_SOCKET_MS,
        responseBytesMax: limits.responseBytesMax,
      },
      this.url.pathname + this.url.search,
      '',
    );
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
    this.http.close();
  }
}
