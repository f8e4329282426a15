import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashToken, newToken } from '../common/credentials';
import { parseBalance } from '../common/money';
import { asList, BankArgs, BankCallResult, BankRecord, callBank, postRaw } from './helpers/bank-call';
import { BankFixture, startBankFixture, TestClient } from './helpers/bank-fixture';
import { CLIENT_RATE_LIFTED } from './helpers/cluster';
import { BANK_NAMESPACE, soapAction } from '../common/contract';
import { ifAssigned } from './helpers/if-assigned';

/**
 * The business server against a real data server (SQLite in a temp dir), both as processes on
 * port 0. Two business servers share the data server so that retries through another server
 * can be checked.
 */
const TIMEOUT_MS = 10_000;
let requestCounter = 0;

describe('business server (real data server, real processes)', function () {
  let fixture: BankFixture;
  let url: string;
  let url2: string;
  let alice: TestClient;
  let bob: TestClient;

  before(async () => {
    fixture = await startBankFixture({
      clients: 2,
      businessServers: 2,
      // alice sends far more than a fair share here, back to back: see CLIENT_RATE_LIFTED.
      businessEnv: { BANK_CREDENTIALS_RELOAD_MS: '100', ...CLIENT_RATE_LIFTED },
    });
    url = fixture.business[0]!.url;
    url2 = fixture.business[1]!.url;
    [alice, bob] = fixture.clients as [TestClient, TestClient];
  });

  after(async () => {
    await ifAssigned(fixture)?.stop();
  });

  function call(
    as: TestClient,
    operation: string,
    args: BankArgs,
    requestId?: string,
    target = url,
  ): Promise<BankCallResult> {
    return callBank(
      target,
      operation,
      args,
      {
        authToken: as.authToken,
        clientId: as.clientId,
        ...(requestId === undefined ? {} : { requestId }),
      },
      { timeoutMs: TIMEOUT_MS },
    );
  }

  function ok(result: BankCallResult): BankRecord {
    if (result.body === undefined)
      throw new Error(`expected success, got HTTP ${result.httpStatus}: ${JSON.stringify(result.fault)}`);
    expect(result.httpStatus).to.equal(200);
    return result.body;
  }

  function faultOf(result: BankCallResult, code: string): void {
    if (result.fault === undefined) throw new Error(`expected ${code}, got ${JSON.stringify(result.body)}`);
    expect(result.httpStatus, result.raw).to.equal(500);
    expect(result.fault.code, result.fault.message).to.equal(code);
    expect(result.fault.faultcode).to.match(/^soap:(Client|Server)$/);
    expect(result.fault.message).to.be.a('string').and.not.equal('');
  }

  async function open(as: TestClient, initial?: string): Promise<string> {
    const body = ok(
      await call(
        as,
        'OpenAccount',
        initial === undefined ? [] : [['initialDeposit', initial]],
        `open-${++requestCounter}`,
      ),
    );
    return body['accountId'] as string;
  }

  async function balanceOf(as: TestClient, accountId: string): Promise<string> {
    return ok(await call(as, 'GetBalance', [['accountId', accountId]]))['balance'] as string;
  }

  async function statementLength(as: TestClient, accountId: string): Promise<number> {
    return asList(
      ok(
        await call(as, 'GetStatement', [
          ['accountId', accountId],
          ['limit', '1000'],
        ]),
      )['entry'],
    ).length;
  }

  describe('happy paths', () => {
    it('OpenAccount with and without an initial deposit', async () => {
      const funded = ok(await call(alice, 'OpenAccount', [['initialDeposit', '100.00']], 'open-happy-1'));
      expect(funded['accountId']).to.match(/^[1-9][0-9]*$/);
      expect(funded['balance']).to.equal('100.00');
      const empty = ok(await call(alice, 'OpenAccount', [], 'open-happy-2'));
      expect(empty['balance']).to.equal('0.00');
      expect(empty['accountId']).to.not.equal(funded['accountId']);
    });

    it('OpenAccount replayed with the same request-id opens one account', async () => {
      const first = ok(await call(alice, 'OpenAccount', [['initialDeposit', '5.00']], 'open-replay'));
      const again = ok(await call(alice, 'OpenAccount', [['initialDeposit', '5.00']], 'open-replay', url2));
      expect(again['accountId']).to.equal(first['accountId']);
      faultOf(await call(alice, 'OpenAccount', [['initialDeposit', '6.00']], 'open-replay'), 'REQUEST_ID_CONFLICT');
    });

    it("Deposit into one's own account returns the new balance", async () => {
      const account = await open(alice, '10.00');
      const body = ok(
        await call(alice, 'Deposit', [
          ['accountId', account],
          ['amount', '2.5'],
        ]),
      );
      expect(body['transactionId']).to.match(/^t[0-9a-f]{32}$/);
      expect(body['accountId']).to.equal(account);
      expect(body['balance']).to.equal('12.50');
    });

    it("Deposit into someone else's account works but reveals no balance", async () => {
      const bobs = await open(bob, '7.00');
      const body = ok(
        await call(alice, 'Deposit', [
          ['accountId', bobs],
          ['amount', '3.00'],
        ]),
      );
      expect(body).to.have.keys('transactionId', 'accountId');
      expect(await balanceOf(bob, bobs)).to.equal('10.00');
    });

    it("Withdraw from one's own account", async () => {
      const account = await open(alice, '10.00');
      const body = ok(
        await call(alice, 'Withdraw', [
          ['accountId', account],
          ['amount', '9.99'],
        ]),
      );
      expect(body['balance']).to.equal('0.01');
      expect(await balanceOf(alice, account)).to.equal('0.01');
    });

    it("Transfer moves money and returns only the sender's balance", async () => {
      const from = await open(alice, '50.00');
      const to = await open(bob, '1.00');
      const body = ok(
        await call(alice, 'Transfer', [
          ['fromAccountId', from],
          ['toAccountId', to],
          ['amount', '20.00'],
        ]),
      );
      expect(body).to.have.keys('transactionId', 'fromAccountId', 'balance');
      expect(body['balance']).to.equal('30.00');
      expect(await balanceOf(bob, to)).to.equal('21.00');
    });

    it('GetStatement lists entries newest first, bounded by limit', async () => {
      const account = await open(alice, '10.00');
      const other = await open(bob);
      ok(
        await call(alice, 'Deposit', [
          ['accountId', account],
          ['amount', '1.00'],
        ]),
      );
      const transfer = ok(
        await call(alice, 'Transfer', [
          ['fromAccountId', account],
          ['toAccountId', other],
          ['amount', '4.00'],
        ]),
      );
      const body = ok(await call(alice, 'GetStatement', [['accountId', account]]));
      expect(body['balance']).to.equal('7.00');
      const entries = asList(body['entry']) as BankRecord[];
      expect(entries.map((e) => e['kind'])).to.deep.equal(['TRANSFER_OUT', 'DEPOSIT', 'OPENING']);
      expect(entries[0]).to.include({
        transactionId: transfer['transactionId'],
        amount: '-4.00',
        balanceAfter: '7.00',
        counterpartyAccountId: other,
      });
      const limited = ok(
        await call(alice, 'GetStatement', [
          ['accountId', account],
          ['limit', '1'],
        ]),
      );
      expect(asList(limited['entry'])).to.have.length(1);
      faultOf(
        await call(alice, 'GetStatement', [
          ['accountId', account],
          ['limit', '1001'],
        ]),
        'INVALID_REQUEST',
      );
      faultOf(
        await call(alice, 'GetStatement', [
          ['accountId', account],
          ['limit', '0'],
        ]),
        'INVALID_REQUEST',
      );
    });

    it("accepts credentials as plain HTTP headers (the seed's form)", async () => {
      const account = await open(alice, '1.00');
      const result = await callBank(
        url,
        'GetBalance',
        [['accountId', account]],
        {},
        {
          timeoutMs: TIMEOUT_MS,
          httpHeaders: { 'auth-token': alice.authToken, 'client-id': alice.clientId },
        },
      );
      expect(ok(result)['balance']).to.equal('1.00');
    });

    it('serves ?wsdl and /health', async () => {
      const wsdl = await fetch(`${url}?wsdl`);
      expect(wsdl.status).to.equal(200);
      expect(await wsdl.text()).to.contain(`<soap:address location="${url}"`);
      // Public: liveness only (the details, for the admin, are tested in health-admin.test.ts).
      expect(await (await fetch(new URL('/health', url))).json()).to.deep.equal({ status: 'ok' });
    });
  });

  describe('authentication and authorization', () => {
    it('AUTHENTICATION_FAILED for a bad token, an unknown client and no headers at all (HTTP 500)', async () => {
      const account = await open(alice, '1.00');
      faultOf(
        await callBank(
          url,
          'GetBalance',
          [['accountId', account]],
          { authToken: 'wrong', clientId: alice.clientId },
          { timeoutMs: TIMEOUT_MS },
        ),
        'AUTHENTICATION_FAILED',
      );
      faultOf(
        await callBank(
          url,
          'GetBalance',
          [['accountId', account]],
          { authToken: alice.authToken, clientId: 'mallory' },
          { timeoutMs: TIMEOUT_MS },
        ),
        'AUTHENTICATION_FAILED',
      );
      faultOf(
        await callBank(url, 'GetBalance', [['accountId', account]], {}, { timeoutMs: TIMEOUT_MS }),
        'AUTHENTICATION_FAILED',
      );
      faultOf(
        await callBank(
          url,
          'GetBalance',
          [['accountId', account]],
          { authToken: bob.authToken, clientId: alice.clientId },
          { timeoutMs: TIMEOUT_MS },
        ),
        'AUTHENTICATION_FAILED',
      );
    });

    it("NOT_AUTHORIZED on another client's account for Withdraw, Transfer-from, GetBalance, GetStatement; nothing moves", async () => {
      const bobs = await open(bob, '100.00');
      const alices = await open(alice, '1.00');
      for (const [operation, args] of [
        [
          'Withdraw',
          [
            ['accountId', bobs],
            ['amount', '1.00'],
          ],
        ],
        [
          'Transfer',
          [
            ['fromAccountId', bobs],
            ['toAccountId', alices],
            ['amount', '1.00'],
          ],
        ],
        ['GetBalance', [['accountId', bobs]]],
        ['GetStatement', [['accountId', bobs]]],
      ] as const) {
        const result = await call(alice, operation, args);
        faultOf(result, 'NOT_AUTHORIZED');
        expect(result.fault?.accountId).to.equal(bobs);
        expect(result.raw, 'no balance of bob leaks').to.not.contain('100.00');
      }
      expect(await balanceOf(bob, bobs)).to.equal('100.00');
      expect(await balanceOf(alice, alices)).to.equal('1.00');
    });

    it('a client added to the credentials file is accepted without a restart', async () => {
      const carol = { clientId: 'carol', authToken: newToken() };
      const principals = [...fixture.clients, carol].map((c) => ({
        id: c.clientId,
        tokenSha256: hashToken(c.authToken),
      }));
      faultOf(await call(carol, 'OpenAccount', []), 'AUTHENTICATION_FAILED');
      writeFileSync(join(fixture.dir, 'client-credentials.json'), JSON.stringify({ principals }));
      const deadlineMs = Date.now() + 3000;
      let result = await call(carol, 'OpenAccount', [], 'carol-open');
      while (result.fault !== undefined && Date.now() < deadlineMs) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        result = await call(carol, 'OpenAccount', [], 'carol-open');
      }
      expect(ok(result)['balance']).to.equal('0.00');
    });
  });

  describe('business rules', () => {
    it('SAME_ACCOUNT for a transfer to itself', async () => {
      const account = await open(alice, '10.00');
      faultOf(
        await call(alice, 'Transfer', [
          ['fromAccountId', account],
          ['toAccountId', account],
          ['amount', '1.00'],
        ]),
        'SAME_ACCOUNT',
      );
      expect(await balanceOf(alice, account)).to.equal('10.00');
    });

    it('INVALID_AMOUNT for 0, -1, 0.001 and every other malformed amount; nothing moves', async () => {
      const account = await open(alice, '10.00');
      const other = await open(bob);
      for (const amount of [
        '0',
        '0.00',
        '-1',
        '-0',
        '0.001',
        '0.011',
        '1e3',
        '',
        'NaN',
        '.',
        '+',
        '1 000',
        '1,00',
        '1000000.01',
      ]) {
        faultOf(
          await call(alice, 'Withdraw', [
            ['accountId', account],
            ['amount', amount],
          ]),
          'INVALID_AMOUNT',
        );
        faultOf(
          await call(alice, 'Deposit', [
            ['accountId', account],
            ['amount', amount],
          ]),
          'INVALID_AMOUNT',
        );
        faultOf(
          await call(alice, 'Transfer', [
            ['fromAccountId', account],
            ['toAccountId', other],
            ['amount', amount],
          ]),
          'INVALID_AMOUNT',
        );
      }
      faultOf(await call(alice, 'Deposit', [['accountId', account]]), 'INVALID_AMOUNT');
      faultOf(await call(alice, 'OpenAccount', [['initialDeposit', '0.001']]), 'INVALID_AMOUNT');
      expect(await balanceOf(alice, account)).to.equal('10.00');
      expect(await statementLength(alice, account)).to.equal(1);
    });

    it('INVALID_REQUEST for malformed account ids', async () => {
      for (const id of ['0', '01', '-1', 'x', '1234567890123456', '']) {
        faultOf(await call(alice, 'GetBalance', [['accountId', id]]), 'INVALID_REQUEST');
      }
    });

    it('ACCOUNT_NOT_FOUND for unknown accounts, also as a transfer recipient', async () => {
      const account = await open(alice, '10.00');
      faultOf(
        await call(alice, 'Deposit', [
          ['accountId', '999999999'],
          ['amount', '1.00'],
        ]),
        'ACCOUNT_NOT_FOUND',
      );
      faultOf(await call(alice, 'GetBalance', [['accountId', '999999998']]), 'ACCOUNT_NOT_FOUND');
      const result = await call(alice, 'Transfer', [
        ['fromAccountId', account],
        ['toAccountId', '999999997'],
        ['amount', '1.00'],
      ]);
      faultOf(result, 'ACCOUNT_NOT_FOUND');
      expect(result.fault?.accountId).to.equal('999999997');
      expect(await balanceOf(alice, account)).to.equal('10.00');
    });

    it('INSUFFICIENT_FUNDS changes nothing, and its replay stays the first outcome', async () => {
      const account = await open(alice, '10.00');
      const other = await open(bob);
      faultOf(
        await call(
          alice,
          'Withdraw',
          [
            ['accountId', account],
            ['amount', '10.01'],
          ],
          'poor-1',
        ),
        'INSUFFICIENT_FUNDS',
      );
      faultOf(
        await call(
          alice,
          'Transfer',
          [
            ['fromAccountId', account],
            ['toAccountId', other],
            ['amount', '11.00'],
          ],
          'poor-2',
        ),
        'INSUFFICIENT_FUNDS',
      );
      expect(await balanceOf(alice, account)).to.equal('10.00');
      expect(await balanceOf(bob, other)).to.equal('0.00');
      expect(await statementLength(alice, account)).to.equal(1);
      // Now there is enough money, but a replay of the same request returns its first outcome.
      ok(
        await call(alice, 'Deposit', [
          ['accountId', account],
          ['amount', '100.00'],
        ]),
      );
      faultOf(
        await call(
          alice,
          'Withdraw',
          [
            ['accountId', account],
            ['amount', '10.01'],
          ],
          'poor-1',
        ),
        'INSUFFICIENT_FUNDS',
      );
      expect(await balanceOf(alice, account)).to.equal('110.00');
      // The account is not left locked after a refusal.
      ok(
        await call(alice, 'Withdraw', [
          ['accountId', account],
          ['amount', '110.00'],
        ]),
      );
    });
  });

  describe('exactly once', () => {
    it('the same request-id twice (and once more via another business server) moves money once', async () => {
      const from = await open(alice, '100.00');
      const to = await open(bob);
      const entriesBefore = await statementLength(bob, to);
      const args: BankArgs = [
        ['fromAccountId', from],
        ['toAccountId', to],
        ['amount', '25.00'],
      ];
      const first = ok(await call(alice, 'Transfer', args, 'xfer-once'));
      const second = ok(await call(alice, 'Transfer', args, 'xfer-once'));
      const third = ok(await call(alice, 'Transfer', args, 'xfer-once', url2));
      expect(second['transactionId']).to.equal(first['transactionId']);
      expect(third['transactionId']).to.equal(first['transactionId']);
      expect(third['balance']).to.equal('75.00');
      expect(await balanceOf(alice, from)).to.equal('75.00');
      expect(await balanceOf(bob, to)).to.equal('25.00');
      expect(await statementLength(bob, to)).to.equal(entriesBefore + 1);
    });

    it('the same request-id with a different amount is REQUEST_ID_CONFLICT', async () => {
      const account = await open(alice, '100.00');
      ok(
        await call(
          alice,
          'Withdraw',
          [
            ['accountId', account],
            ['amount', '1.00'],
          ],
          'conflict-1',
        ),
      );
      faultOf(
        await call(
          alice,
          'Withdraw',
          [
            ['accountId', account],
            ['amount', '2.00'],
          ],
          'conflict-1',
        ),
        'REQUEST_ID_CONFLICT',
      );
      faultOf(
        await call(
          alice,
          'Deposit',
          [
            ['accountId', account],
            ['amount', '1.00'],
          ],
          'conflict-1',
          url2,
        ),
        'REQUEST_ID_CONFLICT',
      );
      expect(await balanceOf(alice, account)).to.equal('99.00');
    });

    it('two clients using the same request-id do not collide', async () => {
      const alices = await open(alice, '10.00');
      const bobs = await open(bob, '10.00');
      const a = ok(
        await call(
          alice,
          'Withdraw',
          [
            ['accountId', alices],
            ['amount', '1.00'],
          ],
          'shared-id',
        ),
      );
      const b = ok(
        await call(
          bob,
          'Withdraw',
          [
            ['accountId', bobs],
            ['amount', '2.00'],
          ],
          'shared-id',
        ),
      );
      expect(a['transactionId']).to.not.equal(b['transactionId']);
      expect(await balanceOf(alice, alices)).to.equal('9.00');
      expect(await balanceOf(bob, bobs)).to.equal('8.00');
    });

    it('a request-id given as an HTTP header (as the balancer sets it) is the idempotency key', async () => {
      const account = await open(alice, '10.00');
      const send = (): Promise<BankCallResult> =>
        callBank(
          url,
          'Withdraw',
          [
            ['accountId', account],
            ['amount', '1.00'],
          ],
          { authToken: alice.authToken, clientId: alice.clientId },
          { timeoutMs: TIMEOUT_MS, httpHeaders: { 'request-id': 'lb-assigned-1' } },
        );
      const first = ok(await send());
      const second = ok(await send());
      expect(second['transactionId']).to.equal(first['transactionId']);
      expect(await balanceOf(alice, account)).to.equal('9.00');
    });
  });

  describe('concurrency', () => {
    it('50 concurrent withdrawals of 10.00 from 200.00 over two servers: exactly 20 succeed, never negative', async () => {
      const account = await open(alice, '200.00');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          call(
            alice,
            'Withdraw',
            [
              ['accountId', account],
              ['amount', '10.00'],
            ],
            `burst-${i}`,
            i % 2 === 0 ? url : url2,
          ),
        ),
      );
      const codes = results.map((r) => r.fault?.code ?? 'ok');
      expect(codes.filter((c) => c === 'ok')).to.have.length(20);
      expect(
        codes.filter((c) => c !== 'ok' && c !== 'INSUFFICIENT_FUNDS'),
        codes.join(','),
      ).to.deep.equal([]);
      expect(await balanceOf(alice, account)).to.equal('0.00');
      expect(await statementLength(alice, account)).to.equal(21);
    });

    it('opposite transfers in a tight loop do not deadlock and conserve the total', async () => {
      const a = await open(alice, '100.00');
      const b = await open(alice, '100.00');
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => {
          const args: BankArgs =
            i % 2 === 0
              ? [
                  ['fromAccountId', a],
                  ['toAccountId', b],
                  ['amount', '1.00'],
                ]
              : [
                  ['fromAccountId', b],
                  ['toAccountId', a],
                  ['amount', '1.00'],
                ];
          return call(alice, 'Transfer', args, `opp-${i}`, i % 3 === 0 ? url2 : url);
        }),
      );
      const codes = results.map((r) => r.fault?.code ?? 'ok');
      expect(
        codes.filter((c) => c !== 'ok' && c !== 'ACCOUNT_LOCKED'),
        codes.join(','),
      ).to.deep.equal([]);
      const total = parseBalance(await balanceOf(alice, a)) + parseBalance(await balanceOf(alice, b));
      expect(total).to.equal(20_000);
    });

    it('past the per-account queue bound: ACCOUNT_LOCKED, retryable', async () => {
      // The shortest queue there is: one running, one waiting (BANK_ACCOUNT_QUEUE_PER_CLIENT_MAX must stay below it).
      const tight = await fixture.startBusiness(1, {
        BANK_ACCOUNT_QUEUE_LENGTH_MAX: '2',
        BANK_ACCOUNT_QUEUE_PER_CLIENT_MAX: '1',
      });
      try {
        const account = await open(alice, '100.00');
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            call(
              alice,
              'Deposit',
              [
                ['accountId', account],
                ['amount', '1.00'],
              ],
              undefined,
              tight.url,
            ),
          ),
        );
        const locked = results.filter((r) => r.fault?.code === 'ACCOUNT_LOCKED');
        const succeeded = results.filter((r) => r.body !== undefined);
        expect(locked.length, 'some refused').to.be.greaterThan(0);
        expect(locked.every((r) => r.fault?.retryable === true && r.fault.accountId === account)).to.equal(true);
        expect(locked.length + succeeded.length).to.equal(20);
        expect(await balanceOf(alice, account)).to.equal(`${100 + succeeded.length}.00`);
      } finally {
        await tight.kill('SIGTERM');
        url2 = (await fixture.startBusiness(1)).url;
      }
    });
  });

  describe('robustness', () => {
    it('refuses a malformed request-id (bank.wsdl: 1..64 of [A-Za-z0-9_.:-]) and moves nothing', async () => {
      const account = await open(alice, '10.00');
      for (const requestId of ['x'.repeat(65), 'has space', 'semi;colon']) {
        faultOf(
          await call(
            alice,
            'Withdraw',
            [
              ['accountId', account],
              ['amount', '1.00'],
            ],
            requestId,
          ),
          'INVALID_REQUEST',
        );
      }
      ok(
        await call(
          alice,
          'Withdraw',
          [
            ['accountId', account],
            ['amount', '1.00'],
          ],
          'x'.repeat(64),
        ),
      );
      expect(await balanceOf(alice, account)).to.equal('9.00');
    });

    it('refuses a SOAPAction naming another operation and a body over 64 KiB', async () => {
      const account = await open(alice, '10.00');
      const mismatch = await callBank(
        url,
        'GetBalance',
        [['accountId', account]],
        { authToken: alice.authToken, clientId: alice.clientId },
        { timeoutMs: TIMEOUT_MS, soapAction: soapAction(BANK_NAMESPACE, 'Withdraw') },
      );
      faultOf(mismatch, 'INVALID_REQUEST');
      const big = await postRaw(
        url,
        '<x>' + 'a'.repeat(70 * 1024) + '</x>',
        { 'content-type': 'text/xml' },
        TIMEOUT_MS,
      );
      expect(big.httpStatus).to.equal(500);
      expect(big.raw).to.contain('INVALID_REQUEST');
    });
  });
});
