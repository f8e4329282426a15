import { ACCOUNT_ID_PATTERN, PRINCIPAL_ID_PATTERN } from '../common/contract';
import { FAULT_CODES } from '../common/fault-codes';
import { fault } from '../common/service-fault';
import { BANK_OPERATIONS, FAULT_ACTIONS } from '../business/fault-rules';

/**
 * The fault-injection rules in their SOAP form (wsdl/admin.wsdl: FaultRule, SetFaultRules,
 * GetFaultRules) ↔ the rules file's JSON (business/fault-rules.ts). Each leaf is checked against
 * its simple type exactly as the schema states it (enumerations, patterns, bounds; the admin
 * test compares the verdicts with xmllint's), then the JSON goes through the one strict parser
 * of the rules, which also knows which fields each action takes. `delayMs` is a fixed delay;
 * a range is `delayMinMs` + `delayMaxMs` (the file's `"delayMs": [min, max]`).
 */
type Leaf = (text: string, where: string) => string | number;

function invalid(where: string, text: string, expected: string): never {
  throw fault('INVALID_REQUEST', `${where} must be ${expected}, got ${JSON.stringify(text)}`);
}

function oneOf(values: readonly string[]): Leaf {
  return (text, where) => (values.includes(text) ? text : invalid(where, text, `one of ${values.join(', ')}`));
}

/** An anchored contract pattern (common/contract.ts); the message names it without its anchors. */
function pattern(re: RegExp, what: string): Leaf {
  const expected = `${what} (${re.source.slice(1, -1)})`;
  return (text, where) => (re.test(text) ? text : invalid(where, text, expected));
}

/** Whole numbers written as plain digits (the schema's patterns forbid signs), in [min, max]. */
function digits(maxDigits: number, min: number, max: number): Leaf {
  const re = new RegExp(`^[0-9]{1,${maxDigits}}$`);
  return (text, where) => {
    const n = Number(text);
    return re.test(text) && n >= min && n <= max ? n : invalid(where, text, `a whole number from ${min} to ${max}`);
  };
}

/** (0, 1] as FaultProbability writes it; exact: "1.000…" is 1, "0.000…" is refused. */
const PROBABILITY = /^(0(\.[0-9]{1,17})?|1(\.0{1,17})?|\.[0-9]{1,17})$/;
function probability(text: string, where: string): number {
  if (!PROBABILITY.test(text) || !/[1-9]/.test(text))
    invalid(where, text, 'a decimal in (0, 1] with at most 17 fraction digits');
  return Number(text);
}

const DELAY_MS = digits(6, 0, 120_000);
const RULE_LEAVES: Readonly<Record<string, Leaf>> = {
  operation: oneOf(['*', ...BANK_OPERATIONS]),
  clientId: pattern(PRINCIPAL_ID_PATTERN, 'a client id'),
  accountId: pattern(ACCOUNT_ID_PATTERN, 'an account id'),
  probability,
  every: digits(7, 1, 1_000_000),
  count: digits(10, 1, 1_000_000_000),
  action: oneOf(FAULT_ACTIONS),
  delayMs: DELAY_MS,
  delayMinMs: DELAY_MS,
  delayMaxMs: DELAY_MS,
  distribution: oneOf(['uniform', 'lognormal']),
  code: oneOf(Object.keys(FAULT_CODES)),
  durationMs: digits(6, 1, 120_000),
};
const SEED = digits(10, 0, 0xffffffff);

function ruleJson(rule: Record<string, unknown>, where: string): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(rule)) {
    const leaf = RULE_LEAVES[name];
    if (leaf === undefined || typeof value !== 'string') throw fault('INVALID_REQUEST', `${where}: unexpected ${name}`);
    json[name] = leaf(value, `${where}.${name}`);
  }
  const { delayMinMs, delayMaxMs } = json;
  if (delayMinMs !== undefined || delayMaxMs !== undefined) {
    if (delayMinMs === undefined || delayMaxMs === undefined || json.delayMs !== undefined)
      throw fault('INVALID_REQUEST', `${where}: a delay is delayMs alone, or delayMinMs with delayMaxMs`);
    delete json.delayMinMs;
    delete json.delayMaxMs;
    json.delayMs = [delayMinMs, delayMaxMs];
  }
  return json;
}

/** SetFaultRules' arguments → the rules file's JSON (not yet checked per action: parseFaultRules does). */
export function rulesJsonOfArguments(args: Record<string, unknown>): { seed?: number; rules: unknown[] } {
  const rules = (args.rule ?? []) as Array<Record<string, unknown>>;
  return {
    ...(args.seed === undefined
      ? {}
      : { seed: SEED(typeof args.seed === 'string' ? args.seed : JSON.stringify(args.seed), 'seed') as number }),
    rules: rules.map((r, i) => ruleJson(r, `rules[${i}]`)),
  };
}

/** A probability as FaultProbability writes it (a file may hold 1e-7; the schema wants digits). */
function probabilityText(p: number): string {
  const text = p.toFixed(17).replace(/0+$/, '');
  return /[1-9]/.test(text) ? text.replace(/\.$/, '') : '0.00000000000000001';
}

/** A rule of the JSON (as a business server holds it, already valid) → FaultRule's fields. */
export function ruleOfJson(rule: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...rule };
  if (typeof rule.probability === 'number') out.probability = probabilityText(rule.probability);
  if (Array.isArray(rule.delayMs)) {
    delete out.delayMs;
    out.delayMinMs = rule.delayMs[0];
    out.delayMaxMs = rule.delayMs[1];
  }
  return out;
}
