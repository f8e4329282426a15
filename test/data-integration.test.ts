import { expect } from 'chai';
import { healthDetails } from './helpers/admin';
import { callData, postData, dataEnvelope, textOf, recordsOf } from './helpers/data-call';
import { DataFixture, describeEachBackend, lockOf } from './helpers/data-server';

// The data server as a real process on port 0, over SQLite and over PostgreSQL: every rule of
// issue 2 §3 through the wire. Each test creates its own accounts, so tests share one server.
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachBackend(
  'data server',
  (fx: () => DataFixture) => {
    describe('authentication', () => {
      it('refuses an unknown business id, a wrong token and missing headers with AUTHENTICATION_FAILED (HTTP 500, soap:Client)', async () => {
        const { b1 } = fx().credentials;
        const args = [['accountId', '1']] as const;
        const cases = [
          { businessId: 'intruder', authToken: b1.authToken },
          { businessId: 'b1', authToken: 'wrong-token' },
          { businessId: 'b2', authToken: b1.authToken },
          { businessId: 'b1' },
          { authToken: b1.authToken },
          {},
        ];
        for (const headers of cases) {
          const r = await callData(fx().url, 'Read', args, headers);
          expect(r.httpStatus, JSON.stringify(headers)).to.equal(500);
          expect(r.fault?.code, JSON.stringify(headers)).to.equal('AUTHENTICATION_FAILED');
          expect(r.fault?.faultcode).to.match(/:Client$/);
          expect(r.raw).not.to.include(b1.authToken);
        }
      });

      it("accepts the credentials as plain HTTP headers too (the seed's form)", async () => {
        const id = await fx().createAccount('1.00');
        const { b1 } = fx().credentials;
        const r = await callData(
          fx().url,
          'Read',
          [['accountId', id]],
          {},
          { httpHeaders: { 'auth-token': b1.authToken, 'business-id': 'b1' } },
        );
        expect(r.fault).to.equal(undefined);
        expect(textOf(recordsOf(r.body?.account)[0]?.balance)).to.equal('1.00');
      });
    });

    describe('Lock', () => {
      it('concurrent Locks from two business ids on overlapping accounts never both succeed', async () => {
        const [a, b, c] = [
          await fx().createAccount('10.00'),
          await fx().createAccount('10.00'),
          await fx().createAccount('10.00'),
        ];
        for (let round = 0; round < 20; round++) {
          const [r1, r2] = await Promise.all([fx().lock([a, b], 'b1'), fx().lock([c, b], 'b2')]);
          const granted = [r1, r2].filter((r) => r.body !== undefined);
          expect(granted.length, `round ${round}`).to.equal(1);
          const refused = [r1, r2].find((r) => r.fault !== undefined)!;
          expect(refused.fault).to.deep.include({ code: 'ACCOUNT_LOCKED', accountId: b, retryable: true });
          const winner = r1.body !== undefined ? 'b1' : 'b2';
          const state = await fx().balances([a, b, c]);
          expect(state.get(b)?.locked).to.equal('true');
          expect((await fx().ok('Unlock', [['lockId', lockOf(granted[0]!).lockId]], winner)).released).to.equal('true');
        }
      });

      it('is all or none: an unknown account fails the lock and locks nothing', async () => {
        const a = await fx().createAccount('1.00');
        const r = await fx().lock([a, '999999999']);
        expect(r.fault).to.deep.include({ code: 'ACCOUNT_NOT_FOUND', accountId: '999999999' });
        expect((await fx().balances([a])).get(a)?.locked).to.equal('false');
      });

      it('answers balances, versions, a growing fencing token and the lease expiry; Read shows the holder', async () => {
        const [a, b] = [await fx().createAccount('3.00'), await fx().createAccount('4.00')];
        const r1 = await fx().lock([b, a, b], 'b1', { leaseMs: 1000 });
        const accounts = recordsOf(r1.body?.account);
        expect(accounts.map((x) => [textOf(x.accountId), textOf(x.balance), textOf(x.version)])).to.deep.equal([
          [a, '3.00', '0'],
          [b, '4.00', '0'],
        ]);
        const expiresAt = Date.parse(textOf(r1.body?.leaseExpiresAt));
        expect(expiresAt - Date.now()).to.be.within(200, 1100);
        const read = recordsOf((await fx().ok('Read', [['accountId', [a]]], 'b2')).account)[0]!;
        expect(read).to.deep.include({ locked: 'true', lockHolder: 'b1' });
        await fx().ok('Unlock', [['lockId', lockOf(r1).lockId]]);
        const r2 = await fx().lock([a]);
        expect(Number(lockOf(r2).fencingToken)).to.be.greaterThan(Number(lockOf(r1).fencingToken));
        await fx().ok('Unlock', [['lockId', lockOf(r2).lockId]]);
      });

      it('a holder that stops renewing loses its lease: a waiting Lock from another server proceeds', async () => {
        const a = await fx().createAccount('50.00');
        const first = lockOf(await fx().lock([a], 'b1', { leaseMs: 300 }));
        const failFast = await fx().lock([a], 'b2', { waitMs: 0 });
        expect(failFast.fault).to.deep.include({ code: 'ACCOUNT_LOCKED', retryable: true });
        const started = Date.now();
        const second = lockOf(await fx().lock([a], 'b2', { waitMs: 2000 }));
        expect(Date.now() - started).to.be.within(100, 1500);
        expect(Number(second.fencingToken)).to.be.greaterThan(Number(first.fencingToken));
        // The old holder wakes up and writes: refused, nothing moves.
        const late = await fx().update(first, fx().uniqueId('late'), [[a, '-10.00']], 'b1');
        expect(late.fault?.code).to.be.oneOf(['LOCK_NOT_HELD', 'LOCK_EXPIRED']);
        expect((await fx().balances([a])).get(a)?.balance).to.equal('50.00');
        const ok = await fx().update(second, fx().uniqueId('t'), [[a, '-10.00']], 'b2', true);
        expect(textOf(recordsOf(ok.body?.account)[0]?.balance)).to.equal('40.00');
      });

      it('waiters are served first come, first served', async () => {
        const a = await fx().createAccount('1.00');
        const holder = lockOf(await fx().lock([a], 'b1'));
        const waitersNow = async (): Promise<number> => {
          const health = await healthDetails<{ lockWaiters?: number }>(fx().url, fx().adminToken);
          return health.lockWaiters ?? -1;
        };
        const order: number[] = [];
        const waiters: Array<Promise<void>> = [];
        for (const i of [0, 1, 2]) {
          const who = i % 2 === 0 ? 'b2' : 'b1';
          waiters.push(
            (async () => {
              const got = lockOf(await fx().lock([a], who, { waitMs: 5000 }));
              order.push(i);
              await sleep(20);
              await fx().ok('Unlock', [['lockId', got.lockId]], who);
            })(),
          );
          // The next one arrives only once this one is queued: arrival order is certain.
          while ((await waitersNow()) < i + 1) await sleep(5);
        }
        await fx().ok('Unlock', [['lockId', holder.lockId]]);
        await Promise.all(waiters);
        expect(order).to.deep.equal([0, 1, 2]);
      });

      it('a hot account under 40 concurrent Lock+Update from two servers: each waiter is woken at once, none lost', async () => {
        // This suite runs with BANK_LOCK_POLL_MS=2000: a lost wake-up would show as a gap ≥ 2 s.
        const [hot, other] = [await fx().createAccount('0.00'), await fx().createAccount('1000.00')];
        const releasedAtMs: number[] = [];
        const grantedAtMs: number[] = [];
        const results = await Promise.all(
          Array.from({ length: 40 }, async (_, i) => {
            const who = i % 2 === 0 ? 'b1' : 'b2';
            const lock = lockOf(await fx().lock([other, hot], who, { waitMs: 10_000 }));
            grantedAtMs.push(Date.now());
            const r = await fx().update(
              lock,
              fx().uniqueId('hot'),
              [
                [other, '-1.00'],
                [hot, '1.00'],
              ],
              who,
              true,
            );
            releasedAtMs.push(Date.now());
            return r;
          }),
        );
        expect(results.filter((r) => r.fault !== undefined).map((r) => r.fault?.code)).to.deep.equal([]);
        const gapsMs = grantedAtMs.slice(1).map((at, i) => at - releasedAtMs[i]!);
        expect(Math.max(...gapsMs), `hand-over gaps ${gapsMs.join(',')} ms`).to.be.below(1000);
        const state = await fx().balances([hot, other]);
        expect([state.get(hot)?.balance, state.get(hot)?.version, state.get(other)?.balance]).to.deep.equal([
          '40.00',
          '40',
          '960.00',
        ]);
      });

      it('refuses out-of-range input with INVALID_REQUEST', async () => {
        const a = await fx().createAccount('1.00');
        const ids17 = Array.from({ length: 17 }, (_, i) => String(i + 1));
        for (const args of [
          [['accountId', ids17]],
          [['accountId', '0']],
          [['accountId', '01']],
          [['accountId', 'abc']],
          [['accountId', '-1']],
          [
            ['accountId', a],
            ['leaseMs', '5'],
          ],
          [
            ['accountId', a],
            ['leaseMs', '99999999'],
          ],
          [
            ['accountId', a],
            ['waitMs', '-1'],
          ],
          [
            ['accountId', a],
            ['waitMs', '1.5'],
          ],
          [],
        ] as const) {
          const r = await fx().call('Lock', args);
          expect(r.fault?.code, JSON.stringify(args)).to.equal('INVALID_REQUEST');
        }
      });
    });

    describe('Update', () => {
      it('moves money under the lock, journals it, bumps versions and releases on request', async () => {
        const [a, b] = [await fx().createAccount('100.00'), await fx().createAccount('0.00', 'bob')];
        const lock = lockOf(await fx().lock([a, b]));
        const tx = fx().uniqueId('t');
        const r = await fx().update(
          lock,
          tx,
          [
            [b, '25.50'],
            [a, '-25.50'],
          ],
          'b1',
          true,
        );
        expect(r.body).to.deep.include({ transactionId: tx, replayed: 'false', released: 'true' });
        expect(
          recordsOf(r.body?.account).map((x) => [textOf(x.accountId), textOf(x.balance), textOf(x.version)]),
        ).to.deep.equal([
          [a, '74.50', '1'],
          [b, '25.50', '1'],
        ]);
        const [out] = await fx().journal(a);
        expect(out).to.deep.include({
          transactionId: tx,
          kind: 'TRANSFER_OUT',
          amount: '-25.50',
          balanceAfter: '74.50',
          counterpartyAccountId: b,
        });
        const [into] = await fx().journal(b);
        expect(into).to.deep.include({
          transactionId: tx,
          kind: 'TRANSFER_IN',
          amount: '25.50',
          balanceAfter: '25.50',
          counterpartyAccountId: a,
        });
        expect((await fx().balances([a, b])).get(a)?.locked).to.equal('false');
      });

      it('a stale fencing token is refused and changes nothing', async () => {
        const a = await fx().createAccount('20.00');
        const lock = lockOf(await fx().lock([a]));
        const stale = { ...lock, fencingToken: String(BigInt(lock.fencingToken) - 1n) };
        const r = await fx().update(stale, fx().uniqueId('t'), [[a, '-5.00']]);
        expect(r.fault).to.deep.include({ code: 'STALE_FENCING_TOKEN', retryable: false });
        expect(r.fault?.faultcode).to.match(/:Client$/);
        const state = (await fx().balances([a])).get(a);
        expect(state).to.deep.include({ balance: '20.00', version: '0' });
        expect(await fx().journal(a)).to.have.length(1); // the OPENING entry only
        await fx().ok('Unlock', [['lockId', lock.lockId]]);
      });

      it('an Update after the lease expired is refused with LOCK_EXPIRED and changes nothing', async () => {
        const a = await fx().createAccount('20.00');
        const lock = lockOf(await fx().lock([a], 'b1', { leaseMs: 150 }));
        await sleep(250);
        const r = await fx().update(lock, fx().uniqueId('t'), [[a, '-5.00']]);
        expect(r.fault?.code).to.equal('LOCK_EXPIRED');
        expect((await fx().balances([a])).get(a)).to.deep.include({ balance: '20.00', version: '0', locked: 'false' });
      });

      it('only the holder may write or unlock; postings outside the lock are refused', async () => {
        const [a, b] = [await fx().createAccount('20.00'), await fx().createAccount('20.00')];
        const lock = lockOf(await fx().lock([a]));
        expect((await fx().update(lock, fx().uniqueId('t'), [[a, '-1.00']], 'b2')).fault?.code).to.equal(
          'LOCK_NOT_HELD',
        );
        expect((await fx().call('Unlock', [['lockId', lock.lockId]], 'b2')).fault?.code).to.equal('LOCK_NOT_HELD');
        const outside = await fx().update(lock, fx().uniqueId('t'), [
          [a, '-1.00'],
          [b, '1.00'],
        ]);
        expect(outside.fault).to.deep.include({ code: 'LOCK_NOT_HELD', accountId: b });
        expect((await fx().balances([a, b])).get(a)?.balance).to.equal('20.00');
        expect((await fx().ok('Unlock', [['lockId', lock.lockId]])).released).to.equal('true');
        expect((await fx().ok('Unlock', [['lockId', lock.lockId]])).released).to.equal('false'); // idempotent
        expect((await fx().ok('Unlock', [['lockId', 'never-existed']])).released).to.equal('false');
      });

      it('an Update that would overdraw any account changes nothing, and its replay returns the same refusal', async () => {
        const [a, b] = [await fx().createAccount('10.00'), await fx().createAccount('0.00')];
        const lock = lockOf(await fx().lock([a, b]));
        const tx = fx().uniqueId('t');
        const r = await fx().update(lock, tx, [
          [a, '-10.01'],
          [b, '10.01'],
        ]);
        expect(r.fault).to.deep.include({ code: 'INSUFFICIENT_FUNDS', accountId: a });
        expect((await fx().balances([a, b])).get(a)).to.deep.include({ balance: '10.00', version: '0' });
        expect((await fx().balances([a, b])).get(b)).to.deep.include({ balance: '0.00', version: '0' });
        expect(await fx().journal(b)).to.have.length(0);
        // Money arrives; the same transaction id still answers its first outcome (exactly-once).
        await fx().update(lock, fx().uniqueId('dep'), [[a, '5.00']]);
        const again = await fx().update(
          lock,
          tx,
          [
            [b, '10.01'],
            [a, '-10.01'],
          ],
          'b1',
          true,
        );
        expect(again.fault?.code).to.equal('INSUFFICIENT_FUNDS');
        expect((await fx().balances([a])).get(a)).to.deep.include({ balance: '15.00', locked: 'false' });
      });

      it('a replayed transaction id moves money once and answers the first outcome; other content is REQUEST_ID_CONFLICT', async () => {
        const [a, b] = [await fx().createAccount('100.00'), await fx().createAccount('0.00')];
        const tx = fx().uniqueId('t');
        const first = await fx().update(
          lockOf(await fx().lock([a, b])),
          tx,
          [
            [a, '-30.00'],
            [b, '30.00'],
          ],
          'b1',
          true,
        );
        expect(first.body?.replayed).to.equal('false');
        // The business tier's retry path: lock again (maybe via another server), send the same Update.
        const relock = lockOf(await fx().lock([a, b], 'b2'));
        const replay = await fx().update(
          relock,
          tx,
          [
            [b, '30.00'],
            [a, '-30.00'],
          ],
          'b2',
          true,
        );
        expect(replay.body).to.deep.include({ replayed: 'true', released: 'true' });
        expect(recordsOf(replay.body?.account).map((x) => textOf(x.balance))).to.deep.equal(['70.00', '30.00']);
        const conflict = await fx().update(
          lockOf(await fx().lock([a, b])),
          tx,
          [
            [a, '-31.00'],
            [b, '31.00'],
          ],
          'b1',
          true,
        );
        expect(conflict.fault?.code).to.equal('REQUEST_ID_CONFLICT');
        const state = await fx().balances([a, b]);
        expect([state.get(a)?.balance, state.get(b)?.balance]).to.deep.equal(['70.00', '30.00']);
        expect((await fx().journal(a)).filter((e) => e.transactionId === tx)).to.have.length(1);
        // A replay needs no lock at all: it moves nothing.
        const bare = await fx().update({ lockId: 'gone', fencingToken: '1' }, tx, [
          [a, '-30.00'],
          [b, '30.00'],
        ]);
        expect(bare.body).to.deep.include({ replayed: 'true', released: 'false' });
      });

      it('the same Update sent many times at once moves money exactly once', async () => {
        const [a, b] = [await fx().createAccount('10.00'), await fx().createAccount('0.00')];
        const lock = lockOf(await fx().lock([a, b]));
        const tx = fx().uniqueId('dup');
        const results = await Promise.all(
          Array.from({ length: 8 }, () =>
            fx().update(lock, tx, [
              [a, '-4.00'],
              [b, '4.00'],
            ]),
          ),
        );
        expect(results.map((r) => r.fault?.code)).to.deep.equal(Array(8).fill(undefined));
        expect(results.filter((r) => r.body?.replayed === 'false')).to.have.length(1);
        const state = await fx().balances([a, b]);
        expect([state.get(a)?.balance, state.get(b)?.balance]).to.deep.equal(['6.00', '4.00']);
        await fx().ok('Unlock', [['lockId', lock.lockId]]);
      });

      it('refuses malformed postings with INVALID_REQUEST and bad amounts with INVALID_AMOUNT', async () => {
        const [a, b, c] = [
          await fx().createAccount('10.00'),
          await fx().createAccount('10.00'),
          await fx().createAccount('10.00'),
        ];
        const lock = lockOf(await fx().lock([a, b, c]));
        const invalidRequest: Array<ReadonlyArray<readonly [string, string]>> = [
          [
            [a, '-1.00'],
            [b, '2.00'],
          ],
          [
            [a, '-1.00'],
            [a, '1.00'],
          ],
          [
            [a, '-1.00'],
            [b, '0.50'],
            [c, '0.50'],
          ],
          [],
        ];
        for (const postings of invalidRequest) {
          expect(
            (await fx().update(lock, fx().uniqueId('t'), postings)).fault?.code,
            JSON.stringify(postings),
          ).to.equal('INVALID_REQUEST');
        }
        for (const amount of [
          '1e3',
          '0.001',
          '-0',
          'NaN',
          '',
          '0',
          '+5',
          '.5',
          '5.',
          '0.00',
          '10000000000000.01',
          '--1',
        ]) {
          expect((await fx().update(lock, fx().uniqueId('t'), [[a, amount]])).fault?.code, amount).to.equal(
            'INVALID_AMOUNT',
          );
        }
        for (const [name, value] of [
          ['fencingToken', 'x'],
          ['fencingToken', '-1'],
          ['lockId', ''],
          ['transactionId', 'a b'],
        ] as const) {
          const args = [
            ['lockId', lock.lockId],
            ['fencingToken', lock.fencingToken],
            ['transactionId', 'tx-ok'],
            [
              'posting',
              [
                ['accountId', a],
                ['amount', '1.00'],
              ],
            ],
          ] as Array<[string, string | Array<[string, string]>]>;
          const patched = args.map(([n, v]) => (n === name ? [n, value] : [n, v])) as Array<[string, string]>;
          expect((await fx().call('Update', patched)).fault?.code, name).to.equal('INVALID_REQUEST');
        }
        expect((await fx().balances([a])).get(a)).to.deep.include({ balance: '10.00', version: '0' });
        await fx().ok('Unlock', [['lockId', lock.lockId]]);
      });
    });

    describe('CreateAccount, Read, GetJournal', () => {
      it('creates ascending ids, idempotent by transaction id; other content is REQUEST_ID_CONFLICT', async () => {
        const tx = fx().uniqueId('open');
        const one = await fx().ok('CreateAccount', [
          ['ownerId', 'carol'],
          ['transactionId', tx],
          ['initialBalance', '12.34'],
        ]);
        const two = await fx().ok(
          'CreateAccount',
          [
            ['ownerId', 'carol'],
            ['transactionId', tx],
            ['initialBalance', '12.34'],
          ],
          'b2',
        );
        expect(two).to.deep.equal({ ...one, replayed: 'true' });
        const next = await fx().createAccount('0');
        expect(Number(next)).to.be.greaterThan(Number(textOf(one.accountId)));
        const conflict = await fx().call('CreateAccount', [
          ['ownerId', 'carol'],
          ['transactionId', tx],
          ['initialBalance', '12.35'],
        ]);
        expect(conflict.fault?.code).to.equal('REQUEST_ID_CONFLICT');
        const journal = await fx().journal(textOf(one.accountId));
        expect(journal).to.have.length(1);
        expect(journal[0]).to.deep.include({
          kind: 'OPENING',
          amount: '12.34',
          balanceAfter: '12.34',
          transactionId: tx,
        });
        expect(await fx().journal(next)).to.have.length(0);
        for (const balance of ['-1', '1e3', '0.001', 'NaN', '10000000000000.01']) {
          const r = await fx().call('CreateAccount', [
            ['ownerId', 'carol'],
            ['transactionId', fx().uniqueId('o')],
            ['initialBalance', balance],
          ]);
          expect(r.fault?.code, balance).to.equal('INVALID_AMOUNT');
        }
        expect(
          (
            await fx().call('CreateAccount', [
              ['ownerId', 'bad owner'],
              ['transactionId', fx().uniqueId('o')],
            ])
          ).fault?.code,
        ).to.equal('INVALID_REQUEST');
      });

      it('Read answers unknown accounts with ACCOUNT_NOT_FOUND; GetJournal is newest first and bounded', async () => {
        expect((await fx().call('Read', [['accountId', '999999998']])).fault).to.deep.include({
          code: 'ACCOUNT_NOT_FOUND',
          accountId: '999999998',
        });
        expect((await fx().call('GetJournal', [['accountId', '999999998']])).fault?.code).to.equal('ACCOUNT_NOT_FOUND');
        const a = await fx().createAccount('1.00');
        const lock = lockOf(await fx().lock([a]));
        for (const amount of ['1.00', '2.00', '3.00']) await fx().update(lock, fx().uniqueId('d'), [[a, amount]]);
        await fx().ok('Unlock', [['lockId', lock.lockId]]);
        const two = await fx().journal(a, 2);
        expect(two.map((e) => [e.kind, e.amount, e.balanceAfter])).to.deep.equal([
          ['DEPOSIT', '3.00', '7.00'],
          ['DEPOSIT', '2.00', '4.00'],
        ]);
        for (const limit of ['0', '1001', 'x']) {
          expect(
            (
              await fx().call('GetJournal', [
                ['accountId', a],
                ['limit', limit],
              ])
            ).fault?.code,
            limit,
          ).to.equal('INVALID_REQUEST');
        }
      });
    });

    describe('durability', () => {
      it('the fencing token only grows, across a restart', async () => {
        const a = await fx().createAccount('1.00');
        const before = lockOf(await fx().lock([a], 'b1', { leaseMs: 100 }));
        await fx().restart('SIGTERM');
        const after = lockOf(await fx().lock([a], 'b1', { waitMs: 2000 }));
        expect(Number(after.fencingToken)).to.be.greaterThan(Number(before.fencingToken));
        await fx().ok('Unlock', [['lockId', after.lockId]]);
      });
    });

    it('raw envelope with a repeated posting element in one body and SOAP header blocks works (wire sanity)', async () => {
      const a = await fx().createAccount('5.00');
      const lock = lockOf(await fx().lock([a]));
      const body = dataEnvelope(
        'Update',
        [
          ['lockId', lock.lockId],
          ['fencingToken', lock.fencingToken],
          ['transactionId', fx().uniqueId('w')],
          [
            'posting',
            [
              ['accountId', a],
              ['amount', '-5.00'],
            ],
          ],
          ['release', '1'],
        ],
        fx().credentials.b1,
      );
      const r = await postData(fx().url, 'Update', body);
      expect(r.body).to.deep.include({ released: 'true' });
      expect(textOf(recordsOf(r.body?.account)[0]?.balance)).to.equal('0.00');
    });
  },
  { BANK_LOCK_POLL_MS: '2000' },
);
