import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { asCents } from '../common/money';
import { isServiceFault } from '../common/service-fault';
import { classifyPostings } from '../server/lock-rules';
import { dropSchema } from '../server/pg-schema-name';
import { PostgresStore } from '../server/postgres-store';
import { StoredAccountId, LockResult, UpdateRequest } from '../server/store';
import { testDatabaseUrlOrSkip } from './helpers/data-server';
import { ifAssigned } from './helpers/if-assigned';

/**
 * PostgreSQL group commit (server/pg-batcher.ts, bank_batch): the Lock / Update / Unlock calls of
 * one event-loop turn go to PostgreSQL as one transaction, yet each item keeps its own answer —
 * a refused item next to accepted ones, two items on one account applied in arrival order, and
 * a batch cut off by a lost connection failing every item with nothing half-applied.
 */
type Granted = Extract<LockResult, { kind: 'granted' }>;

describe('PostgreSQL group commit: one transaction per batch, one answer per item', function () {
  this.timeout(30_000);
  let url: string;
  let schema: string;
  let store: PostgresStore;
  let admin: Client;

  before(async function () {
    url = testDatabaseUrlOrSkip(this);
    admin = new Client({ connectionString: url });
    await admin.connect();
  });

  after(async () => {
    await ifAssigned(admin)?.end();
  });

  beforeEach(async () => {
    schema = `t_batch_${randomBytes(5).toString('hex')}`;
    store = await PostgresStore.open(url, schema, {
      poolSize: 4,
      batch: { itemsMax: 64, inFlightMax: 2, queuedMax: 1000 },
    });
  });

  afterEach(async () => {
    await admin.query('ROLLBACK'); // a failed test may leave the admin's transaction open
    await store.close();
    await dropSchema(url, schema);
  });

  async function open(cents: number): Promise<StoredAccountId> {
    const id = `open-${randomBytes(6).toString('hex')}`;
    return (await store.createAccount({ ownerId: 'o', transactionId: id, initialBalanceCents: asCents(cents) }))
      .accountId;
  }

  async function lock(accountIds: StoredAccountId[], holder = 'b1'): Promise<Granted> {
    const r = await store.lock({
      holder,
      accountIds,
      lockId: randomBytes(12).toString('hex'),
      leaseMs: 10_000,
      willWait: false,
    });
    if (r.kind !== 'granted') throw new Error(`not granted: ${JSON.stringify(r)}`);
    return r;
  }

  function transfer(
    l: Granted,
    from: StoredAccountId,
    to: StoredAccountId,
    cents: number,
    release = true,
  ): UpdateRequest {
    return {
      holder: l.lock.holder,
      lockId: l.lock.lockId,
      fencingToken: l.lock.fencingToken,
      transactionId: `t${randomBytes(8).toString('hex')}`,
      release,
      postings: classifyPostings([
        { accountId: from, amountCents: asCents(-cents) },
        { accountId: to, amountCents: asCents(cents) },
      ]),
    };
  }

  async function batches(): Promise<number> {
    return Number((await store.health()).pgBatches);
  }

  async function balances(ids: StoredAccountId[]): Promise<number[]> {
    return (await store.read(ids)).map((a) => a.balanceCents);
  }

  async function codeOf(p: Promise<unknown>): Promise<string> {
    try {
      await p;
      return 'OK';
    } catch (error) {
      return isServiceFault(error) ? error.code : `RAW ${String(error)}`;
    }
  }

  it('a refused item next to accepted ones: each hears its own answer, the others commit', async () => {
    const [a, b, c, d, e, f] = [
      await open(10_000),
      await open(0),
      await open(500),
      await open(0),
      await open(700),
      await open(0),
    ];
    const [la, lc, le] = [await lock([a, b]), await lock([c, d]), await lock([e, f])];
    const before = await batches();
    // One turn: an ordinary transfer, an overdraft, a stale token, and a Lock on held accounts.
    const ok = store.update(transfer(la, a, b, 2_500));
    const overdraft = store.update(transfer(lc, c, d, 501));
    const stale = store.update({ ...transfer(le, e, f, 100), fencingToken: le.lock.fencingToken + 1000 });
    const blocked = store.lock({ holder: 'b2', accountIds: [e], lockId: 'other', leaseMs: 1000, willWait: false });
    expect(await codeOf(ok)).to.equal('OK');
    expect((await overdraft).refusal?.code).to.equal('INSUFFICIENT_FUNDS'); // the service throws it
    expect(await codeOf(stale)).to.equal('STALE_FENCING_TOKEN');
    expect((await blocked).kind).to.equal('blocked');
    expect(await batches()).to.equal(before + 1, 'the four calls went to PostgreSQL as one batch');
    expect(await balances([a, b, c, d, e, f])).to.deep.equal([7_500, 2_500, 500, 0, 700, 0]);
  });

  it('two items on the same account in one batch apply in arrival order', async () => {
    const [a, b] = [await open(1_000), await open(0)];
    const l = await lock([a, b]);
    const before = await batches();
    // Two Updates under one lock on the same accounts, then a Lock that comes after the release.
    const first = store.update(transfer(l, a, b, 600, false));
    const second = store.update(transfer(l, a, b, 300, true));
    const after = store.lock({ holder: 'b2', accountIds: [a], lockId: 'next', leaseMs: 1000, willWait: false });
    const r1 = await first;
    const r2 = await second;
    expect(r1.accounts.map((x) => x.balanceCents)).to.deep.equal([400, 600]);
    expect(r2.accounts.map((x) => x.balanceCents)).to.deep.equal([100, 900]);
    expect(r2.released).to.equal(true);
    expect((await after).kind).to.equal('granted', 'the release before it in the batch freed the account');
    expect(await batches()).to.equal(before + 1);
    const journal = await store.journal(a, { limit: 10, kinds: undefined, beforeEntryId: undefined });
    expect(journal.entries.map((j) => j.balanceAfterCents)).to.deep.equal([100, 400, 1_000]);
    // And the other way round: two Locks on one account, the second after the first in the batch.
    const [c] = [await open(0)];
    const one = store.lock({ holder: 'b1', accountIds: [c], lockId: 'one', leaseMs: 1000, willWait: false });
    const two = store.lock({ holder: 'b2', accountIds: [c], lockId: 'two', leaseMs: 1000, willWait: false });
    expect([(await one).kind, (await two).kind]).to.deep.equal(['granted', 'blocked']);
  });

  /** Holds transaction id `tx` uncommitted on the admin connection: an Update writing it waits. */
  async function holdTransactionId(tx: string): Promise<void> {
    await admin.query('BEGIN');
    await admin.query(
      `INSERT INTO ${schema}.idempotency(transaction_id, fingerprint, outcome, at_ms) VALUES ($1, 'x', $2, 0)`,
      [tx, JSON.stringify({ status: 'refused', code: 'INSUFFICIENT_FUNDS', message: 'another writer' })],
    );
  }

  async function waitForBlockedBatch(): Promise<number> {
    for (let i = 0; i < 200; i++) {
      const r = await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [`distbank-data-${process.pid}`],
      );
      if (r.rows[0] !== undefined) return r.rows[0].pid;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the batch never waited');
  }

  it('a batch cut off by a lost connection: every item SERVICE_UNAVAILABLE, nothing half-applied', async () => {
    const [a, b, c, d] = [await open(1_000), await open(0), await open(1_000), await open(0)];
    const [l1, l2] = [await lock([a, b]), await lock([c, d])];
    const t1 = transfer(l1, a, b, 100);
    const t2 = transfer(l2, c, d, 200);
    await holdTransactionId(t2.transactionId);
    // t1 is applied inside the batch; t2 then waits for the admin's uncommitted row.
    const p1 = codeOf(store.update(t1));
    const p2 = codeOf(store.update(t2));
    const pid = await waitForBlockedBatch();
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    expect([await p1, await p2]).to.deep.equal(['SERVICE_UNAVAILABLE', 'SERVICE_UNAVAILABLE']);
    await admin.query('ROLLBACK');
    expect(await balances([a, b, c, d])).to.deep.equal([1_000, 0, 1_000, 0]);
    expect(await store.journalOfTransactions([t1.transactionId, t2.transactionId], 10)).to.deep.equal([]);
    // The pool heals; a retry with the same ids moves the money once.
    expect((await store.update(t1)).replayed).to.equal(false);
    expect((await store.update(t2)).replayed).to.equal(false);
    expect(await balances([a, b, c, d])).to.deep.equal([900, 100, 800, 200]);
  });

  it('a constraint error in a batch runs its items one by one: only the offending item fails', async () => {
    const [a, b, c, d] = [await open(1_000), await open(0), await open(1_000), await open(0)];
    const [l1, l2] = [await lock([a, b]), await lock([c, d])];
    const t1 = transfer(l1, a, b, 100);
    const t2 = transfer(l2, c, d, 200);
    await holdTransactionId(t2.transactionId);
    const p1 = codeOf(store.update(t1));
    const p2 = codeOf(store.update(t2));
    await waitForBlockedBatch();
    // Another writer commits t2's id first (as a second data server racing on it would): the
    // batch hits the unique constraint and rolls back as a whole.
    await admin.query('COMMIT');
    expect([await p1, await p2]).to.deep.equal(['OK', 'REQUEST_ID_CONFLICT']);
    expect(await balances([a, b, c, d])).to.deep.equal([900, 100, 1_000, 0]);
    expect(store.retries).to.equal(0);
  });

  it('an Update alone in its batch that loses a race on its transaction id hears the winner, not a raw error', async () => {
    const [a, b] = [await open(1_000), await open(0)];
    const t = transfer(await lock([a, b]), a, b, 100);
    await holdTransactionId(t.transactionId);
    const answer = codeOf(store.update(t));
    await waitForBlockedBatch();
    await admin.query('COMMIT'); // the other writer wins: unique violation inside the batch
    expect(await answer).to.equal('REQUEST_ID_CONFLICT');
    expect(await balances([a, b])).to.deep.equal([1_000, 0]);
  });

  it('a database of the older layout (lock_accounts) keeps its live locks when a data server of this version starts', async () => {
    const [a, b] = [await open(100), await open(0)];
    // The older layout: which lock holds an account was a row of lock_accounts.
    await admin.query(`SET search_path TO ${schema}`);
    await admin.query(`ALTER TABLE accounts DROP COLUMN lock_id;
      CREATE TABLE lock_accounts (account_id BIGINT PRIMARY KEY REFERENCES accounts(id),
        lock_id TEXT NOT NULL REFERENCES locks(lock_id) ON DELETE CASCADE);
      INSERT INTO locks(lock_id, holder, fencing_token, expires_at_ms, accounts)
        VALUES ('old-lock', 'b1', nextval('fencing_seq'), bank_now_ms() + 60000, '${a},${b}');
      INSERT INTO lock_accounts VALUES (${a}, 'old-lock'), (${b}, 'old-lock');`);
    await admin.query('SET search_path TO public');
    await store.close();
    store = await PostgresStore.open(url, schema, {
      poolSize: 2,
      batch: { itemsMax: 64, inFlightMax: 2, queuedMax: 1000 },
    });
    const blocked = await store.lock({ holder: 'b2', accountIds: [b], lockId: 'new', leaseMs: 1000, willWait: false });
    expect(blocked.kind).to.equal('blocked');
    expect((await store.read([a, b])).map((x) => x.lockHolder)).to.deep.equal(['b1', 'b1']);
    const tables = await admin.query('SELECT to_regclass($1) AS t', [`${schema}.lock_accounts`]);
    expect(tables.rows[0]).to.deep.equal({ t: null });
    expect((await store.unlock('b1', 'old-lock')).released).to.equal(true);
    expect(
      (await store.lock({ holder: 'b2', accountIds: [b], lockId: 'new', leaseMs: 1000, willWait: false })).kind,
    ).to.equal('granted');
  });
});
