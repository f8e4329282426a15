import { BALANCE_CENTS_MAX, Cents, formatCents } from '../common/money';
import { fault, ServiceFault } from '../common/service-fault';
import {
  StoredAccountId,
  AccountRow,
  StoredAccountState,
  ClassifiedPosting,
  IdempotencyRow,
  JournalRow,
  LockRow,
  StoredPosting,
  RecordedOutcome,
  UpdateResult,
} from './store';
import { itemAt } from '../common/defined';

/**
 * The rules of the data tier as pure functions of the state a store has read: which lock wins,
 * who may write, what a posting means, what a replay returns. Both stores call these inside
 * their database transaction, so the rules are written (and unit-tested) once.
 */

/** A lease is live strictly before its expiry instant; at or after it the accounts are free. */
export function isLeaseLive(lock: Pick<LockRow, 'expiresAtMs'>, nowMs: number): boolean {
  return nowMs < lock.expiresAtMs;
}

/** Deduplicate and sort ascending: locks are always taken in one global order (no deadlock). */
export function normalizeAccountIds(accountIds: readonly StoredAccountId[], countMax: number): StoredAccountId[] {
  const unique = [...new Set(accountIds)].sort((a, b) => a - b);
  if (unique.length === 0) throw fault('INVALID_REQUEST', 'at least one accountId is required');
  if (unique.length > countMax) throw fault('INVALID_REQUEST', `at most ${countMax} distinct accountIds are allowed`);
  return unique;
}

export type LockPlan =
  | { readonly kind: 'grant'; readonly expiredLockIds: readonly string[] }
  /** expiresInMs: how long the blocking lease still runs, by the store's clock (not the caller's). */
  | { readonly kind: 'blocked'; readonly accountId: StoredAccountId; readonly expiresInMs: number };

/**
 * Decide a Lock: every account must exist (the lowest missing one is reported), none may be under
 * another live lease (the lowest held one is reported with its expiry), all or none. Expired
 * leases on the requested accounts are returned for deletion: they count as free.
 * `holdingLocks` are the locks that cover any of the requested accounts.
 */
export function planLock(
  accountIds: readonly StoredAccountId[],
  found: ReadonlyMap<StoredAccountId, AccountRow>,
  holdingLocks: readonly LockRow[],
  nowMs: number,
): LockPlan {
  for (const id of accountIds) {
    if (!found.has(id)) throw fault('ACCOUNT_NOT_FOUND', `account ${id} does not exist`, String(id));
  }
  const requested = new Set(accountIds);
  let blocked: { accountId: StoredAccountId; expiresAtMs: number } | undefined;
  const expiredLockIds: string[] = [];
  for (const lock of holdingLocks) {
    if (!isLeaseLive(lock, nowMs)) {
      expiredLockIds.push(lock.lockId);
      continue;
    }
    for (const id of lock.accountIds) {
      if (requested.has(id) && (blocked === undefined || id < blocked.accountId)) {
        blocked = { accountId: id, expiresAtMs: lock.expiresAtMs };
      }
    }
  }
  if (blocked !== undefined)
    return { kind: 'blocked', accountId: blocked.accountId, expiresInMs: blocked.expiresAtMs - nowMs };
  return { kind: 'grant', expiredLockIds };
}

/**
 * May this caller write under this lock now? Checked in the order of the contract:
 * lock exists and is the caller's → lease live → fencing token current → accounts covered.
 */
export function checkWriteAuthority(
  lock: LockRow | undefined,
  holder: string,
  fencingToken: number,
  postingAccountIds: readonly StoredAccountId[],
  nowMs: number,
): void {
  if (lock === undefined || lock.holder !== holder) {
    throw fault(
      'LOCK_NOT_HELD',
      'no such lock held by this business server (unknown, released, or taken over after expiry)',
    );
  }
  if (!isLeaseLive(lock, nowMs)) throw fault('LOCK_EXPIRED', 'the lease of this lock has expired; lock again');
  if (fencingToken !== lock.fencingToken) {
    throw fault('STALE_FENCING_TOKEN', `fencing token ${fencingToken} is not the current token of this lock`);
  }
  const covered = new Set(lock.accountIds);
  for (const id of postingAccountIds) {
    if (!covered.has(id)) throw fault('LOCK_NOT_HELD', `account ${id} is not under this lock`, String(id));
  }
}

/**
 * What the postings mean: one posting is a deposit (+) or a withdrawal (−); two postings on
 * distinct accounts summing to zero are a transfer. Anything else is refused as a whole.
 */
export function classifyPostings(postings: readonly StoredPosting[]): ClassifiedPosting[] {
  // Field by field rather than `{ ...p, kind }`: a spread at the front of a literal cost ~0.5 µs.
  if (postings.length === 1) {
    const p = itemAt(postings, 0);
    return [{ accountId: p.accountId, amountCents: p.amountCents, kind: p.amountCents > 0 ? 'DEPOSIT' : 'WITHDRAWAL' }];
  }
  if (postings.length === 2) {
    const [a, b] = postings as [StoredPosting, StoredPosting];
    if (a.accountId === b.accountId)
      throw fault('INVALID_REQUEST', 'the two postings of a transfer must name distinct accounts', String(a.accountId));
    if (a.amountCents + b.amountCents !== 0)
      throw fault('INVALID_REQUEST', 'the two postings of a transfer must sum to zero');
    const out = a.amountCents < 0 ? a : b;
    const into = a.amountCents < 0 ? b : a;
    return [
      {
        accountId: out.accountId,
        amountCents: out.amountCents,
        kind: 'TRANSFER_OUT',
        counterpartyAccountId: into.accountId,
      },
      {
        accountId: into.accountId,
        amountCents: into.amountCents,
        kind: 'TRANSFER_IN',
        counterpartyAccountId: out.accountId,
      },
    ];
  }
  throw fault('INVALID_REQUEST', 'an Update carries 1 posting (deposit or withdrawal) or 2 (a transfer)');
}

/** The content of an Update as an order-free set: a replay in another order is the same request. */
export function updateFingerprint(postings: readonly StoredPosting[]): string {
  const parts = postings.map((p) => `${p.accountId}:${p.amountCents}`).sort();
  return `update|${parts.join(',')}`;
}

export function createFingerprint(ownerId: string, initialBalanceCents: Cents): string {
  return `create|${ownerId}|${initialBalanceCents}`;
}

/**
 * An idempotency record found under the transaction id: the same content replays the recorded
 * outcome; other content is REQUEST_ID_CONFLICT. Undefined record ⇒ a fresh request.
 */
export function matchReplay(record: IdempotencyRow | undefined, fingerprint: string): RecordedOutcome | undefined {
  if (record === undefined) return undefined;
  if (record.fingerprint !== fingerprint) {
    throw fault(
      'REQUEST_ID_CONFLICT',
      `transaction id ${record.transactionId} was already used with different content`,
    );
  }
  return record.outcome;
}

/** What a replayed Update answers: the recorded outcome, and whether its lock is to be deleted. */
export type UpdateReplay =
  | { readonly status: 'applied'; readonly accounts: readonly AccountRow[]; readonly releaseLock: boolean }
  | {
      readonly status: 'refused';
      readonly refusal: Omit<Extract<RecordedOutcome, { status: 'refused' }>, 'status'>;
      readonly releaseLock: boolean;
    };

/**
 * planReplay for Update: undefined ⇒ a fresh request (no record). Same content ⇒ the recorded
 * outcome, nothing moves; release=true is still honoured when the caller holds the lock with
 * the current token (replayReleases). Other content, or the id of a CreateAccount ⇒
 * REQUEST_ID_CONFLICT.
 */
export function planUpdateReplay(
  record: IdempotencyRow | undefined,
  fingerprint: string,
  lock: LockRow | undefined,
  request: { readonly holder: string; readonly fencingToken: number; readonly release: boolean },
): UpdateReplay | undefined {
  if (record === undefined) return undefined;
  const recorded = matchReplay(record, fingerprint);
  if (recorded === undefined) return undefined;
  const releaseLock = replayReleases(lock, request.holder, request.fencingToken, request.release);
  switch (recorded.status) {
    case 'applied':
      return { status: 'applied', accounts: recorded.accounts, releaseLock };
    case 'refused': {
      const { status: _status, ...refusal } = recorded;
      return { status: 'refused', refusal, releaseLock };
    }
    case 'created':
      throw fault('REQUEST_ID_CONFLICT', `transaction id ${record.transactionId} was used by a CreateAccount`);
  }
}

/** A replay as the store's answer, once the store has done the release the plan asked for. */
export function replayResult(
  transactionId: string,
  replay: UpdateReplay,
  release: Pick<UpdateResult, 'released' | 'releasedAccountIds'>,
): UpdateResult {
  const base = { transactionId, replayed: true, ...release };
  return replay.status === 'applied'
    ? { ...base, accounts: replay.accounts }
    : { ...base, accounts: [], refusal: replay.refusal };
}

/**
 * planReplay for CreateAccount: undefined ⇒ fresh; same owner and initial balance ⇒ the account
 * created the first time; other content (or an Update's id) ⇒ REQUEST_ID_CONFLICT.
 */
export function planCreateReplay(
  record: IdempotencyRow | undefined,
  fingerprint: string,
): { readonly accountId: StoredAccountId; readonly balanceCents: Cents } | undefined {
  const recorded = matchReplay(record, fingerprint);
  if (recorded === undefined) return undefined;
  if (recorded.status !== 'created') throw new Error('a create fingerprint matched a non-create outcome');
  return { accountId: recorded.accountId, balanceCents: recorded.balanceCents };
}

/** A recorded refusal as the fault the caller receives, the first time and on every replay. */
export function refusalFault(outcome: Extract<RecordedOutcome, { status: 'refused' }>): ServiceFault {
  return fault(outcome.code, outcome.message, outcome.accountId);
}

export type PostingPlan =
  | { readonly kind: 'apply'; readonly accounts: readonly AccountRow[]; readonly journal: readonly JournalRow[] }
  | { readonly kind: 'refuse'; readonly outcome: Extract<RecordedOutcome, { status: 'refused' }> };

/**
 * Apply postings to the current rows: all or nothing. A balance below zero is INSUFFICIENT_FUNDS,
 * above BALANCE_CENTS_MAX is INVALID_AMOUNT; both are final outcomes the store records under the
 * transaction id. On success: new balances, versions + 1, one journal row per posting.
 * Returned accounts are in ascending id order.
 */
export function planPostings(
  transactionId: string,
  postings: readonly ClassifiedPosting[],
  current: ReadonlyMap<StoredAccountId, AccountRow>,
  nowMs: number,
): PostingPlan {
  const accounts: AccountRow[] = [];
  const journal: JournalRow[] = [];
  for (const p of postings) {
    const row = current.get(p.accountId);
    if (row === undefined) throw new Error(`planPostings: account ${p.accountId} was not read`);
    const after = row.balanceCents + p.amountCents;
    if (after < 0) {
      return {
        kind: 'refuse',
        outcome: {
          status: 'refused',
          code: 'INSUFFICIENT_FUNDS',
          message: `account ${p.accountId} has insufficient funds`,
          accountId: String(p.accountId),
        },
      };
    }
    if (after > BALANCE_CENTS_MAX) {
      return {
        kind: 'refuse',
        outcome: {
          status: 'refused',
          code: 'INVALID_AMOUNT',
          message: `the balance of account ${p.accountId} would exceed ${formatCents(BALANCE_CENTS_MAX)}`,
          accountId: String(p.accountId),
        },
      };
    }
    accounts.push({
      accountId: row.accountId,
      ownerId: row.ownerId,
      balanceCents: after as Cents,
      version: row.version + 1,
    });
    journal.push({
      transactionId,
      accountId: p.accountId,
      amountCents: p.amountCents,
      balanceAfterCents: after as Cents,
      kind: p.kind,
      atMs: nowMs,
      ...(p.counterpartyAccountId !== undefined ? { counterpartyAccountId: p.counterpartyAccountId } : {}),
    });
  }
  accounts.sort((a, b) => a.accountId - b.accountId);
  return { kind: 'apply', accounts, journal };
}

export type UnlockPlan = 'delete-live' | 'delete-expired' | 'absent';

/** Unlock: only the holder; an unknown lock is already released (idempotent). */
export function planUnlock(lock: LockRow | undefined, holder: string, nowMs: number): UnlockPlan {
  if (lock === undefined) return 'absent';
  if (lock.holder !== holder) throw fault('LOCK_NOT_HELD', 'this lock is held by another business server');
  return isLeaseLive(lock, nowMs) ? 'delete-live' : 'delete-expired';
}

/**
 * A replayed Update still honours release=true when the caller holds the lock with the current
 * token: the business tier's retry path is Lock → Update(replay) and must not leave the lock
 * behind. Returns whether the lock is to be deleted.
 */
export function replayReleases(
  lock: LockRow | undefined,
  holder: string,
  fencingToken: number,
  release: boolean,
): boolean {
  return release && lock !== undefined && lock.holder === holder && lock.fencingToken === fencingToken;
}

/** The accounts column of a lock row ("3,7,12", ascending) as ids. */
export function parseLockAccounts(text: string): StoredAccountId[] {
  return text.split(',').map((part) => Number(part));
}

/** Read's answer, shared by both stores: every id must exist; lock state from live leases only. */
export function accountStates(
  accountIds: readonly StoredAccountId[],
  accounts: readonly AccountRow[],
  locks: readonly LockRow[],
  nowMs: number,
): StoredAccountState[] {
  const byId = new Map(accounts.map((a) => [a.accountId, a]));
  const lockOf = new Map<StoredAccountId, LockRow>();
  for (const lock of locks) {
    if (!isLeaseLive(lock, nowMs)) continue;
    for (const id of lock.accountIds) lockOf.set(id, lock);
  }
  return accountIds.map((id): StoredAccountState => {
    const account = byId.get(id);
    if (account === undefined) throw fault('ACCOUNT_NOT_FOUND', `account ${id} does not exist`, String(id));
    const lock = lockOf.get(id);
    if (lock === undefined) return { ...account, locked: false };
    return { ...account, locked: true, lockHolder: lock.holder, lockExpiresAtMs: lock.expiresAtMs };
  });
}
