import http from 'node:http';
import { Logger } from '../common/logger';
import { Backend } from './backend';
import { BackendPool } from './pool';

/**
 * Active health checks: GET <backend origin>/health every healthIntervalMs, each bounded by
 * healthTimeoutMs; HTTP 200 = up, a "degraded" answer = down at once (see probe). One check per
 * backend at a time. Checks use their own short-lived connections so that a wedged keep-alive
 * socket cannot hide a dead server.
 */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private readonly inProgress = new Set<Backend>();

  constructor(
    private readonly pool: BackendPool,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.checkAll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  async checkAll(): Promise<void> {
    await Promise.all(this.pool.backends.map((b) => this.checkOne(b)));
  }

  /** Backends whose last check said "degraded": they run, but report they cannot serve. */
  readonly degraded = new Set<Backend>();

  /**
   * Backends whose last answer said `"faultInjection": true` (business/fault-setup.ts): the
   * balancer's /health says so too, as loudly. A backend that stops answering keeps its mark.
   */
  private readonly faultInjecting = new Set<Backend>();

  faultInjectingUrls(): string[] {
    return [...this.faultInjecting].map((b) => b.state(Date.now()).url);
  }

  /** True when there are backends and every one reports it cannot serve (not merely unreachable). */
  allDegraded(): boolean {
    return this.degraded.size > 0 && this.degraded.size === this.pool.backends.length;
  }

  private async checkOne(backend: Backend): Promise<void> {
    if (this.inProgress.has(backend)) return;
    this.inProgress.add(backend);
    const wasHealthy = backend.state(Date.now()).healthy;
    try {
      const result = await probe(backend.healthUrl, this.timeoutMs);
      if (result.kind === 'degraded') this.degraded.add(backend);
      else this.degraded.delete(backend);
      if (result.kind === 'up' && result.faultInjection) this.faultInjecting.add(backend);
      else if (result.kind !== 'down') this.faultInjecting.delete(backend);
      if (result.kind === 'up') backend.healthCheckPassed();
      else if (result.kind === 'degraded') backend.healthCheckDegraded(result.reason);
      else backend.healthCheckFailed(result.reason);
    } finally {
      this.inProgress.delete(backend);
    }
    const state = backend.state(Date.now());
    if (state.healthy !== wasHealthy) {
      const level = state.healthy ? 'info' : 'warn';
      this.logger.log(level, state.healthy ? 'backend up' : 'backend down', {
        backend: state.url,
        reason: state.lastError,
      });
    }
  }
}

type ProbeResult =
  { kind: 'up'; faultInjection: boolean } | { kind: 'degraded'; reason: string } | { kind: 'down'; reason: string };

/** Bytes of a /health answer read at most (it is `{"status":"…"}`). */
const HEALTH_BODY_BYTES_MAX = 4096;

/**
 * HTTP 200 = up (with `"faultInjection": true` when the business server injects faults);
 * HTTP 503 with {"status":"degraded"} = the backend runs but says it cannot serve
 * (common/health.ts); anything else = down. Never rejects.
 */
function probe(url: URL, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.on('error', () => undefined);
      const status = `HTTP ${res.statusCode ?? '?'}`;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > HEALTH_BODY_BYTES_MAX) res.destroy();
      });
      // An up answer counts even if its body is cut short; only its faultInjection needs the body.
      res.on('close', () => {
        if (res.statusCode === 200) done({ kind: 'up', faultInjection: jsonField(body, 'faultInjection') === true });
        else if (res.statusCode === 503 && jsonField(body, 'status') === 'degraded')
          done({ kind: 'degraded', reason: `${status} degraded` });
        else done({ kind: 'down', reason: status });
      });
    });
    const timer = setTimeout(() => {
      done({ kind: 'down', reason: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done({ kind: 'down', reason: err.code ?? err.message }));
  });
}

function jsonField(body: string, name: string): unknown {
  try {
    return (JSON.parse(body) as Record<string, unknown>)[name];
  } catch {
    return undefined;
  }
}
