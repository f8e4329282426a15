/**
 * BankClient against a real cluster (data server, 3 business servers, balancer; port 0):
 * the seed's story, each typed error a client can cause, and exactly-once under retry —
 * including a retry after the answer was lost on the way back (a real TCP proxy drops it).
 */
import { expect } from 'chai';
import { createConnection, createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';
import { Cents, formatCents, parseBalance } from '../common/money';
import { BankClient } from '../client-ts/bank-client';
import { decimal, DecimalString } from '../client-ts/decimal';
import {
  AccountNotFoundError,
  AuthenticationFailedError,
  BankError,
  InsufficientFundsError,
  InvalidAmountError,
  NotAuthorizedError,
  RequestIdConflictError,
  SameAccountError,
} from '../client-ts/errors';
import { launchCluster, LaunchedCluster } from './helpers/launched-cluster';
import { ifAssigned } from './helpers/if-assigned';

type DemoClient = LaunchedCluster['clients'][number];

function cents(text: string): Cents {
  return parseBalance(text);
}
function plus(balance: DecimalString, deltaCents: number): string {
  return formatCents(cents(balance) + deltaCents);
}
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.fail(`expected a failure, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

/**
 * A TCP proxy that forwards everything, except that for the first `dropAnswers` connections it
 * swallows the server's answer and closes the client's socket: the request was processed, the
 * answer lost — the case a request-id exists for.
 */
class AnswerDroppingProxy {
  private readonly server: Server;
  connections = 0;
  constructor(
    target: URL,
    private dropAnswers: number,
  ) {
    this.server = createServer((client: Socket) => {
      this.connections++;
      const drop = this.dropAnswers > 0;
      if (drop) this.dropAnswers--;
      const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (drop) client.destroy();
        else client.write(chunk);
      });
      upstream.on('end', () => client.end());
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
    });
  }
  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('client-ts: BankClient against a real cluster', function () {
  this.timeout(120_000);
  let cluster: LaunchedCluster | undefined;
  let url = '';
  let alice: DemoClient;
  let bob: DemoClient;
  let aliceBank: BankClient;
  let bobBank: BankClient;
  let aliceAccount = '';
  let bobAccount = '';

  before(async () => {
    cluster = await launchCluster();
    url = cluster.bankUrl;
    [alice, bob] = [cluster.clients[0]!, cluster.clients[1]!];
    expect(alice, 'two demo clients').to.not.equal(undefined);
    expect(bob, 'two demo clients').to.not.equal(undefined);
    aliceBank = new BankClient({
      url,
      clientId: alice.clientId,
      authToken: alice.authToken,
      timeoutMs: 10_000,
      retries: 2,
    });
    bobBank = new BankClient({ url, clientId: bob.clientId, authToken: bob.authToken, timeoutMs: 10_000, retries: 2 });
    // Fresh accounts per test run, so the numbers below do not depend on the demo seed.
    aliceAccount = (await aliceBank.openAccount(decimal('100.00'))).accountId;
    bobAccount = (await bobBank.openAccount(decimal('5.00'))).accountId;
  });

  after(async () => {
    ifAssigned(aliceBank)?.close();
    ifAssigned(bobBank)?.close();
    await cluster?.stop();
  });

  it("the seed's story: transfer 10.00 to another client's account and see the new balance", async () => {
    const before = await aliceBank.getBalance(aliceAccount);
    const bobBefore = await bobBank.getBalance(bobAccount);
    const result = await aliceBank.transfer(aliceAccount, bobAccount, decimal('10.00'));
    expect(result.fromAccountId).to.equal(aliceAccount);
    expect(result.balance).to.equal(plus(before.balance, -1000));
    expect((await aliceBank.getBalance(aliceAccount)).balance).to.equal(result.balance);
    expect((await bobBank.getBalance(bobAccount)).balance).to.equal(plus(bobBefore.balance, 1000));
    // The statement tells the same story on both sides.
    const mine = await aliceBank.getStatement(aliceAccount, 5);
    expect(mine.entries[0]).to.include({
      transactionId: result.transactionId,
      kind: 'TRANSFER_OUT',
      amount: '-10.00',
      counterpartyAccountId: bobAccount,
    });
    const theirs = await bobBank.getStatement(bobAccount, 5);
    expect(theirs.entries[0]).to.include({
      transactionId: result.transactionId,
      kind: 'TRANSFER_IN',
      amount: '10.00',
      counterpartyAccountId: aliceAccount,
    });
  });

  it('opens accounts, deposits (balance shown only for own accounts), withdraws', async () => {
    const opened = await aliceBank.openAccount();
    expect(opened.balance).to.equal('0.00');
    const own = await aliceBank.deposit(opened.accountId, decimal('12.34'));
    expect(own.balance).to.equal('12.34');
    const foreign = await aliceBank.deposit(bobAccount, decimal('0.01'));
    expect(foreign.accountId).to.equal(bobAccount);
    expect(foreign).to.not.have.property('balance');
    const withdrawn = await aliceBank.withdraw(opened.accountId, decimal('2.34'));
    expect(withdrawn.balance).to.equal('10.00');
  });

  it('insufficient funds comes back as InsufficientFundsError and moves nothing', async () => {
    const before = await aliceBank.getBalance(aliceAccount);
    const error = await failure(aliceBank.transfer(aliceAccount, bobAccount, decimal('1000000.00')));
    expect(error).to.be.instanceOf(InsufficientFundsError);
    expect((error as BankError).code).to.equal('INSUFFICIENT_FUNDS');
    expect((error as BankError).retryable).to.equal(false);
    expect((await aliceBank.getBalance(aliceAccount)).balance).to.equal(before.balance);
    expect(await failure(aliceBank.withdraw(aliceAccount, decimal(plus(before.balance, 1))))).to.be.instanceOf(
      InsufficientFundsError,
    );
  });

  it('a foreign account comes back as NotAuthorizedError (withdraw, transfer from, balance, statement)', async () => {
    for (const call of [
      () => aliceBank.withdraw(bobAccount, decimal('1.00')),
      () => aliceBank.transfer(bobAccount, aliceAccount, decimal('1.00')),
      () => aliceBank.getBalance(bobAccount),
      () => aliceBank.getStatement(bobAccount),
    ]) {
      const error = await failure(call());
      expect(error).to.be.instanceOf(NotAuthorizedError);
      expect((error as BankError).accountId).to.equal(bobAccount);
    }
  });

  it('a bad token comes back as AuthenticationFailedError', async () => {
    const impostor = new BankClient({ url, clientId: alice.clientId, authToken: 'not-the-token', retries: 0 });
    const nobody = new BankClient({ url, clientId: 'nobody', authToken: alice.authToken, retries: 0 });
    try {
      expect(await failure(impostor.getBalance(aliceAccount))).to.be.instanceOf(AuthenticationFailedError);
      expect(await failure(impostor.transfer(aliceAccount, bobAccount, decimal('1.00')))).to.be.instanceOf(
        AuthenticationFailedError,
      );
      expect(await failure(nobody.getBalance(aliceAccount))).to.be.instanceOf(AuthenticationFailedError);
    } finally {
      impostor.close();
      nobody.close();
    }
  });

  it('invalid amounts 0, -1, 0.001 reach the server and come back as InvalidAmountError', async () => {
    const before = await aliceBank.getBalance(aliceAccount);
    for (const amount of ['0', '-1', '0.001', '0.00', '1000000000.00']) {
      for (const call of [
        () => aliceBank.deposit(aliceAccount, decimal(amount)),
        () => aliceBank.withdraw(aliceAccount, decimal(amount)),
        () => aliceBank.transfer(aliceAccount, bobAccount, decimal(amount)),
      ]) {
        const error = await failure(call());
        expect(error, amount).to.be.instanceOf(InvalidAmountError);
      }
    }
    expect((await aliceBank.getBalance(aliceAccount)).balance).to.equal(before.balance);
  });

  it('unknown accounts and same-account transfers have their own errors', async () => {
    const missing = await failure(aliceBank.deposit('999999999', decimal('1.00')));
    expect(missing).to.be.instanceOf(AccountNotFoundError);
    expect((missing as BankError).accountId).to.equal('999999999');
    expect(await failure(aliceBank.transfer(aliceAccount, aliceAccount, decimal('1.00')))).to.be.instanceOf(
      SameAccountError,
    );
  });

  it('the same request-id moves money once; different content under it is a conflict', async () => {
    const before = await aliceBank.getBalance(aliceAccount);
    const requestId = `ts-once-${Date.now()}`;
    const first = await aliceBank.transfer(aliceAccount, bobAccount, decimal('1.00'), { requestId });
    const again = await aliceBank.transfer(aliceAccount, bobAccount, decimal('1.00'), { requestId });
    expect(again.transactionId).to.equal(first.transactionId);
    expect(again.balance).to.equal(first.balance);
    expect((await aliceBank.getBalance(aliceAccount)).balance).to.equal(plus(before.balance, -100));
    expect(
      await failure(aliceBank.transfer(aliceAccount, bobAccount, decimal('2.00'), { requestId })),
    ).to.be.instanceOf(RequestIdConflictError);
    // Request-ids are scoped by client: bob may use the same key for his own transfer.
    const bobs = await bobBank.transfer(bobAccount, aliceAccount, decimal('0.50'), { requestId });
    expect(bobs.transactionId).to.not.equal(first.transactionId);
  });

  it('a retry after a lost answer reuses the request-id and moves money exactly once', async () => {
    const proxy = new AnswerDroppingProxy(new URL(url), 1);
    const port = await proxy.start();
    const viaProxy = new BankClient({
      url: `http://127.0.0.1:${port}/bank`,
      clientId: alice.clientId,
      authToken: alice.authToken,
      timeoutMs: 5_000,
      retries: 2,
      retryDelayMs: 50,
    });
    try {
      const before = await aliceBank.getBalance(aliceAccount);
      const result = await viaProxy.transfer(aliceAccount, bobAccount, decimal('3.00'));
      expect(proxy.connections, 'the first answer was dropped, so the client retried').to.be.at.least(2);
      expect(result.balance).to.equal(plus(before.balance, -300));
      expect((await aliceBank.getBalance(aliceAccount)).balance).to.equal(plus(before.balance, -300));
      const statement = await aliceBank.getStatement(aliceAccount, 10);
      expect(statement.entries.filter((e) => e.transactionId === result.transactionId)).to.have.length(1);
    } finally {
      viaProxy.close();
      await proxy.stop();
    }
  });

  it('concurrent calls on one client keep their own request-ids and all land', async () => {
    const before = await aliceBank.getBalance(aliceAccount);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => aliceBank.deposit(aliceAccount, decimal('0.25'))),
    );
    expect(new Set(results.map((r) => r.requestId)).size).to.equal(8);
    expect(new Set(results.map((r) => r.transactionId)).size).to.equal(8);
    expect((await aliceBank.getBalance(aliceAccount)).balance).to.equal(plus(before.balance, 200));
  });
});
