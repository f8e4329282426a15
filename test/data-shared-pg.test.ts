import { expect } from 'chai';
import { callData, recordsOf, textOf } from './helpers/data-call';
import { DataBackend, DataFixture, lockOf, postgresBackend, startDataServer } from './helpers/data-server';
import { RunningProcess } from './helpers/process';
import { ifAssigned } from './helpers/if-assigned';

// Two data servers over ONE PostgreSQL schema (the scale-out of docs/ARCHITECTURE.md §1): locks, fencing and
// idempotency live in the database, so the servers exclude each other; a waiter on one server
// notices a release made on the other (by polling) well within its wait.
describe('two data servers sharing one PostgreSQL database', function () {
  let fx: DataFixture;
  let other: RunningProcess;
  let backend: DataBackend;
  before(async function () {
    const url = process.env.TEST_DATABASE_URL;
    if (url === undefined || url === '') {
      if (process.env.CI) throw new Error('TEST_DATABASE_URL is not set under CI: the PostgreSQL suite must run there');
      this.skip();
    }
    backend = postgresBackend(url);
    fx = await DataFixture.start(backend);
    other = await startDataServer(backend, fx.credentials);
  });
  after(async () => {
    await ifAssigned(other)?.kill('SIGTERM');
    await ifAssigned(fx)?.stop();
  });

  const viaOther = (op: string, args: Parameters<typeof callData>[2], who: 'b1' | 'b2') =>
    callData(other.url, op, args, fx.credentials[who]);

  it('concurrent Locks through different servers on overlapping accounts never both succeed', async () => {
    const [a, b, c] = [await fx.createAccount('1.00'), await fx.createAccount('1.00'), await fx.createAccount('1.00')];
    for (let round = 0; round < 20; round++) {
      const [r1, r2] = await Promise.all([fx.lock([a, b], 'b1'), viaOther('Lock', [['accountId', [b, c]]], 'b2')]);
      const granted = [r1, r2].filter((r) => r.body !== undefined);
      expect(granted.length, `round ${round}`).to.equal(1);
      if (r1.body !== undefined) await fx.ok('Unlock', [['lockId', lockOf(r1).lockId]], 'b1');
      else await viaOther('Unlock', [['lockId', lockOf(r2).lockId]], 'b2');
    }
  });

  it('a waiter on one server gets the lock soon after the holder unlocks on the other', async () => {
    const a = await fx.createAccount('1.00');
    const held = lockOf(await fx.lock([a], 'b1', { leaseMs: 10_000 }));
    const waiting = viaOther(
      'Lock',
      [
        ['accountId', a],
        ['waitMs', '3000'],
      ],
      'b2',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const releasedAt = Date.now();
    await fx.ok('Unlock', [['lockId', held.lockId]]);
    const got = await waiting;
    expect(got.fault).to.equal(undefined);
    expect(Date.now() - releasedAt).to.be.below(1000);
    expect(Number(lockOf(got).fencingToken)).to.be.greaterThan(Number(held.fencingToken));
    await viaOther('Unlock', [['lockId', lockOf(got).lockId]], 'b2');
  });

  it('the same Update through both servers at once moves money exactly once', async () => {
    const [a, b] = [await fx.createAccount('10.00'), await fx.createAccount('0.00')];
    const lock = lockOf(await fx.lock([a, b]));
    const tx = fx.uniqueId('both');
    const args = [
      ['lockId', lock.lockId],
      ['fencingToken', lock.fencingToken],
      ['transactionId', tx],
      [
        'posting',
        [
          [
            ['accountId', a],
            ['amount', '-3.00'],
          ],
          [
            ['accountId', b],
            ['amount', '3.00'],
          ],
        ],
      ],
    ] as const;
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => fx.call('Update', args)),
      ...Array.from({ length: 4 }, () => viaOther('Update', args, 'b1')),
    ]);
    expect(results.map((r) => r.fault?.code)).to.deep.equal(Array(8).fill(undefined));
    expect(results.filter((r) => r.body?.replayed === 'false')).to.have.length(1);
    const state = await fx.balances([a, b]);
    expect([state.get(a)?.balance, state.get(b)?.balance]).to.deep.equal(['7.00', '3.00']);
    expect(
      recordsOf((await fx.ok('GetJournal', [['accountId', b]])).entry).map((e) => textOf(e.transactionId)),
    ).to.deep.equal([tx]);
    await fx.ok('Unlock', [['lockId', lock.lockId]]);
  });
});
