import { REQUEST_ID_CHARS, TRACE_KEY_CHARS_MAX, TRACE_KEY_PATTERN } from '../common/contract';
import { asCents, formatCents } from '../common/money';
import { fault } from '../common/service-fault';
import type { TraceEntry } from '../common/trace-ring';
import { ClusterView, HeldLockView, Snapshot } from './cluster-view';
import { ConsoleConfig, Target } from './config';
import { ClusterFaultRules, FaultRulesForward } from './fault-rules-forward';
import { CONTROL_ACTIONS, ControlAction, LauncherLink } from './launcher-link';

/**
 * The operations of the control plane, one implementation for both faces: the admin SOAP
 * service (console/admin-soap.ts, wsdl/admin.wsdl) and the browser console's JSON/SSE API
 * (console/server.ts) — so everything the page shows, a script can get. A new operation (the
 * fault-injection rules, say) is one method here, one entry in admin-soap.ts and its WSDL
 * elements.
 */
export interface TraceResult {
  readonly id: string;
  /** Every tier's entries for the request, oldest first. */
  readonly steps: readonly TraceEntry[];
  readonly journal: ReadonlyArray<{
    transactionId: string;
    accountId: string;
    kind: string;
    amount: string;
    balanceAfter: string;
    at: string;
  }>;
  /** Processes that could not be asked (down, or timed out). */
  readonly unreachable: readonly string[];
}

/** Request ids found under a transaction or trace id that are followed in a second round. */
const FOLLOWED_REQUEST_IDS_MAX = 4;

interface JournalRowJson {
  transactionId: string;
  accountId: number;
  amountCents: number;
  balanceAfterCents: number;
  kind: string;
  atMs: number;
}

export class AdminApi {
  private readonly faults: FaultRulesForward;

  constructor(
    private readonly view: ClusterView,
    private readonly config: ConsoleConfig,
    private readonly launcher: LauncherLink | undefined,
  ) {
    const business = config.targets.filter((t) => t.tier === 'business');
    this.faults = new FaultRulesForward(view, business, config.traceTimeoutMs);
  }

  /** The fault-injection rules of every business server (console/fault-rules-forward.ts). */
  faultRules(): Promise<ClusterFaultRules> {
    return this.faults.get();
  }

  /** `json` is the rules file's format; all business servers take it, or the call is an AdminFault. */
  setFaultRules(json: unknown): Promise<{ rules: number; servers: string[] }> {
    return this.faults.set(json);
  }

  clearFaultRules(): Promise<{ servers: string[] }> {
    return this.faults.clear();
  }

  clusterStatus(): Snapshot {
    return this.view.snapshot();
  }

  locks(): { locksHeld: number; locks: readonly HeldLockView[]; waiters: Snapshot['waiters'] } {
    const s = this.view.snapshot();
    return { locksHeld: s.locksHeld, locks: s.locks, waiters: s.waiters };
  }

  async trace(id: string): Promise<TraceResult> {
    if (!TRACE_KEY_PATTERN.test(id))
      throw fault('INVALID_REQUEST', `id must be 1..${TRACE_KEY_CHARS_MAX} characters of ${REQUEST_ID_CHARS}`);
    const first = await this.ask(id);
    const requestIds = [...new Set(first.steps.map((s) => s.requestId))]
      .filter((r) => r !== '' && r !== id)
      .slice(0, FOLLOWED_REQUEST_IDS_MAX);
    // A transaction id is known to business and data only: follow its request id to the balancer.
    const more = await Promise.all(requestIds.map((r) => this.ask(r)));
    const seen = new Set<string>();
    const steps: TraceEntry[] = [];
    for (const e of [first, ...more].flatMap((r) => r.steps)) {
      const key = `${e.service}|${e.spanId}|${e.kind}|${e.atMs}|${e.operation}`;
      if (!seen.has(key)) {
        seen.add(key);
        steps.push(e);
      }
    }
    steps.sort((a, b) => a.atMs - b.atMs || tierRank(a.service) - tierRank(b.service));
    const journal = new Map<string, TraceResult['journal'][number]>();
    for (const row of [first, ...more].flatMap((r) => r.journal)) {
      journal.set(`${row.transactionId}|${row.accountId}`, {
        transactionId: row.transactionId,
        accountId: String(row.accountId),
        kind: row.kind,
        amount: formatCents(asCents(row.amountCents)),
        balanceAfter: formatCents(asCents(row.balanceAfterCents)),
        at: new Date(row.atMs).toISOString(),
      });
    }
    return {
      id,
      steps,
      journal: [...journal.values()],
      unreachable: [...new Set([first, ...more].flatMap((r) => r.unreachable))],
    };
  }

  async control(server: string, action: string): Promise<string> {
    if (!this.config.devMode || this.launcher === undefined)
      throw fault('NOT_AUTHORIZED', 'stopping or restarting servers needs dev mode (npm start with BANK_DEV_MODE=on)');
    if (!(CONTROL_ACTIONS as readonly string[]).includes(action))
      throw fault('INVALID_REQUEST', `action must be one of ${CONTROL_ACTIONS.join(', ')}`);
    const target = this.config.targets.find((t) => t.name === server);
    if (target === undefined || target.tier !== 'business')
      throw fault('INVALID_REQUEST', `no business server named ${server}`);
    return this.launcher.control(server, action as ControlAction);
  }

  private async ask(id: string): Promise<{ steps: TraceEntry[]; journal: JournalRowJson[]; unreachable: string[] }> {
    const answers = await Promise.all(
      this.config.targets.map(async (t: Target) => {
        try {
          return {
            t,
            body: (await this.view.adminGet(
              t,
              `/admin/trace?id=${encodeURIComponent(id)}`,
              this.config.traceTimeoutMs,
            )) as { entries: TraceEntry[]; journal?: JournalRowJson[] },
          };
        } catch {
          return { t, body: undefined };
        }
      }),
    );
    return {
      steps: answers.flatMap((a) => a.body?.entries ?? []),
      journal: answers.flatMap((a) => a.body?.journal ?? []),
      unreachable: answers.filter((a) => a.body === undefined).map((a) => a.t.name),
    };
  }
}

function tierRank(service: string): number {
  if (service === 'balancer') return 0;
  return service === 'data' || service.startsWith('data') ? 2 : 1;
}
