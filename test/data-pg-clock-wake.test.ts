import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { Client } from 'pg';
import { callData, DataArgPair } from './helpers/data-call';
import {
  DataBackend,
  DataFixture,
  lockOf,
  postgresBackend,
  startDataServer,
  testDatabaseUrlOrSkip,
} from './helpers/data-server';
import { RunningProcess } from './helpers/process';
import { ifAssigned } from './helpers/if-assigned';

// Two data servers over one PostgreSQL schema:
//  - one runs 5 s ahead (Debian's libfaketime): leases are timed by the database's clock, so
//    the servers agree on every lease — no second holder, no early or late expiry;
//  - a release on one server wakes the waiter on the other at once (LISTEN/NOTIFY), though the
//    poll interval is 5 s, also after the listening connection was killed and came back.
const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const SKEW = { LD_PRELOAD: FAKETIME_LIB, FAKETIME: '+5s' };
const POLL_MS = '5000';
/** Well under the 5 s poll, with room for a loaded machine (a release call plus a Lock). */
const WOKEN_MS_MAX = 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('two data servers over one PostgreSQL: clocks 5 s apart, wake-ups across servers', function () {
  this.timeout(15_000);
  let fx: DataFixture;
  let ahead: RunningProcess;
  let backend: DataBackend;
  let url: string;
  before(async function () {
    url = testDatabaseUrlOrSkip(this);
    if (!existsSync(FAKETIME_LIB)) {
      if (process.env.CI) throw new Error(`${FAKETIME_LIB} is missing under CI (apt-get install faketime)`);
      this.skip();
    }
    backend = postgresBackend(url);
    fx = await DataFixture.start(backend, { BANK_LOCK_POLL_MS: POLL_MS });
    ahead = await startDataServer(backend, fx.credentials, { ...SKEW, BANK_LOCK_POLL_MS: POLL_MS });
  });
  after(async () => {
    await ifAssigned(ahead)?.kill('SIGTERM');
    await ifAssigned(fx)?.stop();
  });

  const viaAhead = (op: string, args: readonly DataArgPair[], who: 'b1' | 'b2' = 'b2') =>
    callData(ahead.url, op, args, fx.credentials[who]);

  it('the skewed server really runs ahead (its lease expiry instants are in its own future)', async () => {
    const a = await fx.createAccount('1.00');
    const r = await viaAhead('Lock', [
      ['accountId', a],
      ['leaseMs', '1000'],
    ]);
    const header = await fetch(ahead.url.replace(/\/data$/, '/health'));
    const skewMs = Date.parse(header.headers.get('date') ?? '') - Date.now();
    expect(skewMs, 'HTTP Date of the faked server').to.be.above(3000);
    await viaAhead('Unlock', [['lockId', lockOf(r).lockId]]);
  });

  it('a lease taken on the normal server is live on the one 5 s ahead: no second holder, no early LOCK_EXPIRED', async () => {
    const [a, b] = [await fx.createAccount('10.00'), await fx.createAccount('0.00')];
    const held = lockOf(await fx.lock([a, b], 'b1', { leaseMs: 2000 }));
    const second = await viaAhead('Lock', [
      ['accountId', a],
      ['waitMs', '0'],
    ]);
    expect(second.fault?.code, 'a second holder').to.equal('ACCOUNT_LOCKED');
    const update = await callData(
      ahead.url,
      'Update',
      [
        ['lockId', held.lockId],
        ['fencingToken', held.fencingToken],
        ['transactionId', fx.uniqueId('skew')],
        [
          'posting',
          [
            [
              ['accountId', a],
              ['amount', '-1.00'],
            ],
            [
              ['accountId', b],
              ['amount', '1.00'],
            ],
          ],
        ],
        ['release', 'true'],
      ],
      fx.credentials.b1,
    );
    expect(update.fault, 'the holder writes through the skewed server within its lease').to.equal(undefined);
  });

  it('a lease taken on the server 5 s ahead ends on time for the normal one (not 5 s late)', async () => {
    const a = await fx.createAccount('1.00');
    await viaAhead('Lock', [
      ['accountId', a],
      ['leaseMs', '1000'],
    ]);
    const started = Date.now();
    const got = await fx.lock([a], 'b1', { waitMs: 4000 });
    const waitedMs = Date.now() - started;
    expect(got.fault).to.equal(undefined);
    expect(waitedMs).to.be.within(700, 2000);
    await fx.ok('Unlock', [['lockId', lockOf(got).lockId]]);
  });

  async function wokenWithinMs(
    release: (held: { lockId: string; fencingToken: string }, a: string, b: string) => Promise<unknown>,
  ): Promise<number> {
    const [a, b] = [await fx.createAccount('5.00'), await fx.createAccount('0.00')];
    const held = lockOf(await fx.lock([a, b], 'b1', { leaseMs: 10_000 }));
    const waiting = viaAhead('Lock', [
      ['accountId', a],
      ['waitMs', '4000'],
    ]);
    await sleep(300); // the waiter is queued on the other server (and marked the lock)
    const releasedAt = Date.now();
    await release(held, a, b);
    const got = await waiting;
    const wokenMs = Date.now() - releasedAt;
    process.stderr.write(`      (woken ${wokenMs} ms after the release call began; poll interval ${POLL_MS} ms)\n`);
    expect(got.fault, JSON.stringify(got.fault)).to.equal(undefined);
    await viaAhead('Unlock', [['lockId', lockOf(got).lockId]]);
    return wokenMs;
  }

  it('an Unlock on one server wakes the waiter on the other well before the 5 s poll', async () => {
    expect(await wokenWithinMs((held) => fx.ok('Unlock', [['lockId', held.lockId]]))).to.be.below(WOKEN_MS_MAX);
  });

  it('an Update with release=true on one server wakes the waiter on the other at once', async () => {
    const ms = await wokenWithinMs((held, a, b) =>
      fx.update(
        held,
        fx.uniqueId('wake'),
        [
          [a, '-1.00'],
          [b, '1.00'],
        ],
        'b1',
        true,
      ),
    );
    expect(ms).to.be.below(WOKEN_MS_MAX);
  });

  it('the listening connection comes back after its backend is terminated', async function () {
    this.timeout(20_000);
    const admin = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    await admin.connect();
    try {
      const r = await admin.query<{ n: string }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = $1`,
        [`distbank-data-${ahead.pid}`],
      );
      expect(Number(r.rows[0]!.n)).to.be.at.least(1);
    } finally {
      await admin.end();
    }
    await sleep(1000);
    expect(await wokenWithinMs((held) => fx.ok('Unlock', [['lockId', held.lockId]]))).to.be.below(WOKEN_MS_MAX);
  });
});
