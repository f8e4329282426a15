import { randomBase64url } from '../common/random-pool';
import { ENTRY_ID_PATTERN, ENTRY_KINDS, isEntryKind } from '../common/contract';
import { formatCents, parseBalance, parseSignedAmount } from '../common/money';
import { fault } from '../common/service-fault';
import type { OperationContext, OperationHandler } from '../common/soap-host';
import {
  ACCOUNTS_PER_LOCK_MAX,
  DataConfig,
  JOURNAL_LIMIT_DEFAULT,
  JOURNAL_LIMIT_MAX,
  POSTINGS_PER_UPDATE_MAX,
} from './config';
import { classifyPostings, normalizeAccountIds, refusalFault } from './lock-rules';
import { LockWaiters, WaitTicket } from './lock-waiters';
import * as parse from './parse-args';
import {
  StoredAccountId,
  AccountRow,
  EntryKind,
  JournalQuery,
  LockRequest,
  LockResult,
  StoredPosting,
  Store,
  StoredJournalRow,
} from './store';

/**
 * The six operations of data.wsdl: validate the raw arguments, call the store (one database
 * transaction each), shape the answer in the XSD's element order. Lock adds the bounded FIFO
 * wait (lock-waiters.ts) around the store's all-or-none attempt.
 */
type Limits = Pick<
  DataConfig,
  'leaseMsDefault' | 'leaseMsMin' | 'leaseMsMax' | 'lockWaitMsMax' | 'lockWaitersPerAccountMax' | 'lockPollMs'
>;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function lockedAccount(a: AccountRow): Record<string, unknown> {
  return {
    accountId: String(a.accountId),
    ownerId: a.ownerId,
    balance: formatCents(a.balanceCents),
    version: String(a.version),
  };
}

function journalEntry(e: StoredJournalRow): Record<string, unknown> {
  return {
    transactionId: e.transactionId,
    kind: e.kind,
    amount: formatCents(e.amountCents),
    balanceAfter: formatCents(e.balanceAfterCents),
    ...(e.counterpartyAccountId !== undefined ? { counterpartyAccountId: String(e.counterpartyAccountId) } : {}),
    at: iso(e.atMs),
    entryId: String(e.entryId),
  };
}

/** GetJournal's filter: distinct kinds (absent = all) and an optional paging cursor. */
function journalQueryOf(args: Record<string, unknown>): JournalQuery {
  const limit = parse.optionalInt(args, 'limit', JOURNAL_LIMIT_DEFAULT, 1, JOURNAL_LIMIT_MAX);
  const rawKinds = parse.list(args, 'kind').map((k) => parse.text(k, 'kind'));
  if (rawKinds.some((k) => !isEntryKind(k)) || new Set(rawKinds).size !== rawKinds.length) {
    throw fault('INVALID_REQUEST', `kind must be one of ${ENTRY_KINDS.join(', ')}, each at most once`);
  }
  const before = args.beforeEntryId === undefined ? undefined : parse.text(args.beforeEntryId, 'beforeEntryId');
  if (before !== undefined && !ENTRY_ID_PATTERN.test(before))
    throw fault('INVALID_REQUEST', 'beforeEntryId must be a positive integer');
  return {
    limit,
    kinds: rawKinds.length === 0 ? undefined : (rawKinds as EntryKind[]),
    beforeEntryId: before === undefined ? undefined : Number(before),
  };
}

function accountIdList(args: Record<string, unknown>): StoredAccountId[] {
  const raw = parse.list(args, 'accountId');
  if (raw.length > ACCOUNTS_PER_LOCK_MAX)
    throw fault('INVALID_REQUEST', `at most ${ACCOUNTS_PER_LOCK_MAX} accountIds are allowed`);
  return normalizeAccountIds(
    raw.map((v) => parse.accountId(v)),
    ACCOUNTS_PER_LOCK_MAX,
  );
}

function postingsOf(args: Record<string, unknown>): StoredPosting[] {
  const raw = parse.list(args, 'posting');
  if (raw.length === 0) throw fault('INVALID_REQUEST', 'at least one posting is required');
  if (raw.length > POSTINGS_PER_UPDATE_MAX)
    throw fault('INVALID_REQUEST', `at most ${POSTINGS_PER_UPDATE_MAX} postings are allowed`);
  return raw.map((value) => {
    const p = parse.record(value, 'posting');
    return { accountId: parse.accountId(p.accountId, 'posting/accountId'), amountCents: parseSignedAmount(p.amount) };
  });
}

export class DataService {
  readonly waiters: LockWaiters;

  constructor(
    private readonly store: Store,
    private readonly limits: Limits,
  ) {
    this.waiters = new LockWaiters(limits.lockWaitersPerAccountMax, limits.lockPollMs);
    // Releases on other data servers (PostgreSQL LISTEN/NOTIFY) wake our waiters at once;
    // polling every lockPollMs remains the fallback.
    store.onRemoteRelease((ids) => (ids === 'all' ? this.waiters.releasedAll() : this.waiters.released(ids)));
  }

  operations(): Readonly<Record<string, OperationHandler>> {
    return Object.freeze({
      Lock: (args, ctx) => this.lock(args, ctx),
      Read: (args, ctx) => this.read(args, ctx),
      Update: (args, ctx) => this.update(args, ctx),
      Unlock: (args, ctx) => this.unlock(args, ctx),
      CreateAccount: (args, ctx) => this.createAccount(args, ctx),
      GetJournal: (args, ctx) => this.getJournal(args, ctx),
    });
  }

  async lock(args: Record<string, unknown>, ctx: OperationContext): Promise<Record<string, unknown>> {
    const accountIds = accountIdList(args);
    ctx.annotate({ accounts: accountIds });
    // A longer wait than allowed is cut down: waiting less is always safe (ACCOUNT_LOCKED is retryable).
    const waitMs = Math.min(parse.optionalInt(args, 'waitMs', 0, 0, 2_147_483_647), this.limits.lockWaitMsMax);
    const leaseMs = parse.optionalInt(
      args,
      'leaseMs',
      this.limits.leaseMsDefault,
      this.limits.leaseMsMin,
      this.limits.leaseMsMax,
    );
    const request: LockRequest = {
      holder: ctx.principalId,
      accountIds,
      lockId: randomBase64url(16),
      leaseMs,
      willWait: waitMs > 0,
    };
    const granted = await this.acquire(request, waitMs);
    ctx.annotate({ fencing_token: granted.lock.fencingToken });
    return {
      lockId: granted.lock.lockId,
      fencingToken: String(granted.lock.fencingToken),
      leaseExpiresAt: iso(granted.lock.expiresAtMs),
      account: granted.accounts.map(lockedAccount),
    };
  }

  /** All-or-none attempt, then FIFO waiting until granted or waitMs is over. */
  private async acquire(request: LockRequest, waitMs: number): Promise<Extract<LockResult, { kind: 'granted' }>> {
    const deadlineMs = Date.now() + waitMs;
    const ticket = new WaitTicket();
    // First come, first served: a newcomer does not overtake requests already waiting.
    let queuedAhead = this.waiters.firstQueued(request.accountIds);
    try {
      for (;;) {
        let blockedOn: StoredAccountId;
        let blockerExpiresInMs = Number.POSITIVE_INFINITY;
        if (queuedAhead === undefined) {
          const result = await this.store.lock(request);
          if (result.kind === 'granted') return result;
          blockedOn = result.accountId;
          blockerExpiresInMs = result.expiresInMs;
        } else {
          blockedOn = queuedAhead;
          queuedAhead = undefined;
        }
        const remainingMs = deadlineMs - Date.now();
        if (remainingMs <= 0) {
          throw fault('ACCOUNT_LOCKED', `account ${blockedOn} is locked by another request`, String(blockedOn));
        }
        await this.waiters.wait(ticket, blockedOn, remainingMs, blockerExpiresInMs);
      }
    } finally {
      this.waiters.leave(ticket);
    }
  }

  async read(args: Record<string, unknown>, ctx: OperationContext): Promise<Record<string, unknown>> {
    const accountIds = accountIdList(args);
    ctx.annotate({ accounts: accountIds });
    const states = await this.store.read(accountIds);
    return {
      account: states.map((s) => ({
        ...lockedAccount(s),
        locked: s.locked ? 'true' : 'false',
        ...(s.lockHolder !== undefined ? { lockHolder: s.lockHolder } : {}),
        ...(s.lockExpiresAtMs !== undefined ? { lockExpiresAt: iso(s.lockExpiresAtMs) } : {}),
      })),
    };
  }

  async update(args: Record<string, unknown>, ctx: OperationContext): Promise<Record<string, unknown>> {
    const lockId = parse.lockId(args);
    const fencingToken = parse.fencingToken(args);
    const transactionId = parse.transactionId(args);
    const postings = classifyPostings(postingsOf(args));
    const release = parse.optionalBoolean(args, 'release', false);
    ctx.annotate({
      transaction_id: transactionId,
      fencing_token: fencingToken,
      accounts: postings.map((p) => p.accountId),
      amounts: postings.map((p) => formatCents(p.amountCents)),
    });
    const result = await this.store.update({
      holder: ctx.principalId,
      lockId,
      fencingToken,
      transactionId,
      postings,
      release,
    });
    this.waiters.released(result.releasedAccountIds);
    ctx.annotate({ replayed: result.replayed, released: result.released });
    if (result.refusal !== undefined) throw refusalFault({ status: 'refused', ...result.refusal });
    return {
      transactionId: result.transactionId,
      replayed: result.replayed ? 'true' : 'false',
      released: result.released ? 'true' : 'false',
      account: result.accounts.map(lockedAccount),
    };
  }

  async unlock(args: Record<string, unknown>, ctx: OperationContext): Promise<Record<string, unknown>> {
    const lockId = parse.lockId(args);
    const result = await this.store.unlock(ctx.principalId, lockId);
    this.waiters.released(result.releasedAccountIds);
    ctx.annotate({ accounts: result.releasedAccountIds, released: result.released });
    return { released: result.released ? 'true' : 'false' };
  }

  async createAccount(args: Record<string, unknown>, ctx: OperationContext): Promise<Record<string, unknown>> {
    const ownerId = parse.ownerId(args);
    const transactionId = parse.transactionId(args);
    const initialBalanceCents =
      args.initialBalance === undefined ? parseBalance('0') : parseBalance(args.initialBalance);
    const accountsMax =
      args.accountsMax === undefined ? undefined : parse.optionalInt(args, 'accountsMax', 0, 1, 2_147_483_647);
    ctx.annotate({ owner: ownerId, transaction_id: transactionId, amount: formatCents(initialBalanceCents) });
    const result = await this.store.createAccount({ ownerId, transactionId, initialBalanceCents, accountsMax });
    ctx.annotate({ accounts: [result.accountId], replayed: result.replayed });
    return {
      accountId: String(result.accountId),
      balance: formatCents(result.balanceCents),
      replayed: result.replayed ? 'true' : 'false',
    };
  }

  async getJournal(args: Record<string, unknown>, ctx: OperationContext): Promise<Record<string, unknown>> {
    const id = parse.accountId(args.accountId);
    const query = journalQueryOf(args);
    ctx.annotate({ accounts: [id] });
    const { account, entries } = await this.store.journal(id, query);
    return {
      accountId: String(account.accountId),
      ownerId: account.ownerId,
      balance: formatCents(account.balanceCents),
      ...(entries.length > 0 ? { entry: entries.map(journalEntry) } : {}),
    };
  }
}
