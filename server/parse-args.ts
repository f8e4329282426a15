import {
  ACCOUNT_ID_PATTERN,
  FENCING_TOKEN_PATTERN,
  LOCK_ID_PATTERN,
  PRINCIPAL_ID_PATTERN,
  TRANSACTION_ID_PATTERN,
} from '../common/contract';
import { fault } from '../common/service-fault';
import { StoredAccountId } from './store';

/**
 * Validation of the raw arguments node-soap hands over (common/soap-host.ts): every leaf is
 * text, a repeated element an array, an absent optional element absent. Anything else — an
 * object where text belongs, a number, an empty string — is refused as INVALID_REQUEST.
 */
const XSD_INT = /^[+-]?[0-9]{1,10}$/;

export function list(args: Record<string, unknown>, name: string): unknown[] {
  const value = args[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function text(value: unknown, name: string): string {
  if (typeof value !== 'string') throw fault('INVALID_REQUEST', `${name} must be text`);
  return value;
}

export function requiredText(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (value === undefined) throw fault('INVALID_REQUEST', `${name} is required`);
  return text(value, name);
}

function matching(value: string, pattern: RegExp, name: string): string {
  if (!pattern.test(value)) throw fault('INVALID_REQUEST', `${name} is not valid (expected ${pattern.source})`);
  return value;
}

export function accountId(value: unknown, name = 'accountId'): StoredAccountId {
  return Number(matching(text(value, name), ACCOUNT_ID_PATTERN, name));
}

export function transactionId(args: Record<string, unknown>): string {
  return matching(requiredText(args, 'transactionId'), TRANSACTION_ID_PATTERN, 'transactionId');
}

export function lockId(args: Record<string, unknown>): string {
  return matching(requiredText(args, 'lockId'), LOCK_ID_PATTERN, 'lockId');
}

export function ownerId(args: Record<string, unknown>): string {
  return matching(requiredText(args, 'ownerId'), PRINCIPAL_ID_PATTERN, 'ownerId');
}

export function fencingToken(args: Record<string, unknown>): number {
  return Number(matching(requiredText(args, 'fencingToken'), FENCING_TOKEN_PATTERN, 'fencingToken'));
}

/** An optional xsd:int within [min, max]; absent ⇒ fallback. */
export function optionalInt(
  args: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = args[name];
  if (value === undefined) return fallback;
  const n = Number(matching(text(value, name), XSD_INT, name));
  if (n < min || n > max) throw fault('INVALID_REQUEST', `${name} must be between ${min} and ${max}`);
  return n;
}

/** An optional xsd:boolean ("true"/"1"/"false"/"0"); absent ⇒ fallback. */
export function optionalBoolean(args: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = args[name];
  if (value === undefined) return fallback;
  const t = text(value, name);
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw fault('INVALID_REQUEST', `${name} must be true or false`);
}

export function record(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw fault('INVALID_REQUEST', `${name} must be an element with children`);
  return value as Record<string, unknown>;
}
