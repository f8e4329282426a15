import Database from 'better-sqlite3';
import { makeDirectory } from '../common/make-directory';
import { dirname } from 'node:path';
import { asCents } from '../common/money';
import { fault } from '../common/service-fault';
import { GROUP_COMMIT_QUEUED_MAX_DEFAULT } from './config';
import { GroupCommitter } from './group-commit';
import {
  accountStates,
  checkWriteAuthority,
  createFingerprint,
  isLeaseLive,
  parseLockAccounts,
  planCreateReplay,
  planLock,
  planPostings,
  planUnlock,
  planUpdateReplay,
  PostingPlan,
  replayResult,
  updateFingerprint,
} from './lock-rules';
import { decodeOutcome, encodeOutcome } from './outcome-codec';
import { accountsLimitFault } from './owner-limit';
import { SQLITE_SCHEMA } from './sqlite-schema';
import { storeFailure } from './store-errors';
import {
  StoredAccountId,
  AccountRow,
  StoredAccountState,
  CreateAccountRequest,
  CreateAccountResult,
  EntryKind,
  IdempotencyRow,
  JournalQuery,
  JournalResult,
  JournalRow,
  LockRequest,
  LockResult,
  LockRow,
  Store,
  StoredJournalRow,
  UnlockResult,
  UpdateRequest,
  UpdateResult,
} from './store';
import { defined } from '../common/defined';

interface AccountSql {
  id: number;
  owner_id: string;
  balance_cents: number;
  version: number;
}
interface LockSql {
  lock_id: string;
  holder: string;
  fencing_token: number;
  expires_at_ms: number;
  accounts: string;
}
interface IdemSql {
  transaction_id: string;
  fingerprint: string;
  outcome: string;
}
interface JournalSql {
  entry_id: number;
  transaction_id: string;
  account_id: number;
  amount_cents: number;
  balance_after_cents: number;
  counterparty_account_id: number | null;
  kind: EntryKind;
  at_ms: number;
}

const JOURNAL_COLUMNS =
  'entry_id, transaction_id, account_id, amount_cents, balance_after_cents, counterparty_account_id, kind, at_ms';

function toAccount(row: AccountSql): AccountRow {
  return { accountId: row.id, ownerId: row.owner_id, balanceCents: asCents(row.balance_cents), version: row.version };
}

function toLock(row: LockSql): LockRow {
  return {
    lockId: row.lock_id,
    holder: row.holder,
    fencingToken: row.fencing_token,
    expiresAtMs: row.expires_at_ms,
    accountIds: parseLockAccounts(row.accounts),
  };
}

function toJournal(row: JournalSql): StoredJournalRow {
  return {
    entryId: row.entry_id,
    transactionId: row.transaction_id,
    accountId: row.account_id,
    amountCents: asCents(row.amount_cents),
    balanceAfterCents: asCents(row.balance_after_cents),
    kind: row.kind,
    atMs: row.at_ms,
    ...(row.counterparty_account_id !== null ? { counterpartyAccountId: row.counterparty_account_id } : {}),
  };
}

/** The newest `limit` rows of several lists that are each newest first. */
function newestEntries(lists: readonly JournalSql[][], limit: number): JournalSql[] {
  return lists
    .flat()
    .sort((a, b) => b.entry_id - a.entry_id)
    .slice(0, limit);
}

/**
 * The embedded store: one better-sqlite3 connection, WAL, synchronous=FULL (a commit is on disk
 * before the caller hears of it). Writes go through the GroupCommitter; reads run directly (the
 * connection is never inside a transaction between event-loop turns, so they see committed data).
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly committer: GroupCommitter;
  private readonly sql;
  leaseExpiries = 0;

  constructor(filePath: string, groupCommitItemsMax: number, groupCommitQueuedMax = GROUP_COMMIT_QUEUED_MAX_DEFAULT) {
    makeDirectory(dirname(filePath));
    this.db = new Database(filePath, { timeout: 5_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SQLITE_SCHEMA);
    this.committer = new GroupCommitter(this.db, groupCommitItemsMax, groupCommitQueuedMax);
    const db = this.db;
    this.sql = {
      lockById: db.prepare<[string], LockSql>('SELECT * FROM locks WHERE lock_id = ?'),
      deleteLock: db.prepare<[string]>('DELETE FROM locks WHERE lock_id = ?'),
      bumpFencing: db.prepare<[], { value: number }>(
        "UPDATE counters SET value = value + 1 WHERE name = 'fencing' RETURNING value",
      ),
      insertLock: db.prepare<[string, string, number, number, string]>(
        'INSERT INTO locks(lock_id, holder, fencing_token, expires_at_ms, accounts) VALUES (?, ?, ?, ?, ?)',
      ),
      insertLockAccount: db.prepare<[number, string]>('INSERT INTO lock_accounts(account_id, lock_id) VALUES (?, ?)'),
      idemById: db.prepare<[string], IdemSql>(
        'SELECT transaction_id, fingerprint, outcome FROM idempotency WHERE transaction_id = ?',
      ),
      insertIdem: db.prepare<[string, string, string, number]>(
        'INSERT INTO idempotency(transaction_id, fingerprint, outcome, at_ms) VALUES (?, ?, ?, ?)',
      ),
      updateAccount: db.prepare<[number, number, number, number]>(
        'UPDATE accounts SET balance_cents = ?, version = ? WHERE id = ? AND version = ?',
      ),
      insertJournal: db.prepare<[string, number, number, number, number | null, string, number]>(
        'INSERT INTO journal(transaction_id, account_id, amount_cents, balance_after_cents, counterparty_account_id, kind, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertAccount: db.prepare<[string, number], { id: number }>(
        'INSERT INTO accounts(owner_id, balance_cents, version) VALUES (?, ?, 0) RETURNING id',
      ),
      accountById: db.prepare<[number], AccountSql>(
        'SELECT id, owner_id, balance_cents, version FROM accounts WHERE id = ?',
      ),
      liveLocks: db.prepare<[number, number], LockSql>(
        'SELECT * FROM locks WHERE expires_at_ms > ? ORDER BY expires_at_ms LIMIT ?',
      ),
      liveLockCount: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM locks WHERE expires_at_ms > ?'),
      journalOfTransaction: db.prepare<[string, number], JournalSql>(
        `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE transaction_id = ? ORDER BY entry_id LIMIT ?`,
      ),
      journalOf: db.prepare<[number, number, number], JournalSql>(
        `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE account_id = ? AND entry_id < ? ORDER BY entry_id DESC LIMIT ?`,
      ),
      journalOfKind: db.prepare<[number, string, number, number], JournalSql>(
        `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE account_id = ? AND kind = ? AND entry_id < ? ORDER BY entry_id DESC LIMIT ?`,
      ),
      accountsOfOwner: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM accounts WHERE owner_id = ?'),
    };
  }

  /** `IN (?, ?, …)` statements by list length (1..16), prepared once: cheaper than json_each. */
  private readonly byCount = new Map<
    number,
    { accounts: Database.Statement<number[], AccountSql>; locks: Database.Statement<number[], LockSql> }
  >();

  private listStatements(count: number): {
    accounts: Database.Statement<number[], AccountSql>;
    locks: Database.Statement<number[], LockSql>;
  } {
    let statements = this.byCount.get(count);
    if (statements === undefined) {
      const marks = Array.from({ length: count }, () => '?').join(', ');
      statements = {
        accounts: this.db.prepare<number[], AccountSql>(
          `SELECT id, owner_id, balance_cents, version FROM accounts WHERE id IN (${marks}) ORDER BY id`,
        ),
        locks: this.db.prepare<number[], LockSql>(
          `SELECT * FROM locks WHERE lock_id IN (SELECT lock_id FROM lock_accounts WHERE account_id IN (${marks}))`,
        ),
      };
      this.byCount.set(count, statements);
    }
    return statements;
  }

  private accountsByIds(ids: readonly StoredAccountId[]): AccountRow[] {
    return this.listStatements(ids.length)
      .accounts.all(...ids)
      .map(toAccount);
  }

  private locksCovering(ids: readonly StoredAccountId[]): LockRow[] {
    return this.listStatements(ids.length)
      .locks.all(...ids)
      .map(toLock);
  }

  /** One data server per SQLite file: nobody else releases locks. */
  onRemoteRelease(): void {}

  lock(request: LockRequest): Promise<LockResult> {
    return this.write(() => {
      const nowMs = Date.now();
      const accounts = this.accountsByIds(request.accountIds);
      const found = new Map(accounts.map((a) => [a.accountId, a]));
      const holding = this.locksCovering(request.accountIds);
      const plan = planLock(request.accountIds, found, holding, nowMs);
      if (plan.kind === 'blocked') return plan;
      for (const lockId of plan.expiredLockIds) this.sql.deleteLock.run(lockId);
      this.leaseExpiries += plan.expiredLockIds.length;
      const fencingToken = defined(this.sql.bumpFencing.get(), 'the fencing counter row').value;
      const lock: LockRow = {
        lockId: request.lockId,
        holder: request.holder,
        fencingToken,
        expiresAtMs: nowMs + request.leaseMs,
        accountIds: request.accountIds,
      };
      this.sql.insertLock.run(lock.lockId, lock.holder, fencingToken, lock.expiresAtMs, lock.accountIds.join(','));
      for (const id of lock.accountIds) this.sql.insertLockAccount.run(id, lock.lockId);
      return { kind: 'granted', lock, accounts };
    });
  }

  update(request: UpdateRequest): Promise<UpdateResult> {
    return this.write((): UpdateResult => {
      const nowMs = Date.now();
      const lockSql = this.sql.lockById.get(request.lockId);
      const lock = lockSql === undefined ? undefined : toLock(lockSql);
      const released = (deleteIt: boolean): Pick<UpdateResult, 'released' | 'releasedAccountIds'> => {
        if (!deleteIt || lock === undefined) return { released: false, releasedAccountIds: [] };
        this.sql.deleteLock.run(lock.lockId);
        const live = isLeaseLive(lock, nowMs);
        return { released: live, releasedAccountIds: live ? lock.accountIds : [] };
      };
      const replay = planUpdateReplay(
        this.idempotency(request.transactionId),
        updateFingerprint(request.postings),
        lock,
        request,
      );
      if (replay !== undefined) return replayResult(request.transactionId, replay, released(replay.releaseLock));
      const postingIds = request.postings.map((p) => p.accountId);
      checkWriteAuthority(lock, request.holder, request.fencingToken, postingIds, nowMs);
      const current = new Map(this.accountsByIds(postingIds).map((a) => [a.accountId, a]));
      const plan = planPostings(request.transactionId, request.postings, current, nowMs);
      if (plan.kind === 'refuse') {
        this.sql.insertIdem.run(
          request.transactionId,
          updateFingerprint(request.postings),
          encodeOutcome(plan.outcome),
          nowMs,
        );
        return {
          transactionId: request.transactionId,
          replayed: false,
          ...released(request.release),
          accounts: [],
          refusal: plan.outcome,
        };
      }
      this.writePostings(plan);
      this.sql.insertIdem.run(
        request.transactionId,
        updateFingerprint(request.postings),
        encodeOutcome({ status: 'applied', accounts: plan.accounts }),
        nowMs,
      );
      return {
        transactionId: request.transactionId,
        replayed: false,
        ...released(request.release),
        accounts: plan.accounts,
      };
    });
  }

  /** The balances (each checked against the version read under the lock) and the journal rows of an applied plan. */
  private writePostings(plan: Extract<PostingPlan, { kind: 'apply' }>): void {
    for (const after of plan.accounts) {
      const changed = this.sql.updateAccount.run(
        after.balanceCents,
        after.version,
        after.accountId,
        after.version - 1,
      ).changes;
      if (changed !== 1) throw new Error(`account ${after.accountId} changed under the lock`);
    }
    for (const j of plan.journal) {
      this.sql.insertJournal.run(
        j.transactionId,
        j.accountId,
        j.amountCents,
        j.balanceAfterCents,
        j.counterpartyAccountId ?? null,
        j.kind,
        j.atMs,
      );
    }
  }

  unlock(holder: string, lockId: string): Promise<UnlockResult> {
    return this.write((): UnlockResult => {
      const lockSql = this.sql.lockById.get(lockId);
      const lock = lockSql === undefined ? undefined : toLock(lockSql);
      const plan = planUnlock(lock, holder, Date.now());
      if (plan === 'absent' || lock === undefined) return { released: false, releasedAccountIds: [] };
      this.sql.deleteLock.run(lockId);
      if (plan === 'delete-expired') this.leaseExpiries += 1;
      return plan === 'delete-live'
        ? { released: true, releasedAccountIds: lock.accountIds }
        : { released: false, releasedAccountIds: [] };
    });
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- Store is async: async turns SQLite's synchronous throws into rejections
  async read(accountIds: readonly StoredAccountId[]): Promise<readonly StoredAccountState[]> {
    const nowMs = Date.now();
    const read = this.db.transaction(() => ({
      accounts: this.accountsByIds(accountIds),
      locks: this.locksCovering(accountIds),
    }));
    let state: { accounts: AccountRow[]; locks: LockRow[] };
    try {
      state = read();
    } catch (error) {
      return storeFailure(error);
    }
    return accountStates(accountIds, state.accounts, state.locks, nowMs);
  }

  createAccount(request: CreateAccountRequest): Promise<CreateAccountResult> {
    return this.write((): CreateAccountResult => {
      const nowMs = Date.now();
      const fingerprint = createFingerprint(request.ownerId, request.initialBalanceCents);
      const replay = planCreateReplay(this.idempotency(request.transactionId), fingerprint);
      if (replay !== undefined) return { ...replay, replayed: true };
      // One writer (and this write transaction): the count cannot change under us.
      if (
        request.accountsMax !== undefined &&
        defined(this.sql.accountsOfOwner.get(request.ownerId), 'the COUNT row').n >= request.accountsMax
      ) {
        throw accountsLimitFault(request.ownerId, request.accountsMax);
      }
      const accountId = defined(
        this.sql.insertAccount.get(request.ownerId, request.initialBalanceCents),
        'the RETURNING row',
      ).id;
      if (request.initialBalanceCents > 0) {
        this.sql.insertJournal.run(
          request.transactionId,
          accountId,
          request.initialBalanceCents,
          request.initialBalanceCents,
          null,
          'OPENING',
          nowMs,
        );
      }
      this.sql.insertIdem.run(
        request.transactionId,
        fingerprint,
        encodeOutcome({ status: 'created', accountId, balanceCents: request.initialBalanceCents }),
        nowMs,
      );
      return { accountId, balanceCents: request.initialBalanceCents, replayed: false };
    });
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- Store is async: async turns SQLite's synchronous throws into rejections
  async journal(accountId: StoredAccountId, query: JournalQuery): Promise<JournalResult> {
    const before = query.beforeEntryId ?? Number.MAX_SAFE_INTEGER;
    const read = this.db.transaction(() => {
      const account = this.sql.accountById.get(accountId);
      if (account === undefined)
        throw fault('ACCOUNT_NOT_FOUND', `account ${accountId} does not exist`, String(accountId));
      // By kind: one index range per kind (journal_by_kind), each at most `limit` rows, merged;
      // a filter never scans the entries it leaves out.
      const rows =
        query.kinds === undefined
          ? this.sql.journalOf.all(accountId, before, query.limit)
          : newestEntries(
              query.kinds.map((kind) => this.sql.journalOfKind.all(accountId, kind, before, query.limit)),
              query.limit,
            );
      return { account: toAccount(account), entries: rows.map(toJournal) };
    });
    try {
      return read();
    } catch (error) {
      return storeFailure(error);
    }
  }

  health(): Promise<Record<string, unknown>> {
    return Promise.resolve({
      store: 'sqlite',
      groupCommitBatches: this.committer.batches,
      groupCommitItems: this.committer.items,
      groupCommitBusyMs: Math.round(this.committer.busyMs),
    });
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- Store is async: async turns SQLite's synchronous throws into rejections
  async locksHeld(nowMs: number, max: number): Promise<{ total: number; locks: LockRow[] }> {
    return {
      total: defined(this.sql.liveLockCount.get(nowMs), 'the COUNT row').n,
      locks: this.sql.liveLocks.all(nowMs, max).map(toLock),
    };
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- Store is async: async turns SQLite's synchronous throws into rejections
  async journalOfTransactions(transactionIds: readonly string[], max: number): Promise<JournalRow[]> {
    return transactionIds.flatMap((id) => this.sql.journalOfTransaction.all(id, max).map(toJournal)).slice(0, max);
  }

  observeCommits(onCommit: (items: number, durationMs: number) => void): void {
    this.committer.onBatch = onCommit;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- Store is async: async turns SQLite's synchronous throws into rejections
  async close(): Promise<void> {
    this.committer.close();
    this.db.close();
  }

  /** A write in the next group transaction; transient SQLite trouble becomes SERVICE_UNAVAILABLE. */
  private write<T>(work: () => T): Promise<T> {
    return this.committer.run(work).catch(storeFailure);
  }

  private idempotency(transactionId: string): IdempotencyRow | undefined {
    const row = this.sql.idemById.get(transactionId);
    if (row === undefined) return undefined;
    return { transactionId: row.transaction_id, fingerprint: row.fingerprint, outcome: decodeOutcome(row.outcome) };
  }
}
