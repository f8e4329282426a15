import { SeededRandom } from '../common/seeded-random';
import { FaultAction, FaultRule, FaultRules } from './fault-rules';
import { itemAt } from '../common/defined';

/**
 * Which rule fires for a request. Rules are tried in file order; a rule MATCHES when its
 * operation (or `*`), clientId and accountId (any of the request's accounts) fit; a matching
 * rule FIRES when every condition it states holds: `every` N (its Nth, 2Nth, … match),
 * `probability` p (a draw < p), `count` (fired fewer times so far). The first rule that fires
 * is applied and the rest are not tried: at most one injected effect per request.
 *
 * Reproducible: each rule i has its own generator (common/seeded-random.ts, mulberry32),
 * `new SeededRandom(seed).fork(2i + 1)`, drawn exactly once per match of that rule when it
 * states a probability (whether or not `every` or `count` then stop it); delays draw from a second one,
 * `fork(2i + 2)`. So which requests fire depends only on the seed and the sequence of requests
 * each rule matched in this process — not on timing, nor on the delays drawn. Counters and
 * generators start afresh whenever the rules are replaced (reload, SetFaultRules). Each
 * business server has its own injector: in a cluster, "every 3rd" is every 3rd on each server.
 */
export interface FiredRule {
  /** Index of the rule in the rules array (as in the file). */
  readonly index: number;
  readonly rule: FaultRule;
  /** This rule's generator for values (delays). */
  readonly values: SeededRandom;
}

interface RuleState {
  matches: number;
  fired: number;
  readonly fire: SeededRandom;
  readonly values: SeededRandom;
}

export interface FaultRequest {
  readonly operation: string;
  readonly clientId: string;
  readonly accountIds: readonly string[];
}

export class FaultInjector {
  private rules: FaultRules | undefined;
  private states: RuleState[] = [];
  private readonly injected = new Map<FaultAction, number>();

  /** `source` is asked on every request (a ReloadingFile's current(): a stat at most every reload period). */
  constructor(private readonly source: () => FaultRules) {}

  get active(): FaultRules {
    return this.refresh();
  }

  /** Injected effects so far, by action. */
  get injectedByAction(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.injected);
  }

  decide(request: FaultRequest): FiredRule | undefined {
    const rules = this.refresh();
    for (let index = 0; index < rules.rules.length; index++) {
      const rule = itemAt(rules.rules, index);
      if (!matches(rule, request)) continue;
      const state = itemAt(this.states, index); // one per rule, rebuilt with the rules
      state.matches += 1;
      const drawn = rule.probability === undefined || state.fire.next() < rule.probability;
      const nth = rule.every === undefined || state.matches % rule.every === 0;
      const left = rule.count === undefined || state.fired < rule.count;
      if (!(drawn && nth && left)) continue;
      state.fired += 1;
      this.injected.set(rule.action, (this.injected.get(rule.action) ?? 0) + 1);
      return { index, rule, values: state.values };
    }
    return undefined;
  }

  private refresh(): FaultRules {
    const rules = this.source();
    if (rules !== this.rules) {
      this.rules = rules;
      const base = new SeededRandom(rules.seed);
      this.states = rules.rules.map((_r, i) => ({
        matches: 0,
        fired: 0,
        fire: base.fork(2 * i + 1),
        values: base.fork(2 * i + 2),
      }));
    }
    return rules;
  }
}

function matches(rule: FaultRule, request: FaultRequest): boolean {
  return (
    (rule.operation === '*' || rule.operation === request.operation) &&
    (rule.clientId === undefined || rule.clientId === request.clientId) &&
    (rule.accountId === undefined || request.accountIds.includes(rule.accountId))
  );
}
