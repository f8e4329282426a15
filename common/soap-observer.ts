import { AdminCheck, AdminEndpoints, AdminExtras } from './admin-routes';
import { ProcessMetrics } from './metrics';
import { TraceContext, TraceEntry, TraceRing } from './trace-ring';

/**
 * What the SOAP edge (common/soap-host.ts) tells the control plane about each operation it
 * served: one count, one duration and one ring entry, built from the same fields as the
 * operation's log line. Kept out of soap-host so the edge only calls begin() and end().
 */
export interface ServedOperation {
  readonly operation: string | undefined;
  readonly outcome: string;
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly requestId: string | undefined;
  readonly principal: string | undefined;
  readonly trace: TraceContext | undefined;
  /** The annotations of the log line (accounts, transaction_id, fencing_token, …). */
  readonly fields: Readonly<Record<string, unknown>>;
}

const DETAIL_FIELDS = [
  'amount',
  'amounts',
  'replayed',
  'released',
  'owner',
  'retries',
  'backend',
  'fault_injected',
] as const;

export class SoapObserver {
  readonly ring: TraceRing;

  /** Tier-specific extras of /admin/state and /admin/trace, set once the tier has built them. */
  extras: AdminExtras = {};

  constructor(
    readonly metrics: ProcessMetrics,
    ringEntries: number,
  ) {
    this.ring = new TraceRing(ringEntries);
  }

  begin(): void {
    this.metrics.inFlight.inc();
  }

  end(op: ServedOperation): void {
    const operation = op.operation ?? '-';
    this.metrics.served(operation, op.outcome, op.durationMs);
    const f = op.fields;
    const detail: Record<string, string> = {};
    for (const name of DETAIL_FIELDS) if (f[name] !== undefined) detail[name] = textOf(f[name]);
    this.ring.add({
      atMs: op.startedAtMs,
      service: this.metrics.service,
      kind: 'request',
      requestId: op.requestId ?? '',
      traceId: op.trace?.traceId ?? '',
      spanId: op.trace?.spanId ?? '',
      parentSpanId: op.trace?.parentSpanId ?? '',
      operation,
      outcome: op.outcome,
      durationMs: op.durationMs,
      ...(op.principal ? { principal: op.principal } : {}),
      ...(typeof f.transaction_id === 'string' ? { transactionId: f.transaction_id } : {}),
      ...(typeof f.fencing_token === 'number' ? { fencingToken: String(f.fencing_token) } : {}), // the data tier's annotation
      ...(Array.isArray(f.accounts) ? { accounts: f.accounts.map(String) } : {}),
      ...(Object.keys(detail).length > 0 ? { detail } : {}),
    });
  }

  /** The admin endpoints of this process, for the operator `auth` recognizes. */
  endpoints(auth: AdminCheck): AdminEndpoints {
    return { ...this.extras, metrics: this.metrics, ring: this.ring, auth };
  }

  /** A ring entry of work this process did for a request (a balancer attempt, a data-tier call). */
  record(entry: Omit<TraceEntry, 'service'>): void {
    this.ring.add({ ...entry, service: this.metrics.service });
  }
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
