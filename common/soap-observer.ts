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

  /** What endpoints() made last, and from which extras (see there). */
  private lastEndpoints: AdminEndpoints | undefined;
  private lastExtras: AdminExtras | undefined;

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
    // Built field by field rather than with conditional spreads (one object, not six): the
    // same keys in the same order.
    const entry: Mutable<TraceEntry> = {
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
    };
    if (op.principal) entry.principal = op.principal;
    if (typeof f.transaction_id === 'string') entry.transactionId = f.transaction_id;
    if (typeof f.fencing_token === 'number') entry.fencingToken = String(f.fencing_token); // the data tier's annotation
    if (Array.isArray(f.accounts)) entry.accounts = f.accounts.map(String);
    const detail = detailOf(f);
    if (detail !== undefined) entry.detail = detail;
    this.ring.add(entry);
  }

  /**
   * The admin endpoints of this process, for the operator `auth` recognizes. Asked for on every
   * request, so the object is made again only when `extras` or `auth` changed (a fresh spread
   * per request was ~1 % of the data server's CPU).
   */
  endpoints(auth: AdminCheck): AdminEndpoints {
    const last = this.lastEndpoints;
    if (last?.auth === auth && this.lastExtras === this.extras) return last;
    const made = { ...this.extras, metrics: this.metrics, ring: this.ring, auth };
    this.lastEndpoints = made;
    this.lastExtras = this.extras;
    return made;
  }

  /** A ring entry of work this process did for a request (a balancer attempt, a data-tier call). */
  record(entry: Omit<TraceEntry, 'service'>): void {
    this.ring.addFor(this.metrics.service, entry);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The DETAIL_FIELDS present in a log line's fields, as text; undefined when none is. */
function detailOf(f: Readonly<Record<string, unknown>>): Record<string, string> | undefined {
  let detail: Record<string, string> | undefined;
  for (const name of DETAIL_FIELDS) if (f[name] !== undefined) (detail ??= {})[name] = textOf(f[name]);
  return detail;
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
