import { expect } from 'chai';
import { asCents } from '../common/money';
import { isServiceFault } from '../common/service-fault';
import {
  checkWriteAuthority,
  classifyPostings,
  createFingerprint,
  isLeaseLive,
  matchReplay,
  normalizeAccountIds,
  planCreateReplay,
  planLock,
  planPostings,
  planUnlock,
  planUpdateReplay,
  replayReleases,
  updateFingerprint,
} from '../server/lock-rules';
import { LockWaiters, WaitTicket } from '../server/lock-waiters';
import { AccountRow, LockRow, StoredPosting } from '../server/store';

function codeOf(run: () => void): string {
  try {
    run();
  } catch (error) {
    if (isServiceFault(error)) return error.code;
    throw error;
  }
  return 'NO_FAULT';
}

const NOW = 1_000_000;
function account(id: number, balance: number, version = 0): AccountRow {
  return { accountId: id, ownerId: `o${id}`, balanceCents: asCents(balance), version };
}
function lock(partial: Partial<LockRow> = {}): LockRow {
  return { lockId: 'L1', holder: 'b1', fencingToken: 7, expiresAtMs: NOW + 1000, accountIds: [1, 2], ...partial };
}
function posting(accountId: number, cents: number): StoredPosting {
  return { accountId, amountCents: asCents(cents) };
}
const ACCOUNTS = new Map([1, 2, 3].map((id) => [id, account(id, 1000)]));

describe('lock rules (pure): leases, all-or-none locking, fencing, postings, replays', () => {
  it('a lease is live strictly before its expiry instant', () => {
    expect(isLeaseLive({ expiresAtMs: NOW + 1 }, NOW)).to.equal(true);
    expect(isLeaseLive({ expiresAtMs: NOW }, NOW)).to.equal(false);
    expect(isLeaseLive({ expiresAtMs: NOW - 1 }, NOW)).to.equal(false);
  });

  it('account ids are deduplicated, sorted ascending (one global order), 1..max', () => {
    expect(normalizeAccountIds([10, 2, 10, 9], 16)).to.deep.equal([2, 9, 10]);
    expect(codeOf(() => normalizeAccountIds([], 16))).to.equal('INVALID_REQUEST');
    expect(codeOf(() => normalizeAccountIds([1, 2, 3], 2))).to.equal('INVALID_REQUEST');
  });

  describe('planLock', () => {
    it('grants when no lease covers the accounts', () => {
      expect(planLock([1, 2], ACCOUNTS, [], NOW)).to.deep.equal({ kind: 'grant', expiredLockIds: [] });
    });
    it('an unknown account fails the whole lock with ACCOUNT_NOT_FOUND naming the lowest missing id', () => {
      expect(codeOf(() => planLock([1, 5, 4], ACCOUNTS, [], NOW))).to.equal('ACCOUNT_NOT_FOUND');
      expect(() => planLock([1, 4, 5], ACCOUNTS, [], NOW))
        .to.throw()
        .with.property('accountId', '4');
    });
    it('a live lease on any requested account blocks all of them (lowest held id reported)', () => {
      const plan = planLock([1, 2, 3], ACCOUNTS, [lock({ accountIds: [2, 3], expiresAtMs: NOW + 5 })], NOW);
      expect(plan).to.deep.equal({ kind: 'blocked', accountId: 2, expiresInMs: 5 });
    });
    it('a lease held by the SAME business server still blocks (locks are not re-entrant)', () => {
      expect(planLock([1], ACCOUNTS, [lock({ holder: 'b1' })], NOW).kind).to.equal('blocked');
    });
    it('expired leases count as free and are returned for deletion', () => {
      const plan = planLock([1, 2], ACCOUNTS, [lock({ expiresAtMs: NOW })], NOW);
      expect(plan).to.deep.equal({ kind: 'grant', expiredLockIds: ['L1'] });
    });
  });

  describe('checkWriteAuthority: lock → holder → lease → token → coverage', () => {
    it('passes for the holder with a live lease and the current token on covered accounts', () => {
      expect(codeOf(() => checkWriteAuthority(lock(), 'b1', 7, [1, 2], NOW))).to.equal('NO_FAULT');
    });
    it('refuses an unknown lock and another holder with LOCK_NOT_HELD', () => {
      expect(codeOf(() => checkWriteAuthority(undefined, 'b1', 7, [1], NOW))).to.equal('LOCK_NOT_HELD');
      expect(codeOf(() => checkWriteAuthority(lock(), 'b2', 7, [1], NOW))).to.equal('LOCK_NOT_HELD');
    });
    it('refuses after expiry with LOCK_EXPIRED, even with the right token', () => {
      expect(codeOf(() => checkWriteAuthority(lock({ expiresAtMs: NOW }), 'b1', 7, [1], NOW))).to.equal('LOCK_EXPIRED');
    });
    it('refuses an older or newer token with STALE_FENCING_TOKEN', () => {
      expect(codeOf(() => checkWriteAuthority(lock(), 'b1', 6, [1], NOW))).to.equal('STALE_FENCING_TOKEN');
      expect(codeOf(() => checkWriteAuthority(lock(), 'b1', 8, [1], NOW))).to.equal('STALE_FENCING_TOKEN');
    });
    it('refuses a posting on an account outside the lock with LOCK_NOT_HELD', () => {
      expect(codeOf(() => checkWriteAuthority(lock(), 'b1', 7, [1, 3], NOW))).to.equal('LOCK_NOT_HELD');
    });
  });

  describe('classifyPostings', () => {
    it('one posting: deposit (+) or withdrawal (−)', () => {
      expect(classifyPostings([posting(1, 5)])[0]!.kind).to.equal('DEPOSIT');
      expect(classifyPostings([posting(1, -5)])[0]!.kind).to.equal('WITHDRAWAL');
    });
    it('two postings on distinct accounts summing to zero: a transfer with counterparties', () => {
      const [out, into] = classifyPostings([posting(2, 5), posting(1, -5)]);
      expect(out).to.deep.include({ accountId: 1, kind: 'TRANSFER_OUT', counterpartyAccountId: 2 });
      expect(into).to.deep.include({ accountId: 2, kind: 'TRANSFER_IN', counterpartyAccountId: 1 });
    });
    it('each classified posting is the posting, its kind and its counterparty: nothing else, in that order', () => {
      const all = [...classifyPostings([posting(2, 5), posting(1, -5)]), ...classifyPostings([posting(3, -7)])];
      expect(all).to.deep.equal([
        { accountId: 1, amountCents: -5, kind: 'TRANSFER_OUT', counterpartyAccountId: 2 },
        { accountId: 2, amountCents: 5, kind: 'TRANSFER_IN', counterpartyAccountId: 1 },
        { accountId: 3, amountCents: -7, kind: 'WITHDRAWAL' },
      ]);
      expect(all.map((p) => Object.keys(p).join())).to.deep.equal([
        'accountId,amountCents,kind,counterpartyAccountId',
        'accountId,amountCents,kind,counterpartyAccountId',
        'accountId,amountCents,kind',
      ]);
    });
    it('refuses unbalanced pairs, the same account twice, and 3+ postings', () => {
      expect(codeOf(() => classifyPostings([posting(1, -5), posting(2, 4)]))).to.equal('INVALID_REQUEST');
      expect(codeOf(() => classifyPostings([posting(1, -5), posting(1, 5)]))).to.equal('INVALID_REQUEST');
      expect(codeOf(() => classifyPostings([posting(1, -5), posting(2, 3), posting(3, 2)]))).to.equal(
        'INVALID_REQUEST',
      );
      expect(codeOf(() => classifyPostings([]))).to.equal('INVALID_REQUEST');
    });
  });

  describe('planPostings: all or nothing', () => {
    it('applies a transfer: balances, versions + 1, one journal row per posting', () => {
      const plan = planPostings('t1', classifyPostings([posting(1, -300), posting(2, 300)]), ACCOUNTS, NOW);
      expect(plan.kind).to.equal('apply');
      if (plan.kind !== 'apply') return;
      expect(plan.accounts.map((a) => [a.accountId, a.balanceCents, a.version])).to.deep.equal([
        [1, 700, 1],
        [2, 1300, 1],
      ]);
      expect(plan.journal.map((j) => [j.accountId, j.amountCents, j.balanceAfterCents, j.kind])).to.deep.equal([
        [1, -300, 700, 'TRANSFER_OUT'],
        [2, 300, 1300, 'TRANSFER_IN'],
      ]);
    });
    it('an overdraw on either side refuses the whole transfer with INSUFFICIENT_FUNDS (nothing planned)', () => {
      const plan = planPostings('t1', classifyPostings([posting(2, 1001), posting(1, -1001)]), ACCOUNTS, NOW);
      expect(plan).to.deep.include({ kind: 'refuse' });
      if (plan.kind === 'refuse') expect(plan.outcome).to.deep.include({ code: 'INSUFFICIENT_FUNDS', accountId: '1' });
    });
    it('a withdrawal of exactly the balance leaves zero', () => {
      const plan = planPostings('t1', classifyPostings([posting(1, -1000)]), ACCOUNTS, NOW);
      expect(plan.kind === 'apply' && plan.accounts[0]!.balanceCents).to.equal(0);
    });
    it('a credit beyond BALANCE_CENTS_MAX is refused with INVALID_AMOUNT', () => {
      const rich = new Map([[1, account(1, 1_000_000_000_000_000)]]);
      const plan = planPostings('t1', classifyPostings([posting(1, 1)]), rich, NOW);
      expect(plan.kind === 'refuse' && plan.outcome.code).to.equal('INVALID_AMOUNT');
    });
  });

  describe('replays', () => {
    it('the fingerprint is a set: posting order does not matter, amounts and accounts do', () => {
      expect(updateFingerprint([posting(1, -5), posting(2, 5)])).to.equal(
        updateFingerprint([posting(2, 5), posting(1, -5)]),
      );
      expect(updateFingerprint([posting(1, -5), posting(2, 5)])).not.to.equal(
        updateFingerprint([posting(1, -6), posting(2, 6)]),
      );
      expect(updateFingerprint([posting(1, -5), posting(2, 5)])).not.to.equal(
        updateFingerprint([posting(1, -5), posting(3, 5)]),
      );
    });
    it('same content replays the recorded outcome; other content is REQUEST_ID_CONFLICT', () => {
      const outcome = { status: 'applied', accounts: [account(1, 5)] } as const;
      const record = { transactionId: 't1', fingerprint: 'update|1:5', outcome };
      expect(matchReplay(undefined, 'update|1:5')).to.equal(undefined);
      expect(matchReplay(record, 'update|1:5')).to.equal(outcome);
      expect(codeOf(() => matchReplay(record, 'update|1:6'))).to.equal('REQUEST_ID_CONFLICT');
    });
    it("a replay releases only the caller's own lock with the current token", () => {
      expect(replayReleases(lock(), 'b1', 7, true)).to.equal(true);
      expect(replayReleases(lock(), 'b1', 7, false)).to.equal(false);
      expect(replayReleases(lock(), 'b2', 7, true)).to.equal(false);
      expect(replayReleases(lock(), 'b1', 6, true)).to.equal(false);
      expect(replayReleases(undefined, 'b1', 7, true)).to.equal(false);
    });
  });

  describe('planReplay (Update and CreateAccount): the stores only read the record and do what it says', () => {
    const applied = { status: 'applied', accounts: [account(1, 5)] } as const;
    const refused = {
      status: 'refused',
      code: 'INSUFFICIENT_FUNDS',
      message: 'account 1 has insufficient funds',
      accountId: '1',
    } as const;
    const created = { status: 'created', accountId: 9, balanceCents: asCents(100) } as const;
    const fp = updateFingerprint([posting(1, 5)]);
    const asks = { holder: 'b1', fencingToken: 7, release: true };
    it('no record: a fresh request', () => {
      expect(planUpdateReplay(undefined, fp, lock(), asks)).to.equal(undefined);
      expect(planCreateReplay(undefined, createFingerprint('alice', asCents(100)))).to.equal(undefined);
    });
    it("an applied record replays its accounts and releases the caller's current lock only", () => {
      const record = { transactionId: 't1', fingerprint: fp, outcome: applied };
      expect(planUpdateReplay(record, fp, lock(), asks)).to.deep.equal({
        status: 'applied',
        accounts: applied.accounts,
        releaseLock: true,
      });
      expect(planUpdateReplay(record, fp, lock(), { ...asks, fencingToken: 6 })).to.deep.include({
        releaseLock: false,
      });
      expect(planUpdateReplay(record, fp, lock(), { ...asks, holder: 'b2' })).to.deep.include({ releaseLock: false });
      expect(planUpdateReplay(record, fp, undefined, asks)).to.deep.include({ releaseLock: false });
      expect(planUpdateReplay(record, fp, lock(), { ...asks, release: false })).to.deep.include({ releaseLock: false });
    });
    it('a refused record replays the same refusal (code, message, account)', () => {
      const record = { transactionId: 't1', fingerprint: fp, outcome: refused };
      expect(planUpdateReplay(record, fp, lock(), asks)).to.deep.equal({
        status: 'refused',
        refusal: { code: 'INSUFFICIENT_FUNDS', message: refused.message, accountId: '1' },
        releaseLock: true,
      });
    });
    it('other content, or the id of the other operation, is REQUEST_ID_CONFLICT', () => {
      const record = { transactionId: 't1', fingerprint: fp, outcome: applied };
      expect(codeOf(() => planUpdateReplay(record, updateFingerprint([posting(1, 6)]), lock(), asks))).to.equal(
        'REQUEST_ID_CONFLICT',
      );
      expect(codeOf(() => planCreateReplay(record, createFingerprint('alice', asCents(5))))).to.equal(
        'REQUEST_ID_CONFLICT',
      );
      const createRecord = {
        transactionId: 't2',
        fingerprint: createFingerprint('alice', asCents(100)),
        outcome: created,
      };
      expect(codeOf(() => planUpdateReplay(createRecord, fp, lock(), asks))).to.equal('REQUEST_ID_CONFLICT');
      expect(codeOf(() => planCreateReplay(createRecord, createFingerprint('bob', asCents(100))))).to.equal(
        'REQUEST_ID_CONFLICT',
      );
    });
    it('a created record replays the account made the first time', () => {
      const createRecord = {
        transactionId: 't2',
        fingerprint: createFingerprint('alice', asCents(100)),
        outcome: created,
      };
      expect(planCreateReplay(createRecord, createFingerprint('alice', asCents(100)))).to.deep.equal({
        accountId: 9,
        balanceCents: 100,
      });
    });
  });

  it('planUnlock: holder only; unknown is already released', () => {
    expect(planUnlock(undefined, 'b1', NOW)).to.equal('absent');
    expect(planUnlock(lock(), 'b1', NOW)).to.equal('delete-live');
    expect(planUnlock(lock({ expiresAtMs: NOW }), 'b1', NOW)).to.equal('delete-expired');
    expect(codeOf(() => planUnlock(lock(), 'b2', NOW))).to.equal('LOCK_NOT_HELD');
  });
});

describe('lock waiters: bounded FIFO queues', () => {
  it('wakes the head first, then the next when the head leaves', async () => {
    const waiters = new LockWaiters(10, 10_000);
    const [a, b] = [new WaitTicket(), new WaitTicket()];
    const order: string[] = [];
    const pa = waiters.wait(a, 1, 10_000, Number.POSITIVE_INFINITY).then(() => order.push('a'));
    const pb = waiters.wait(b, 1, 10_000, Number.POSITIVE_INFINITY).then(() => order.push('b'));
    expect(waiters.firstQueued([3, 1])).to.equal(1);
    waiters.released([1]);
    await pa;
    expect(order).to.deep.equal(['a']);
    waiters.leave(a); // the head acquired or gave up: the next one re-tries
    await pb;
    expect(order).to.deep.equal(['a', 'b']);
    waiters.leave(b);
    expect(waiters.count()).to.equal(0);
    expect(waiters.firstQueued([1])).to.equal(undefined);
  });

  it('refuses a waiter beyond the per-account bound with ACCOUNT_LOCKED (retryable)', () => {
    const waiters = new LockWaiters(2, 10_000);
    const tickets = [new WaitTicket(), new WaitTicket(), new WaitTicket()];
    void waiters.wait(tickets[0]!, 1, 50, Number.POSITIVE_INFINITY);
    void waiters.wait(tickets[1]!, 1, 50, Number.POSITIVE_INFINITY);
    let code = 'NO_FAULT';
    try {
      void waiters.wait(tickets[2]!, 1, 50, Number.POSITIVE_INFINITY);
    } catch (error) {
      code = isServiceFault(error) && error.retryable ? error.code : 'WRONG';
    }
    expect(code).to.equal('ACCOUNT_LOCKED');
    tickets.forEach((t) => waiters.leave(t));
  });

  it('a release that reaches a busy head is not lost', async () => {
    const waiters = new LockWaiters(10, 10_000);
    const t = new WaitTicket();
    const first = waiters.wait(t, 1, 10_000, Number.POSITIVE_INFINITY);
    waiters.released([1]);
    await first;
    waiters.released([1]); // arrives while the head is re-trying (not waiting)
    const started = Date.now();
    await waiters.wait(t, 1, 10_000, Number.POSITIVE_INFINITY);
    expect(Date.now() - started).to.be.below(100);
    waiters.leave(t);
  });

  it("a head re-tries at the blocking lease's expiry", async () => {
    const waiters = new LockWaiters(10, 10_000);
    const t = new WaitTicket();
    const started = Date.now();
    await waiters.wait(t, 1, 10_000, 50);
    expect(Date.now() - started).to.be.within(40, 500);
    waiters.leave(t);
  });
});

describe('accountStates (Read): lock state from live leases only', () => {
  it('reports the holder of a live lease, nothing for an expired one, and ACCOUNT_NOT_FOUND for a missing id', async () => {
    const { accountStates } = await import('../server/lock-rules');
    const accounts = [account(1, 10), account(2, 20)];
    const states = accountStates(
      [1, 2],
      accounts,
      [lock({ accountIds: [1] }), lock({ lockId: 'L0', accountIds: [2], expiresAtMs: NOW })],
      NOW,
    );
    expect(states[0]).to.deep.include({ accountId: 1, locked: true, lockHolder: 'b1', lockExpiresAtMs: NOW + 1000 });
    expect(states[1]).to.deep.include({ accountId: 2, locked: false });
    expect(states[1]).not.to.have.property('lockHolder');
    expect(codeOf(() => accountStates([1, 3], accounts, [], NOW))).to.equal('ACCOUNT_NOT_FOUND');
  });
});
