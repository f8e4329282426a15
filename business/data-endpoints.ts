import { Logger } from '../common/logger';
import { HttpLiteClient } from '../common/http-lite';
import { itemAt } from '../common/defined';

/**
 * The data servers a business server may call (BANK_DATA_URLS), each with its own bounded
 * keep-alive pool, and which of them look alive. Calls are spread round-robin over the live
 * ones, one event-loop turn at a time: the first tries of all calls of one turn go to the same
 * data server, so they travel as one Batch (data-batcher.ts) instead of one per server; a data server is taken out at the first failure of the connection (refused, reset,
 * no answer in time) and by its public `/health` (non-200 or no answer within the check
 * timeout: dead, paused, or without its database); it comes back when `/health` answers 200.
 * Every endpoint is checked every healthIntervalMs. When none looks alive, calls still go
 * round-robin to all of them: a wrong verdict must never make the bank refuse what it could do.
 */
export interface DataEndpoint {
  readonly url: string;
  readonly http: HttpLiteClient;
  readonly healthUrl: string;
  up: boolean;
}

export interface DataEndpointsOptions {
  readonly urls: readonly string[];
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly logger: Logger;
  /** The pool of one endpoint (same settings for all). */
  readonly pool: (target: URL) => HttpLiteClient;
}

export class DataEndpoints {
  readonly all: readonly DataEndpoint[];
  private next = 0;
  /** Where the first tries of this event-loop turn go (cleared when the turn ends). */
  private turnPick: DataEndpoint | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(private readonly options: DataEndpointsOptions) {
    if (options.urls.length === 0) throw new Error('at least one data tier URL is needed');
    this.all = options.urls.map((url) => {
      const target = new URL(url);
      if (target.protocol !== 'http:') throw new Error(`data tier URL must be http://, got ${url}`);
      return { url, http: options.pool(target), healthUrl: new URL('/health', target).toString(), up: true };
    });
    // One endpoint has nowhere else to go: nothing to check.
    if (this.all.length > 1) {
      this.timer = setInterval(() => void this.checkAll(), options.healthIntervalMs);
      this.timer.unref();
    }
  }

  /** The next endpoint to try, not one of `tried`: a live one if any, else any; undefined when all were tried. */
  pick(tried: ReadonlySet<DataEndpoint>): DataEndpoint | undefined {
    // The common one-URL case without the arrays below (two calls per transfer).
    if (this.all.length === 1) {
      const only = itemAt(this.all, 0);
      return tried.has(only) ? undefined : only;
    }
    if (tried.size === 0 && this.turnPick?.up === true) return this.turnPick;
    const fresh = this.all.filter((e) => !tried.has(e));
    if (fresh.length === 0) return undefined;
    const live = fresh.filter((e) => e.up);
    const from = live.length > 0 ? live : fresh;
    this.next = (this.next + 1) % 1_000_000;
    const picked = from[this.next % from.length];
    if (tried.size === 0 && this.turnPick === undefined) {
      this.turnPick = picked;
      setImmediate(() => {
        this.turnPick = undefined;
      });
    }
    return picked;
  }

  /** The connection to this endpoint failed: no new calls go there until /health answers. */
  markDown(endpoint: DataEndpoint, reason: string): void {
    if (!endpoint.up || this.all.length === 1) return;
    endpoint.up = false;
    this.options.logger.warn('data server taken out of rotation', { data_url: endpoint.url, reason });
  }

  /** For /health (admin details). */
  states(): { url: string; up: boolean }[] {
    return this.all.map((e) => ({ url: e.url, up: e.up }));
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const e of this.all) e.http.close();
  }

  private async checkAll(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await Promise.all(this.all.map((e) => this.check(e)));
    } finally {
      this.checking = false;
    }
  }

  private async check(endpoint: DataEndpoint): Promise<void> {
    let up: boolean;
    let reason = '';
    try {
      const response = await fetch(endpoint.healthUrl, { signal: AbortSignal.timeout(this.options.healthTimeoutMs) });
      await response.arrayBuffer();
      up = response.status === 200;
      reason = `/health answered HTTP ${response.status}`;
    } catch (error) {
      up = false;
      reason = `/health: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (up && !endpoint.up) {
      endpoint.up = true;
      this.options.logger.info('data server back in rotation', { data_url: endpoint.url });
    } else if (!up) {
      this.markDown(endpoint, reason);
    }
  }
}
