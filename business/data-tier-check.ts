import type { HealthReport } from '../common/health';
import type { Logger } from '../common/logger';
import { fault } from '../common/service-fault';
import type { OperationHandler } from '../common/soap-host';
import { DataCallError, DataClient } from './data-client';
import { MISCONFIGURED } from './data-faults';

/**
 * Does the data tier accept this business server's credentials? Checked before the server
 * listens, then every intervalMs (every RECHECK_REFUSED_MS while refused, so a fix shows
 * soon), and at once whenever a real call is refused. Refused means misconfigured: /health
 * says degraded (so the balancer routes around this server) with the reason for the admin,
 * and one error line says what to fix. An unreachable data tier is not a misconfiguration:
 * requests then fail as SERVICE_UNAVAILABLE, retryable, as before.
 * The probe is a Read of account 1: harmless, and authenticated like every data-tier call.
 */
export type DataTierState = 'unknown' | 'accepted' | 'refused' | 'unreachable';

const RECHECK_REFUSED_MS = 1000;
/** At start, the probe gets at most this long: a data tier that is not up yet must not hold the start. */
const START_CHECK_MS_MAX = 2000;
const PROBE_REQUEST_ID = 'credentials-check';
const PROBE_ACCOUNT_ID = '1';

export class DataTierCheck {
  private state: DataTierState = 'unknown';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly data: DataClient,
    private readonly options: {
      readonly intervalMs: number;
      readonly callTimeoutMs: number;
      readonly businessId: string;
      readonly dataUrl: string;
    },
    private readonly logger: Logger,
  ) {}

  get current(): DataTierState {
    return this.state;
  }

  /** The first check (bounded), then the periodic ones. */
  async start(): Promise<void> {
    await this.checkNow(Math.min(this.options.callTimeoutMs, START_CHECK_MS_MAX));
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  /** A real call was refused with AUTHENTICATION_FAILED. */
  refused(): void {
    this.set('refused');
  }

  /** Each operation refused at once while the data tier refuses us (no data-tier call is tried). */
  guard(operations: Readonly<Record<string, OperationHandler>>): Record<string, OperationHandler> {
    const guarded: Record<string, OperationHandler> = {};
    for (const [name, handler] of Object.entries(operations)) {
      guarded[name] = (args, ctx) => {
        if (this.state === 'refused') return Promise.reject(fault('SERVICE_UNAVAILABLE', MISCONFIGURED));
        return handler(args, ctx);
      };
    }
    return guarded;
  }

  health(): HealthReport {
    if (this.state !== 'refused') return { status: 'ok', details: { dataTier: this.state } };
    return {
      status: 'degraded',
      reason: `the data tier refuses this business server's credentials (business-id ${this.options.businessId}, ${this.options.dataUrl})`,
      details: { dataTier: this.state },
    };
  }

  private schedule(): void {
    if (this.stopped) return;
    const delayMs =
      this.state === 'refused' ? Math.min(this.options.intervalMs, RECHECK_REFUSED_MS) : this.options.intervalMs;
    this.timer = setTimeout(() => {
      void this.checkNow(this.options.callTimeoutMs).finally(() => this.schedule());
    }, delayMs);
    this.timer.unref();
  }

  private async checkNow(timeoutMs: number): Promise<void> {
    try {
      await this.data.read({ requestId: PROBE_REQUEST_ID, deadlineAtMs: Date.now() + timeoutMs }, [PROBE_ACCOUNT_ID]);
      this.set('accepted');
    } catch (error) {
      if (!(error instanceof DataCallError)) throw error;
      if (error.kind === 'unavailable') this.set('unreachable');
      else if (error.fault?.code === 'AUTHENTICATION_FAILED') this.set('refused');
      else this.set('accepted'); // any other answer (ACCOUNT_NOT_FOUND, …) came after authentication
    }
  }

  private set(next: DataTierState): void {
    const previous = this.state;
    this.state = next;
    if (next === previous) return;
    if (next === 'refused') {
      this.logger.error(
        "the data tier refuses this business server's credentials: it reports degraded and takes no traffic until they are fixed",
        {
          business_id: this.options.businessId,
          data_url: this.options.dataUrl,
          fix: "BANK_BUSINESS_TOKEN must be the token whose hash the data server's BANK_BUSINESS_CREDENTIALS_FILE lists for this business-id",
        },
      );
    } else if (previous === 'refused') {
      this.logger.warn(
        `the data tier ${next === 'accepted' ? 'accepts' : 'is unreachable, no longer refusing'} this business server's credentials`,
        {
          business_id: this.options.businessId,
        },
      );
    }
  }
}
