import { readFileSync } from 'node:fs';
import { ACCOUNT_ID_PATTERN, PRINCIPAL_ID_PATTERN } from '../common/contract';
import { FAULT_CODES, FaultCode, isFaultCode } from '../common/fault-codes';

/**
 * The fault-injection rules format (business/README.md, "Fault injection"), read strictly:
 * every unknown field, operation, action or fault code is an error naming the field, never
 * silently ignored — a client developer who mistypes `probabilty` must hear so, not test
 * against a bank that injects nothing.
 *
 *   {"seed": 42, "rules": [{"operation": "Transfer", "probability": 0.3, "action": "drop-after-commit"}, …]}
 */
export const BANK_OPERATIONS = Object.freeze([
  'OpenAccount',
  'GetBalance',
  'Deposit',
  'Withdraw',
  'Transfer',
  'GetStatement',
]);

export const FAULT_ACTIONS = Object.freeze([
  'delay',
  'fault',
  'drop-before-commit',
  'drop-after-commit',
  'reset',
  'slow-response',
  'data-unavailable',
  'lock-contention',
] as const);
export type FaultAction = (typeof FAULT_ACTIONS)[number];

export const FAULT_RULES_MAX = 100;
/** Longest delay, dribble or lock a rule may ask for: past it, nobody is testing a client any more. */
export const FAULT_DURATION_MS_MAX = 120_000;

export type DelaySpec =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'uniform' | 'lognormal'; readonly minMs: number; readonly maxMs: number };

export interface FaultRule {
  readonly operation: string;
  readonly clientId?: string;
  readonly accountId?: string;
  readonly probability?: number;
  readonly every?: number;
  readonly count?: number;
  readonly action: FaultAction;
  /** delay */
  readonly delay?: DelaySpec;
  /** fault */
  readonly code?: FaultCode;
  /** slow-response: the answer dribbled over this long; lock-contention: how long the account stays locked. */
  readonly durationMs?: number;
}

export interface FaultRules {
  readonly seed: number;
  readonly rules: readonly FaultRule[];
  /** The rules as given (file or admin call), for GetFaultRules. */
  readonly json: unknown;
}

export const NO_FAULT_RULES: FaultRules = Object.freeze({
  seed: 0,
  rules: Object.freeze([]),
  json: Object.freeze({ seed: 0, rules: [] }),
});

const COMMON_FIELDS = ['operation', 'clientId', 'accountId', 'probability', 'every', 'count', 'action'];
/** Fields each action takes besides the common ones; `required` must be present. */
const ACTION_FIELDS: Readonly<
  Record<FaultAction, { readonly allowed: readonly string[]; readonly required: readonly string[] }>
> = {
  delay: { allowed: ['delayMs', 'distribution'], required: ['delayMs'] },
  fault: { allowed: ['code'], required: ['code'] },
  'drop-before-commit': { allowed: [], required: [] },
  'drop-after-commit': { allowed: [], required: [] },
  reset: { allowed: [], required: [] },
  'slow-response': { allowed: ['durationMs'], required: ['durationMs'] },
  'data-unavailable': { allowed: [], required: [] },
  'lock-contention': { allowed: ['durationMs'], required: ['durationMs'] },
};

class RulesError extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function int(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RulesError(`${where} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function text(value: unknown, where: string, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value))
    throw new RulesError(`${where} must match ${pattern.source}, got ${JSON.stringify(value)}`);
  return value;
}

function delaySpec(rule: Record<string, unknown>, where: string): DelaySpec {
  const value = rule['delayMs'];
  const distribution = rule['distribution'] ?? 'uniform';
  if (distribution !== 'uniform' && distribution !== 'lognormal') {
    throw new RulesError(`${where}.distribution must be "uniform" or "lognormal", got ${JSON.stringify(distribution)}`);
  }
  if (typeof value === 'number') {
    if (rule['distribution'] !== undefined) throw new RulesError(`${where}.distribution needs delayMs as [min, max]`);
    return { kind: 'fixed', ms: int(value, `${where}.delayMs`, 0, FAULT_DURATION_MS_MAX) };
  }
  if (!Array.isArray(value) || value.length !== 2)
    throw new RulesError(`${where}.delayMs must be a number of ms or [min, max], got ${JSON.stringify(value)}`);
  const minMs = int(value[0], `${where}.delayMs[0]`, distribution === 'lognormal' ? 1 : 0, FAULT_DURATION_MS_MAX);
  const maxMs = int(value[1], `${where}.delayMs[1]`, minMs, FAULT_DURATION_MS_MAX);
  return { kind: distribution, minMs, maxMs };
}

function ruleOf(value: unknown, where: string): FaultRule {
  if (!isObject(value)) throw new RulesError(`${where} must be an object`);
  const action = value['action'];
  if (typeof action !== 'string' || !(FAULT_ACTIONS as readonly string[]).includes(action)) {
    throw new RulesError(`${where}.action must be one of ${FAULT_ACTIONS.join(', ')}, got ${JSON.stringify(action)}`);
  }
  const fields = ACTION_FIELDS[action as FaultAction];
  for (const key of Object.keys(value)) {
    if (!COMMON_FIELDS.includes(key) && !fields.allowed.includes(key))
      throw new RulesError(`${where}: unknown field "${key}" for action ${action}`);
  }
  for (const key of ['operation', ...fields.required]) {
    if (value[key] === undefined) throw new RulesError(`${where}.${key} is required`);
  }
  const operation = value['operation'];
  if (operation !== '*' && (typeof operation !== 'string' || !BANK_OPERATIONS.includes(operation))) {
    throw new RulesError(
      `${where}.operation must be "*" or one of ${BANK_OPERATIONS.join(', ')}, got ${JSON.stringify(operation)}`,
    );
  }
  const probability = value['probability'];
  if (probability !== undefined && (typeof probability !== 'number' || !(probability > 0 && probability <= 1))) {
    throw new RulesError(`${where}.probability must be a number in (0, 1], got ${JSON.stringify(probability)}`);
  }
  const code = value['code'];
  if (code !== undefined && (typeof code !== 'string' || !isFaultCode(code))) {
    throw new RulesError(
      `${where}.code must be a registry fault code (${Object.keys(FAULT_CODES).join(', ')}), got ${JSON.stringify(code)}`,
    );
  }
  return Object.freeze({
    operation,
    ...(value['clientId'] === undefined
      ? {}
      : { clientId: text(value['clientId'], `${where}.clientId`, PRINCIPAL_ID_PATTERN) }),
    ...(value['accountId'] === undefined
      ? {}
      : { accountId: text(value['accountId'], `${where}.accountId`, ACCOUNT_ID_PATTERN) }),
    ...(probability === undefined ? {} : { probability }),
    ...(value['every'] === undefined ? {} : { every: int(value['every'], `${where}.every`, 1, 1_000_000) }),
    ...(value['count'] === undefined ? {} : { count: int(value['count'], `${where}.count`, 1, 1_000_000_000) }),
    action: action as FaultAction,
    ...(action === 'delay' ? { delay: Object.freeze(delaySpec(value, where)) } : {}),
    ...(code === undefined ? {} : { code }),
    ...(value['durationMs'] === undefined
      ? {}
      : { durationMs: int(value['durationMs'], `${where}.durationMs`, 1, FAULT_DURATION_MS_MAX) }),
  });
}

/** Reads the rules from a JSON value (the file's or the admin call's); throws an Error naming the field. */
export function parseFaultRules(value: unknown): FaultRules {
  if (!isObject(value)) throw new RulesError('fault rules must be a JSON object {"seed": …, "rules": […]}');
  for (const key of Object.keys(value)) {
    if (key !== 'seed' && key !== 'rules') throw new RulesError(`unknown field "${key}" (expected "seed" and "rules")`);
  }
  const seed = value['seed'] === undefined ? 0 : int(value['seed'], 'seed', 0, 0xffffffff);
  const rules = value['rules'];
  if (!Array.isArray(rules)) throw new RulesError('"rules" must be an array');
  if (rules.length > FAULT_RULES_MAX) throw new RulesError(`at most ${FAULT_RULES_MAX} rules, got ${rules.length}`);
  const parsed = Object.freeze(rules.map((r, i) => ruleOf(r, `rules[${i}]`)));
  return Object.freeze({ seed, rules: parsed, json: JSON.parse(JSON.stringify({ seed, rules })) as unknown });
}

export function parseFaultRulesText(json: string): FaultRules {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new RulesError(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseFaultRules(value);
}

/** The rules of a file; the error names the file and the field, in one line. */
export function readFaultRulesFile(path: string): FaultRules {
  let json: string;
  try {
    json = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      `fault rules file ${path}: ${code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    return parseFaultRulesText(json);
  } catch (error) {
    throw new Error(`fault rules file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
