import { expect } from 'chai';
import { BankRecord } from './helpers/bank-call';
import { textOf } from './helpers/data-call';
import { DataFixture, describeEachBackend, lockOf } from './helpers/data-server';

// SIGKILL the data server in the middle of a stream of concurrent transfers, restart it over the
// same store, and check the ledger: no half transaction, every account equal to the sum of its
// journal, every acknowledged transaction journaled exactly once, and a retry of each
// unacknowledged one (same transaction id) moving its money at most once.
const ACCOUNTS = 8;
const OPENING = '1000.00';
const OPENING_CENTS = 100_000;
const WORKERS = 6;
const ACKS_BEFORE_KILL = 60;

interface Transfer {
  readonly txId: string;
  readonly from: string;
  readonly to: string;
  readonly amount: string;
}

function centsOf(text: string): number {
  const m = /^(-?)([0-9]+)\.([0-9]{2})$/.exec(text);
  if (m === null) throw new Error(`not a 2-digit decimal: ${text}`);
  const cents = Number(m[2]) * 100 + Number(m[3]);
  return m[1] === '-' ? -cents : cents;
}

/** ACCOUNT_LOCKED is retryable: the retry pass below sends every transfer at once, on few accounts. */
const LOCK_TRIES_MAX = 5;

async function transferOnce(fx: DataFixture, t: Transfer): Promise<'applied' | 'refused' | 'replayed'> {
  let locked = await fx.lock([t.from, t.to], 'b1', { waitMs: 3000, leaseMs: 1000 });
  for (let tries = 1; locked.fault?.code === 'ACCOUNT_LOCKED' && tries < LOCK_TRIES_MAX; tries++) {
    locked = await fx.lock([t.from, t.to], 'b1', { waitMs: 3000, leaseMs: 1000 });
  }
  const lock = lockOf(locked);
  const r = await fx.update(
    lock,
    t.txId,
    [
      [t.from, `-${t.amount}`],
      [t.to, t.amount],
    ],
    'b1',
    true,
  );
  if (r.fault?.code === 'INSUFFICIENT_FUNDS') return 'refused';
  if (r.body === undefined) throw new Error(`Update ${t.txId}: ${JSON.stringify(r.fault)}`);
  return r.body.replayed === 'true' ? 'replayed' : 'applied';
}

interface Ledger {
  balances: Map<string, number>;
  versions: Map<string, number>;
  entries: Map<string, BankRecord[]>;
}

async function readLedger(fx: DataFixture, ids: readonly string[]): Promise<Ledger> {
  const state = await fx.balances(ids);
  const ledger: Ledger = { balances: new Map(), versions: new Map(), entries: new Map() };
  for (const id of ids) {
    ledger.balances.set(id, centsOf(state.get(id)!.balance));
    ledger.versions.set(id, Number(state.get(id)!.version));
    ledger.entries.set(id, await fx.journal(id, 1000));
  }
  return ledger;
}

/** The invariants of docs/ARCHITECTURE.md §3 over the whole ledger; returns the journal entries by transaction id. */
function checkInvariants(ledger: Ledger): Map<string, BankRecord[]> {
  let total = 0;
  const byTx = new Map<string, BankRecord[]>();
  for (const [id, balance] of ledger.balances) {
    expect(balance, `account ${id} negative`).to.be.at.least(0);
    total += balance;
    const entries = ledger.entries.get(id)!;
    expect(entries.length, `account ${id}: journal larger than one page`).to.be.below(1000);
    const sum = entries.reduce((acc, e) => acc + centsOf(textOf(e.amount)), 0);
    expect(sum, `account ${id}: balance ≠ sum of journal`).to.equal(balance);
    // Each posting bumped the version once (the opening did not).
    expect(ledger.versions.get(id), `account ${id}: version`).to.equal(
      entries.filter((e) => e.kind !== 'OPENING').length,
    );
    for (const e of entries)
      byTx.set(textOf(e.transactionId), [...(byTx.get(textOf(e.transactionId)) ?? []), { ...e, accountId: id }]);
  }
  expect(total, 'money created or destroyed').to.equal(ACCOUNTS * OPENING_CENTS);
  for (const [txId, entries] of byTx) {
    if (entries[0]!.kind === 'OPENING') continue;
    expect(entries.length, `${txId}: half a transfer`).to.equal(2);
    expect(entries.map((e) => e.kind).sort(), txId).to.deep.equal(['TRANSFER_IN', 'TRANSFER_OUT']);
    expect(
      entries.reduce((acc, e) => acc + centsOf(textOf(e.amount)), 0),
      `${txId}: does not sum to zero`,
    ).to.equal(0);
  }
  return byTx;
}

describeEachBackend('data server crash (SIGKILL mid-stream)', (fx: () => DataFixture) => {
  it('restarts with every account equal to its journal, no half transfer, every acknowledged transaction once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < ACCOUNTS; i++) ids.push(await fx().createAccount(OPENING, `owner${i}`));
    const attempted: Transfer[] = [];
    const acked = new Set<string>();
    let stop = false;
    let seq = 0;
    const worker = async (w: number): Promise<void> => {
      while (!stop) {
        const from = ids[(w + seq) % ACCOUNTS]!;
        const to = ids[(w + seq * 3 + 1) % ACCOUNTS]!;
        seq += 1;
        if (from === to) continue;
        const t: Transfer = {
          txId: fx().uniqueId(`x${w}`),
          from,
          to,
          amount: `${1 + (seq % 97)}.${String(seq % 100).padStart(2, '0')}`,
        };
        attempted.push(t);
        try {
          await transferOnce(fx(), t);
          acked.add(t.txId);
        } catch {
          return; // the server died under us: this transfer's outcome is unknown
        }
      }
    };
    let finished = 0;
    const running = Array.from({ length: WORKERS }, (_, w) =>
      worker(w).finally(() => {
        finished += 1;
      }),
    );
    const giveUpAt = Date.now() + 20_000;
    while (acked.size < ACKS_BEFORE_KILL && finished < WORKERS && Date.now() < giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(
      finished,
      `workers failed before the kill:\n${fx().proc.stderrTail().split('\n').slice(-5).join('\n')}`,
    ).to.equal(0);
    await fx().proc.kill('SIGKILL');
    stop = true;
    await Promise.all(running);
    const unknown = attempted.filter((t) => !acked.has(t.txId));
    expect(acked.size).to.be.at.least(ACKS_BEFORE_KILL);

    await fx().restart('SIGKILL');
    const byTx = checkInvariants(await readLedger(fx(), ids));
    // Acknowledged ⇒ journaled exactly once (or recorded as refused: then not journaled at all).
    for (const txId of acked) expect(byTx.get(txId)?.length ?? 0, txId).to.be.oneOf([0, 2]);
    const journaledAcks = [...acked].filter((txId) => byTx.has(txId)).length;
    expect(journaledAcks, 'acknowledged transfers in the journal').to.be.greaterThan(ACKS_BEFORE_KILL / 2);

    // Retrying every transfer (same ids) after the restart moves money at most once per id.
    const outcomes = await Promise.all(attempted.map((t) => transferOnce(fx(), t)));
    for (const [i, t] of attempted.entries()) {
      if (acked.has(t.txId)) expect(outcomes[i], t.txId).to.be.oneOf(['replayed', 'refused']);
    }
    const after = checkInvariants(await readLedger(fx(), ids));
    for (const t of attempted) expect(after.get(t.txId)?.length ?? 0, t.txId).to.be.oneOf([0, 2]);
    process.stderr.write(
      `      (${acked.size} acknowledged before SIGKILL, ${unknown.length} in flight; ${after.size - ACCOUNTS} transfers journaled)\n`,
    );
  });
});
