import { fault, ServiceFault } from '../common/service-fault';
import { FAULT_ADMIN_PATH } from '../business/fault-admin';
import { parseFaultRules } from '../business/fault-rules';
import type { ClusterView } from './cluster-view';
import type { Target } from './config';

/**
 * SetFaultRules / GetFaultRules / ClearFaultRules for the whole cluster: each is forwarded to
 * every business server's /admin/faults (business/fault-admin.ts) and answered only when all
 * answered. Never a silent half-apply: the rules are checked here first (INVALID_REQUEST naming
 * the field), then every server is asked whether it is reachable and has injection on, and only
 * then is the change sent to all; a server that does not take it makes the call an AdminFault
 * naming which servers did and which did not. Calls are serialized, so two operators' changes
 * never interleave across servers. A cluster started without --faults answers NOT_AUTHORIZED
 * (no admin call can switch injection on in a bank not started for it).
 */
export interface ServerFaultRules {
  readonly server: string;
  readonly seed: number;
  readonly rules: ReadonlyArray<Record<string, unknown>>;
  readonly injected: Readonly<Record<string, number>>;
}

export interface ClusterFaultRules {
  /** True when any business server has fault injection on (then `servers` lists those). */
  readonly faultInjection: boolean;
  readonly servers: readonly ServerFaultRules[];
  /** Servers that did not answer, each with why (`b2 (ECONNREFUSED)`): GetFaultRules refuses to answer then. */
  readonly unreachable: readonly string[];
}

type Answer = { readonly target: Target; readonly status: number; readonly body: unknown; readonly error?: string };

const OFF_MESSAGE =
  'fault injection is off: the cluster was started without a rules file (npm start -- --faults FILE); no admin call can switch it on';

export class FaultRulesForward {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly view: ClusterView,
    private readonly servers: readonly Target[],
    private readonly timeoutMs: number,
  ) {}

  get(): Promise<ClusterFaultRules> {
    return this.serialized(async () => {
      const answers = await this.askAll('GET');
      const on = answers.filter((a) => a.status === 200);
      return {
        faultInjection: on.length > 0,
        unreachable: unanswered(answers).map((a) => describe([a])),
        servers: on.map((a) => {
          const body = a.body as { seed?: number; rules?: Array<Record<string, unknown>>; injected?: object };
          return {
            server: a.target.name,
            seed: body.seed ?? 0,
            rules: body.rules ?? [],
            injected: (body.injected ?? {}) as Record<string, number>,
          };
        }),
      };
    });
  }

  /** `json` is the rules file's JSON; checked before any server is asked. */
  set(json: unknown): Promise<{ rules: number; servers: string[] }> {
    return this.serialized(async () => {
      let rules: number;
      try {
        rules = parseFaultRules(json).rules.length;
      } catch (error) {
        throw fault('INVALID_REQUEST', `fault rules: ${error instanceof Error ? error.message : String(error)}`);
      }
      await this.preflight();
      return { rules, servers: this.applied(await this.askAll('PUT', json), 'set') };
    });
  }

  clear(): Promise<{ servers: string[] }> {
    return this.serialized(async () => {
      await this.preflight();
      return { servers: this.applied(await this.askAll('DELETE'), 'cleared') };
    });
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work, work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async askAll(method: 'GET' | 'PUT' | 'DELETE', json?: unknown): Promise<Answer[]> {
    if (this.servers.length === 0) throw fault('INVALID_REQUEST', 'the console watches no business server');
    return Promise.all(
      this.servers.map(async (target): Promise<Answer> => {
        try {
          return { target, ...(await this.view.adminRequest(target, method, FAULT_ADMIN_PATH, json, this.timeoutMs)) };
        } catch (error) {
          const cause = (error as { cause?: { code?: string } }).cause?.code;
          return {
            target,
            status: 0,
            body: undefined,
            error: cause ?? (error instanceof Error ? error.name : 'error'),
          };
        }
      }),
    );
  }

  /** Every server reachable and with injection on, or nothing is changed. */
  private async preflight(): Promise<void> {
    const answers = await this.askAll('GET');
    const bad = unanswered(answers);
    if (bad.length > 0)
      throw notAnswered(
        bad.map((a) => describe([a])),
        'nothing was changed',
      );
    const off = answers.filter((a) => a.status === 409);
    if (off.length === answers.length) throw fault('NOT_AUTHORIZED', OFF_MESSAGE);
    if (off.length > 0)
      throw fault(
        'NOT_AUTHORIZED',
        `nothing was changed: fault injection is off on ${names(off)} (started without --faults)`,
      );
  }

  private applied(answers: readonly Answer[], verb: string): string[] {
    const took = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    if (refused.length === 0) return took.map((a) => a.target.name);
    const rejected = refused.find((a) => a.status === 400);
    const split =
      took.length === 0 ? 'no server changed' : `the rules were ${verb} on ${names(took)} only: servers differ`;
    throw fault(
      rejected === undefined ? 'SERVICE_UNAVAILABLE' : 'INVALID_REQUEST',
      `${describe(refused)} did not take it; ${split}; call again (or ClearFaultRules)`,
    );
  }
}

function unanswered(answers: readonly Answer[]): Answer[] {
  return answers.filter((a) => a.status !== 200 && a.status !== 409);
}

/** SERVICE_UNAVAILABLE naming the servers (with why) that did not answer, and what that means. */
export function notAnswered(servers: readonly string[], consequence: string): ServiceFault {
  return fault('SERVICE_UNAVAILABLE', `${servers.join(', ')} did not answer: ${consequence}; call again when it is up`);
}

function names(answers: readonly Answer[]): string {
  return answers.map((a) => a.target.name).join(', ');
}

function describe(answers: readonly Answer[]): string {
  return answers
    .map((a) => {
      const said = (a.body as { error?: unknown } | undefined)?.error;
      const why = a.status === 0 ? a.error : `HTTP ${a.status}${typeof said === 'string' ? ` ${said}` : ''}`;
      return `${a.target.name} (${why ?? 'no answer'})`;
    })
    .join(', ');
}
