import http from 'node:http';
import { Logger } from '../common/logger';
import { Backend } from './backend';
import { BackendPool } from './pool';

/**
 * Active health checks: GET <backend origin>/health every healthIntervalMs, each bounded by
 * healthTimeoutMs; HTTP 200 = up. One check per backend at a time. Checks use their own
 * short-lived connections so that a wedged keep-alive socket cannot hide a dead server.
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

  private async checkOne(backend: Backend): Promise<void> {
    if (this.inProgress.has(backend)) return;
    this.inProgress.add(backend);
    const wasHealthy = backend.state(Date.now()).healthy;
    try {
      const failure = await probe(backend.healthUrl, this.timeoutMs);
      if (failure === undefined) backend.healthCheckPassed();
      else backend.healthCheckFailed(failure);
    } finally {
      this.inProgress.delete(backend);
    }
    const state = backend.state(Date.now());
    if (state.healthy !== wasHealthy) {
      const level = state.healthy ? 'info' : 'warn';
      this.logger.log(level, state.healthy ? 'backend up' : 'backend down', { backend: state.url, reason: state.lastError });
    }
  }
}

/** undefined when healthy, else why not. Never rejects. */
function probe(url: URL, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('error', () => undefined);
      done(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode ?? '?'}`);
    });
    const timer = setTimeout(() => {
      done(`no answer within ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}
