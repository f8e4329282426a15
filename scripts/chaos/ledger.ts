import type { EntryKind } from '../../common/contract';

/**
 * The ledger as the checker sees it after a run: every account the run opened, with its balance
 * and its whole statement (oldest entry first), read through the bank service itself
 * (GetStatement by each owner) — the same view a client has, no look inside the store.
 */
export interface LedgerEntry {
  readonly transactionId: string;
  readonly kind: EntryKind;
  /** Signed: credits > 0, debits < 0. */
  readonly amountCents: number;
  readonly balanceAfterCents: number;
  readonly counterpartyAccountId?: string;
}

export interface LedgerAccount {
  readonly accountId: string;
  readonly ownerId: string;
  /** The balance the run opened the account with. */
  readonly openingCents: number;
  readonly balanceCents: number;
  /** Oldest first. */
  readonly entries: readonly LedgerEntry[];
  /** False when the statement was longer than the reader reads (run.ts): the checker cannot judge it. */
  readonly complete: boolean;
}

export interface Ledger {
  readonly accounts: readonly LedgerAccount[];
}
