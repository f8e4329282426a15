import { expect } from 'chai';
import { once } from 'node:events';
import net from 'node:net';
import { parseBalance } from '../common/money';
import { BankArgs, BankCallResult, BankRecord, callBank } from './helpers/bank-call';
import { BankFixture, startBankFixture, TestClient } from './helpers/bank-fixture';
import { startProcess } from './helpers/process';
import { ifAssigned } from './helpers/if-assigned';

/**
 * The business server when the data tier is gone: a stopped data server gives
 * SERVICE_UNAVAILABLE (retryable) within a second, never a hang; once it is back on the same
 * address, calls work again on the same business server and nothing acknowledged is lost.
 * A data tier that accepts connections but never answers is cut off by the call deadline.
 */
const TIMEOUT_MS = 10_000;

describe('business server when the data tier is down', function () {
  let fixture: BankFixture;
  let url: string;
  let alice: TestClient;

  before(async () => {
    fixture = await startBankFixture({ clients: 1, businessServers: 1 });
    url = fixture.business[0]!.url;
    alice = fixture.clients[0]!;
  });

  after(async () => {
    await ifAssigned(fixture)?.stop();
  });

  function call(operation: string, args: BankArgs, requestId?: string): Promise<BankCallResult> {
    return callBank(
      url,
      operation,
      args,
      {
        authToken: alice.authToken,
        clientId: alice.clientId,
        ...(requestId === undefined ? {} : { requestId }),
      },
      { timeoutMs: TIMEOUT_MS },
    );
  }

  function ok(result: BankCallResult): BankRecord {
    if (result.body === undefined) throw new Error(`expected success, got ${JSON.stringify(result.fault)}`);
    return result.body;
  }

  it('fails fast with SERVICE_UNAVAILABLE while stopped, works again after a restart, loses nothing', async () => {
    const from = ok(await call('OpenAccount', [['initialDeposit', '100.00']], 'u-open-1'))['accountId'] as string;
    const to = ok(await call('OpenAccount', [['initialDeposit', '100.00']], 'u-open-2'))['accountId'] as string;
    const transfer = (i: number): Promise<BankCallResult> =>
      call(
        'Transfer',
        [
          ['fromAccountId', from],
          ['toAccountId', to],
          ['amount', '1.00'],
        ],
        `u-xfer-${i}`,
      );
    for (let i = 0; i < 5; i++) ok(await transfer(i));

    const port = new URL(fixture.data.url).port;
    await fixture.data.kill('SIGKILL');

    for (const [operation, args] of [
      [
        'Transfer',
        [
          ['fromAccountId', from],
          ['toAccountId', to],
          ['amount', '1.00'],
        ],
      ],
      ['GetBalance', [['accountId', from]]],
      [
        'Deposit',
        [
          ['accountId', to],
          ['amount', '1.00'],
        ],
      ],
      ['OpenAccount', []],
    ] as const) {
      const startedMs = Date.now();
      const result = await call(operation, args, operation === 'Transfer' ? 'u-xfer-5' : undefined);
      const elapsedMs = Date.now() - startedMs;
      expect(result.httpStatus, result.raw).to.equal(500);
      expect(result.fault?.code, `${operation}: ${result.raw}`).to.equal('SERVICE_UNAVAILABLE');
      expect(result.fault?.retryable).to.equal(true);
      expect(result.fault?.faultcode).to.equal('soap:Server');
      expect(elapsedMs, `${operation} took ${elapsedMs} ms`).to.be.below(1000);
    }

    await fixture.startData(Number(port));
    // The same business server, no restart: the retry of the failed transfer moves money once.
    ok(await transfer(5));
    ok(await transfer(5));
    for (let i = 6; i < 10; i++) ok(await transfer(i));
    expect(parseBalance(ok(await call('GetBalance', [['accountId', from]]))['balance'])).to.equal(9000);
    expect(parseBalance(ok(await call('GetBalance', [['accountId', to]]))['balance'])).to.equal(11000);
  });

  it('a data tier that never answers gives SERVICE_UNAVAILABLE after the call deadline, not a hang', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as net.AddressInfo).port;
    const business = await startProcess('business/main.js', {
      BANK_PORT: '0',
      BANK_BUSINESS_ID: fixture.businessIds[0]!,
      BANK_BUSINESS_TOKEN: fixture.businessTokens[0]!,
      BANK_DATA_URL: `http://127.0.0.1:${port}/data`,
      BANK_CLIENT_CREDENTIALS_FILE: `${fixture.dir}/client-credentials.json`,
      BANK_LOCK_WAIT_MS: '200',
      BANK_DATA_CALL_TIMEOUT_MS: '700',
      BANK_LOG_LEVEL: 'error',
    });
    try {
      const startedMs = Date.now();
      const result = await callBank(
        business.url,
        'Withdraw',
        [
          ['accountId', '1'],
          ['amount', '1.00'],
        ],
        { authToken: alice.authToken, clientId: alice.clientId },
        { timeoutMs: TIMEOUT_MS },
      );
      const elapsedMs = Date.now() - startedMs;
      expect(result.fault?.code, result.raw).to.equal('SERVICE_UNAVAILABLE');
      expect(elapsedMs).to.be.within(600, 3000);
    } finally {
      await business.kill('SIGTERM');
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
