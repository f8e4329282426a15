import { Client } from 'pg';
import { StoredAccountId, RemoteReleaseHandler } from './store';

/**
 * The data server's ear for releases made by the OTHER data servers on the same PostgreSQL
 * schema: one dedicated connection that LISTENs on the schema's channel (the hot-path functions
 * pg_notify "<origin>|<ids>" when a live lease is released) and hands the account ids on, so
 * waiters here re-try at once instead of at the next poll. Our own releases are skipped (the
 * service wakes its waiters itself). The connection reconnects with a bounded backoff whenever
 * it drops; while it is down, polling (BANK_LOCK_POLL_MS) is the fallback, and after a reconnect
 * every listener is told "anything may have been released" (releases may have been missed).
 */
const RECONNECT_MS_MIN = 100;
const RECONNECT_MS_MAX = 2_000;
const CONNECT_TIMEOUT_MS = 5_000;

export class PgReleaseListener {
  private client: Client | undefined;
  private closed = false;
  private backoffMs = RECONNECT_MS_MIN;
  private timer: NodeJS.Timeout | undefined;
  private readonly handlers: RemoteReleaseHandler[] = [];
  connected = false;
  reconnects = 0;
  notifications = 0;

  constructor(
    private readonly clientConfig: {
      readonly connectionString: string;
      readonly options: string;
      readonly application_name: string;
    },
    private readonly channel: string,
    readonly origin: string,
  ) {}

  onRelease(handler: RemoteReleaseHandler): void {
    this.handlers.push(handler);
  }

  /** Starts listening in the background; never throws (a failed connect re-tries). */
  start(): void {
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new Client({ ...this.clientConfig, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
    this.client = client;
    let failed = false;
    const fail = (): void => {
      if (failed) return;
      failed = true;
      this.connected = false;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (this.client === client) this.client = undefined;
      this.scheduleReconnect();
    };
    client.on('error', fail);
    client.on('end', fail);
    client.on('notification', (message) => this.deliver(message.payload));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
    } catch {
      fail();
      return;
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- both may change during the awaits above (the checker keeps its narrowing across them)
    if (failed || this.closed) return;
    const wasReconnect = this.reconnects > 0 || this.backoffMs > RECONNECT_MS_MIN;
    this.connected = true;
    this.backoffMs = RECONNECT_MS_MIN;
    if (wasReconnect) this.emit('all');
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.reconnects += 1;
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(RECONNECT_MS_MAX, this.backoffMs * 2);
    this.timer = setTimeout(() => void this.connect(), delayMs);
    this.timer.unref();
  }

  private deliver(payload: string | undefined): void {
    const bar = payload?.indexOf('|') ?? -1;
    if (payload === undefined || bar < 0 || payload.slice(0, bar) === this.origin) return;
    this.notifications += 1;
    this.emit(
      payload
        .slice(bar + 1)
        .split(',')
        .map(Number)
        .filter(Number.isSafeInteger),
    );
  }

  private emit(accountIds: readonly StoredAccountId[] | 'all'): void {
    for (const handler of this.handlers) handler(accountIds);
  }
}
