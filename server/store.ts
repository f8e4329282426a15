import type { EntryKind } from '../common/contract';
import { Cents } from '../common/money';

/**
 * The data tier's storage, behind one interface with two implementations: SQLite (embedded
 * default, server/sqlite-store.ts) and PostgreSQL (server/postgres-store.ts). Each method is ONE
 * database transaction: it reads the state it needs, asks the pure rules in lock-rules.ts what to
 * do, and writes the result, so a crash can never leave half of it. Operating errors are thrown
 * as ServiceFault; the decision logic is shared, only data access differs between the stores.
 */

/**
 * An account's key in the store: a positive integer (≤ 15 decimal digits, so always a safe
 * integer). On the wire it is text (AccountId, common/contract.ts); parse-args.ts converts.
 */
export type StoredAccountId = number;

export type { EntryKind };

export interface AccountRow {
  readonly accountId: StoredAccountId;
  readonly ownerId: string;
  readonly balanceCents: Cents;
  readonly version: number;
}

export interface LockRow {
  readonly lockId: string;
  readonly holder: string;
  readonly fencingToken: number;
  readonly expiresAtMs: number;
  /** Ascending. */
  readonly accountIds: readonly StoredAccountId[];
  /** PostgreSQL only: the data server waiting for this lock ('*': several), whose release is announced. */
  readonly waiter?: string;
}

export interface StoredPosting {
  readonly accountId: StoredAccountId;
  readonly amountCents: Cents;
}

/** A posting with its journal meaning, decided by classifyPostings (lock-rules.ts). */
export interface ClassifiedPosting extends StoredPosting {
  readonly kind: EntryKind;
  readonly counterpartyAccountId?: StoredAccountId;
}

export interface JournalRow {
  readonly transactionId: string;
  readonly accountId: StoredAccountId;
  readonly amountCents: Cents;
  readonly balanceAfterCents: Cents;
  readonly counterpartyAccountId?: StoredAccountId;
  readonly kind: EntryKind;
  readonly atMs: number;
}

/** What the idempotency table keeps under a transaction id (stored as JSON). */
export type RecordedOutcome =
  | { readonly status: 'applied'; readonly accounts: readonly AccountRow[] }
  | {
      readonly status: 'refused';
      readonly code: 'INSUFFICIENT_FUNDS' | 'INVALID_AMOUNT';
      readonly message: string;
      readonly accountId?: string;
    }
  | { readonly status: 'created'; readonly accountId: StoredAccountId; readonly balanceCents: Cents };

export interface IdempotencyRow {
  readonly transactionId: string;
  readonly fingerprint: string;
  readonly outcome: RecordedOutcome;
}

export interface LockRequest {
  readonly holder: string;
  /** Ascending, distinct, 1..16 (normalizeAccountIds). */
  readonly accountIds: readonly StoredAccountId[];
  readonly lockId: string;
  readonly leaseMs: number;
  /** The caller waits if blocked: a release by another data server should be announced to it. */
  readonly willWait: boolean;
}

export type LockResult =
  | { readonly kind: 'granted'; readonly lock: LockRow; readonly accounts: readonly AccountRow[] }
  /**
   * The lowest requested account held by another live lease, and how long that lease still runs
   * by the store's clock (relative: the data server's own clock may differ from the database's).
   */
  | { readonly kind: 'blocked'; readonly accountId: StoredAccountId; readonly expiresInMs: number };

export interface UpdateRequest {
  readonly holder: string;
  readonly lockId: string;
  readonly fencingToken: number;
  readonly transactionId: string;
  readonly postings: readonly ClassifiedPosting[];
  readonly release: boolean;
}

export interface UpdateResult {
  readonly transactionId: string;
  readonly replayed: boolean;
  readonly released: boolean;
  /** Accounts freed by this call (to wake local waiters). */
  readonly releasedAccountIds: readonly StoredAccountId[];
  readonly accounts: readonly AccountRow[];
  /** Set when the (recorded) outcome is a refusal: the service throws it after the commit. */
  readonly refusal?: {
    readonly code: 'INSUFFICIENT_FUNDS' | 'INVALID_AMOUNT';
    readonly message: string;
    readonly accountId?: string;
  };
}

export interface UnlockResult {
  readonly released: boolean;
  readonly releasedAccountIds: readonly StoredAccountId[];
}

export interface StoredAccountState extends AccountRow {
  readonly locked: boolean;
  readonly lockHolder?: string;
  readonly lockExpiresAtMs?: number;
}

export interface CreateAccountRequest {
  readonly ownerId: string;
  readonly transactionId: string;
  readonly initialBalanceCents: Cents;
  /** The owner may hold at most this many accounts (counted in the same transaction). */
  readonly accountsMax?: number | undefined;
}

export interface CreateAccountResult {
  readonly accountId: StoredAccountId;
  readonly balanceCents: Cents;
  readonly replayed: boolean;
}

/** A journal row as read back, with its place in the journal (grows with every entry). */
export interface StoredJournalRow extends JournalRow {
  /** The paging cursor of GetJournal (beforeEntryId). */
  readonly entryId: number;
}

/** Which entries of an account GetJournal returns, newest first. */
export interface JournalQuery {
  readonly limit: number;
  /** Distinct kinds, 1..5; undefined = every kind. */
  readonly kinds: readonly EntryKind[] | undefined;
  /** Only entries with a smaller entryId; undefined = from the newest. */
  readonly beforeEntryId: number | undefined;
}

export interface JournalResult {
  readonly account: AccountRow;
  /** Newest first. */
  readonly entries: readonly StoredJournalRow[];
}

/** Accounts released by another data server on the same database ('all': some may have been, unknown which). */
export type RemoteReleaseHandler = (accountIds: readonly StoredAccountId[] | 'all') => void;

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Hears releases made by other data servers sharing the database (never called for SQLite: one process per file). */
  onRemoteRelease(handler: RemoteReleaseHandler): void;
  lock(request: LockRequest): Promise<LockResult>;
  update(request: UpdateRequest): Promise<UpdateResult>;
  unlock(holder: string, lockId: string): Promise<UnlockResult>;
  /** Ascending ids, all must exist (else ACCOUNT_NOT_FOUND). */
  read(accountIds: readonly StoredAccountId[]): Promise<readonly StoredAccountState[]>;
  createAccount(request: CreateAccountRequest): Promise<CreateAccountResult>;
  journal(accountId: StoredAccountId, query: JournalQuery): Promise<JournalResult>;
  /** Extra /health fields. */
  health(): Promise<Record<string, unknown>>;
  // ---- read-only views for the control plane (server/data-metrics.ts) ----
  /** Live leases now, soonest expiry first, at most `max`, and how many there are in all. */
  locksHeld(nowMs: number, max: number): Promise<{ readonly total: number; readonly locks: readonly LockRow[] }>;
  /** The journal entries written under these transaction ids (at most `max`). */
  journalOfTransactions(transactionIds: readonly string[], max: number): Promise<readonly JournalRow[]>;
  /** Called after every durable commit of writes: how many operations it carried, how long it took. */
  observeCommits(onCommit: (items: number, durationMs: number) => void): void;
  /** Locks whose lease had run out, found and removed by this process (a takeover by Lock, or a late Unlock). */
  readonly leaseExpiries: number;
  /** Connection pool use (PostgreSQL only). */
  poolUsage?(): { readonly total: number; readonly idle: number; readonly waiting: number };
  close(): Promise<void>;
}
