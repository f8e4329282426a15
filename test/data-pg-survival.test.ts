import { expect } from 'chai';
import { Client } from 'pg';
import { DataFixture, lockOf, postgresBackend, testDatabaseUrlOrSkip } from './helpers/data-server';
import { textOf } from './helpers/data-call';
import { ThrowawayPg, throwawayPgAvailable } from './helpers/pg-throwaway';
import { ifAssigned } from './helpers/if-assigned';

// The data server survives its database: backends terminated under load (pg_terminate_backend)
// and a real PostgreSQL restart (a throwaway cluster of this test's own, never the shared one).
// Requests in flight get SERVICE_UNAVAILABLE (retryable); the process never exits; the pool
// heals; the money adds up and every acknowledged transfer is in the journal exactly once.
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const ACCOUNTS = 8;
const WORKERS = 8;
const OPENING = '100.00';
const RETRYABLE = new Set(['SERVICE_UNAVAILABLE', 'ACCOUNT_LOCKED', 'LOCK_EXPIRED', 'LOCK_NOT_HELD']);

/** Transfers between random pairs until stopped; Update retried with the same transaction id. */
class TransferLoad {
  readonly acknowledged = new Set<string>();
  readonly faults = new Map<string, number>();
  private stopping = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly fx: DataFixture,
    private readonly accounts: readonly string[],
  ) {}

  start(): void {
    this.running = Promise.all(Array.from({ length: WORKERS }, () => this.worker())).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  private count(code: string): void {
    this.faults.set(code, (this.faults.get(code) ?? 0) + 1);
  }

  private async worker(): Promise<void> {
    while (!this.stopping) {
      const i = Math.floor(Math.random() * this.accounts.length);
      const j = (i + 1 + Math.floor(Math.random() * (this.accounts.length - 1))) % this.accounts.length;
      await this.transfer(this.accounts[i]!, this.accounts[j]!, this.fx.uniqueId('load'));
    }
  }

  /** Lock + Update(release) until acknowledged or stopped; never a second id for the same transfer. */
  private async transfer(from: string, to: string, tx: string): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const locked = await this.fx.lock([from, to], 'b1', { waitMs: 500, leaseMs: 500 }).catch(() => undefined);
      if (locked === undefined) {
        this.count('NETWORK_ERROR');
        if (this.stopping) return;
        await sleep(100);
        continue;
      }
      if (locked.fault !== undefined) {
        this.count(locked.fault.code);
        if (this.stopping) return;
        await sleep(20);
        continue;
      }
      const r = await this.fx
        .update(
          lockOf(locked),
          tx,
          [
            [from, '-0.01'],
            [to, '0.01'],
          ],
          'b1',
          true,
        )
        .catch(() => undefined);
      if (r === undefined) {
        this.count('NETWORK_ERROR');
        await sleep(100);
        continue;
      }
      if (r.fault === undefined) {
        this.acknowledged.add(tx);
        return;
      }
      this.count(r.fault.code);
      if (r.fault.code === 'INSUFFICIENT_FUNDS') return;
      await sleep(20);
    }
  }
}

async function openAccounts(fx: DataFixture): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < ACCOUNTS; i++) ids.push(await fx.createAccount(OPENING));
  return ids;
}

/** Sum unchanged, each statement adds up, each acknowledged transfer journaled exactly once. */
async function checkMoney(
  fx: DataFixture,
  accounts: readonly string[],
  acknowledged: ReadonlySet<string>,
): Promise<void> {
  const balances = await fx.balances(accounts);
  const toCents = (s: string): number => Math.round(Number(s) * 100);
  const total = accounts.reduce((sum, id) => sum + toCents(balances.get(id)!.balance), 0);
  expect(total).to.equal(accounts.length * toCents(OPENING));
  const seen = new Map<string, number>();
  for (const id of accounts) {
    const entries = await fx.journal(id);
    expect(
      entries.reduce((sum, e) => sum + toCents(textOf(e.amount)), 0),
      `account ${id}`,
    ).to.equal(toCents(balances.get(id)!.balance));
    for (const e of entries) seen.set(textOf(e.transactionId), (seen.get(textOf(e.transactionId)) ?? 0) + 1);
  }
  for (const tx of acknowledged) expect(seen.get(tx), tx).to.equal(2);
}

async function waitUntilServing(fx: DataFixture, account: string, withinMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const r = await fx.call('Read', [['accountId', account]]);
    if (r.fault === undefined) return Date.now() - started;
    expect(r.fault.code).to.equal('SERVICE_UNAVAILABLE');
    if (Date.now() - started > withinMs) throw new Error(`still ${r.fault.code} after ${withinMs} ms`);
    await sleep(25);
  }
}

function expectOnlyRetryable(load: TransferLoad): void {
  const unexpected = [...load.faults.keys()].filter((code) => !RETRYABLE.has(code));
  expect(unexpected, JSON.stringify([...load.faults])).to.deep.equal([]);
}

describe('data server over PostgreSQL: connections terminated under load', function () {
  let fx: DataFixture;
  let admin: Client;
  before(async function () {
    const url = testDatabaseUrlOrSkip(this);
    fx = await DataFixture.start(postgresBackend(url));
    admin = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    await admin.connect();
  });
  after(async () => {
    await ifAssigned(admin)?.end();
    await ifAssigned(fx)?.stop();
  });

  it('answers SERVICE_UNAVAILABLE for the requests in flight, keeps running, heals, loses nothing', async function () {
    this.timeout(30_000);
    const accounts = await openAccounts(fx);
    const load = new TransferLoad(fx, accounts);
    load.start();
    let terminated = 0;
    for (let round = 0; round < 5; round++) {
      await sleep(300);
      const r = await admin.query<{ n: string }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE $1`,
        [`distbank-data-${fx.proc.pid}%`],
      );
      terminated += Number(r.rows[0]!.n);
    }
    await sleep(300);
    await load.stop();
    expect(terminated, 'backends of the data server terminated').to.be.greaterThan(4);
    expect(fx.proc.child.exitCode, fx.proc.stderrTail()).to.equal(null);
    expect(await waitUntilServing(fx, accounts[0]!, 2000)).to.be.below(2000);
    expect(load.acknowledged.size).to.be.greaterThan(10);
    expectOnlyRetryable(load);
    await checkMoney(fx, accounts, load.acknowledged);
  });
});

describe('data server over PostgreSQL: the database restarts (a throwaway cluster)', function () {
  let pg: ThrowawayPg | undefined;
  let fx: DataFixture;
  before(async function () {
    this.timeout(60_000);
    testDatabaseUrlOrSkip(this);
    if (!throwawayPgAvailable()) {
      if (process.env.CI) throw new Error('initdb/pg_ctl of PostgreSQL 15 are missing under CI');
      this.skip();
    }
    pg = await ThrowawayPg.create();
    fx = await DataFixture.start(postgresBackend(pg.url));
  });
  after(async () => {
    await ifAssigned(fx)
      ?.stop()
      .catch(() => undefined);
    pg?.destroy();
  });

  it('stopped for 10 s under load: never exits, serves again within 2 s of the restart, loses nothing', async function () {
    this.timeout(60_000);
    const accounts = await openAccounts(fx);
    const load = new TransferLoad(fx, accounts);
    load.start();
    await sleep(500);
    pg!.stop();
    await sleep(10_000);
    expect(fx.proc.child.exitCode, fx.proc.stderrTail()).to.equal(null);
    const during = await fx.call('Read', [['accountId', accounts[0]!]]);
    expect(during.fault).to.deep.include({ code: 'SERVICE_UNAVAILABLE', retryable: true });
    pg!.start();
    const backWithinMs = await waitUntilServing(fx, accounts[0]!, 2000);
    await sleep(1000);
    await load.stop();
    process.stderr.write(
      `      (serving again ${backWithinMs} ms after PostgreSQL accepted connections; ${load.acknowledged.size} transfers acknowledged)\n`,
    );
    expect(backWithinMs).to.be.below(2000);
    expect(fx.proc.child.exitCode, fx.proc.stderrTail()).to.equal(null);
    expectOnlyRetryable(load);
    await checkMoney(fx, accounts, load.acknowledged);
  });
});
