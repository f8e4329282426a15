import { asCents, Cents } from '../common/money';
import { parseLockAccounts } from './lock-rules';
import { decodeOutcome } from './outcome-codec';
import { AccountRow, EntryKind, IdempotencyRow, LockRow, StoredJournalRow } from './store';

/**
 * PostgreSQL rows (plain query rows, or the JSON the hot-path functions return) as the store's
 * row types, converted exactly: BIGINT comes back as text from queries and as a JSON number from
 * the functions; both must be safe integers.
 */
export type Row = Record<string, unknown>;

export function int8(value: unknown): number {
  // The functions' JSON numbers: a safe integer is its own value (-0 as 0, as its text reads);
  // anything else takes the text path below, for its error.
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value === 0 ? 0 : value;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^-?[0-9]{1,16}$/.test(text)) throw new Error(`not a BIGINT: ${String(value)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`BIGINT out of the safe range: ${text}`);
  return n;
}

function cents(value: unknown): Cents {
  return asCents(int8(value));
}

export function toAccount(row: Row): AccountRow {
  return {
    accountId: int8(row.id),
    ownerId: String(row.owner_id),
    balanceCents: cents(row.balance_cents),
    version: int8(row.version),
  };
}

export function toLock(row: Row): LockRow {
  return {
    lockId: String(row.lock_id),
    holder: String(row.holder),
    fencingToken: int8(row.fencing_token),
    expiresAtMs: int8(row.expires_at_ms),
    accountIds: parseLockAccounts(String(row.accounts)),
    ...(typeof row.waiter === 'string' ? { waiter: row.waiter } : {}),
  };
}

export function toJournal(row: Row): StoredJournalRow {
  return {
    entryId: int8(row.entry_id),
    transactionId: String(row.transaction_id),
    accountId: int8(row.account_id),
    amountCents: cents(row.amount_cents),
    balanceAfterCents: cents(row.balance_after_cents),
    kind: String(row.kind) as EntryKind,
    atMs: int8(row.at_ms),
    ...(row.counterparty_account_id !== null ? { counterpartyAccountId: int8(row.counterparty_account_id) } : {}),
  };
}

export function toIdempotency(row: Row): IdempotencyRow {
  return {
    transactionId: String(row.transaction_id),
    fingerprint: String(row.fingerprint),
    outcome: decodeOutcome(String(row.outcome)),
  };
}

/** A JSON array the functions returned, as rows. */
export function rowsOf(value: unknown): Row[] {
  if (!Array.isArray(value)) throw new Error(`expected a JSON array from PostgreSQL, got ${typeof value}`);
  return value as Row[];
}

export function sqlState(error: unknown): string | undefined {
  return error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}
