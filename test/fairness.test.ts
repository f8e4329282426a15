import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccountQueue, QueueCaller } from '../business/account-queue';
import { loadBusinessConfig } from '../business/config';
import { ClientRateLimiter } from '../business/rate-limit';
import { isServiceFault } from '../common/service-fault';
import { BankClient, RateLimitedError } from '../client-ts';
import { callBank } from './helpers/bank-call';
import { BankFixture, startBankFixture } from './helpers/bank-fixture';
import { ifAssigned } from './helpers/if-assigned';

/**
 * Issue 8, item 2: fairness per caller inside a business server — a token bucket per client,
 * a per-client share of each account's queue, the owner first — and the RATE_LIMITED fault with
 * its retryAfterMs, as a real business server sends it and as the TypeScript client honours it.
 * The flood through a whole cluster is test/fairness-cluster.test.ts.
 */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function caller(clientId: string, ownerOf = 'alice'): QueueCaller {
  return { clientId, owns: () => clientId === ownerOf };
}

describe('fairness: token bucket per client', () => {
  it('lets a burst through, then refuses with the time until the next token', () => {
    const limiter = new ClientRateLimiter({ ratePerS: 10, burst: 3, clientsMax: 100 });
    const t0 = 1_000_000;
    expect([limiter.take('bob', t0), limiter.take('bob', t0), limiter.take('bob', t0)]).to.deep.equal([0, 0, 0]);
    expect(limiter.take('bob', t0)).to.equal(100); // 10 per second: one token every 100 ms
    expect(limiter.take('bob', t0 + 40)).to.equal(60);
    expect(limiter.take('bob', t0 + 100)).to.equal(0);
    expect(limiter.take('alice', t0 + 100), 'another client has its own bucket').to.equal(0);
  });

  it('refills at the rate, never above the burst', () => {
    const limiter = new ClientRateLimiter({ ratePerS: 10, burst: 2, clientsMax: 100 });
    expect(limiter.take('bob', 0)).to.equal(0);
    expect(limiter.take('bob', 0)).to.equal(0);
    expect(limiter.take('bob', 10_000), 'after 10 s idle').to.equal(0);
    expect(limiter.take('bob', 10_000)).to.equal(0);
    expect(limiter.take('bob', 10_000), 'still only the burst').to.be.above(0);
  });

  it('keeps at most clientsMax buckets', () => {
    const limiter = new ClientRateLimiter({ ratePerS: 1, burst: 1, clientsMax: 2 });
    for (const id of ['a', 'b', 'c', 'd']) limiter.take(id, 0);
    expect(limiter.clients).to.equal(2);
  });
});

describe('fairness: account queue shares', () => {
  it('refuses a client past its share of one account with RATE_LIMITED and retryAfterMs', async () => {
    const queue = new AccountQueue({ lengthMax: 10, perClientMax: 2, waitMs: 1000 });
    const held = [queue.run(['5'], caller('bob'), () => sleep(30)), queue.run(['5'], caller('bob'), () => sleep(1))];
    const refused = await rejection(queue.run(['5'], caller('bob'), () => sleep(1)));
    expect(isServiceFault(refused) && refused.code).to.equal('RATE_LIMITED');
    expect(isServiceFault(refused) && refused.retryable).to.equal(true);
    expect(isServiceFault(refused) && refused.retryAfterMs).to.be.within(1, 1000);
    await queue.run(['5'], caller('carol'), () => sleep(1)); // another client still gets in
    await Promise.all(held);
    expect(queue.busyAccounts).to.equal(0);
  });

  it('does not hold the owner to the per-client share (only to the queue length)', async () => {
    const queue = new AccountQueue({ lengthMax: 5, perClientMax: 2, waitMs: 1000 });
    const mine = Array.from({ length: 5 }, () => queue.run(['5'], caller('alice'), () => sleep(5)));
    const refused = await rejection(queue.run(['5'], caller('alice'), () => sleep(1)));
    expect(isServiceFault(refused) && refused.code).to.equal('ACCOUNT_LOCKED');
    await Promise.all(mine);
    expect(queue.busyAccounts).to.equal(0);
  });

  it('keeps perClientMax places for the owner however many others queue', async () => {
    const queue = new AccountQueue({ lengthMax: 6, perClientMax: 2, waitMs: 1000 });
    const others = ['bob', 'carol', 'dave', 'erin'].flatMap((id) =>
      [0, 1].map(() => rejection(queue.run(['5'], caller(id), () => sleep(20))).catch(() => undefined)),
    );
    // 4 of the others got places (6 - 2); the others were refused with ACCOUNT_LOCKED.
    expect(queue.lengthOf('5')).to.equal(4);
    const owner = [
      queue.run(['5'], caller('alice'), () => sleep(1)),
      queue.run(['5'], caller('alice'), () => sleep(1)),
    ];
    expect(queue.lengthOf('5')).to.equal(6);
    await Promise.all([...owner, ...others]);
    expect(queue.busyAccounts).to.equal(0);
  });

  it('serves the owner first, then the other clients in turns', async () => {
    const queue = new AccountQueue({ lengthMax: 20, perClientMax: 8, waitMs: 5000 });
    const order: string[] = [];
    const job = (id: string, tag: string) =>
      queue.run(['5'], caller(id), async () => {
        order.push(tag);
        await sleep(2);
      });
    const jobs = [job('bob', 'running')];
    for (let i = 1; i <= 3; i++) jobs.push(job('bob', `bob${i}`));
    jobs.push(job('carol', 'carol1'), job('carol', 'carol2'));
    jobs.push(job('alice', 'alice1'), job('alice', 'alice2'));
    await Promise.all(jobs);
    expect(order).to.deep.equal(['running', 'alice1', 'alice2', 'bob1', 'carol1', 'bob2', 'carol2', 'bob3']);
    expect(queue.busyAccounts).to.equal(0);
  });

  it('keeps its counts right when waiters of several clients time out', async () => {
    const queue = new AccountQueue({ lengthMax: 10, perClientMax: 3, waitMs: 20 });
    const slow = queue.run(['5'], caller('alice'), () => sleep(80));
    const timedOut = await Promise.all(
      ['bob', 'carol', 'bob'].map((id) => rejection(queue.run(['5'], caller(id), () => sleep(1)))),
    );
    expect(timedOut.every((e) => isServiceFault(e) && e.code === 'ACCOUNT_LOCKED')).to.equal(true);
    await slow;
    expect(queue.busyAccounts).to.equal(0);
    await queue.run(['5'], caller('bob'), () => sleep(1));
    expect(queue.busyAccounts).to.equal(0);
  });
});

describe('fairness: settings', () => {
  const base = { BANK_BUSINESS_TOKEN: 'x' };
  it('has a bank-like default rate, burst and share', () => {
    const config = loadBusinessConfig(base, []);
    expect([config.clientRatePerS, config.clientBurst, config.accountQueuePerClientMax]).to.deep.equal([50, 100, 8]);
  });
  it('refuses a per-client share that leaves no room for the owner', () => {
    expect(() =>
      loadBusinessConfig({ ...base, BANK_ACCOUNT_QUEUE_LENGTH_MAX: '8', BANK_ACCOUNT_QUEUE_PER_CLIENT_MAX: '8' }, []),
    ).to.throw(/BANK_ACCOUNT_QUEUE_PER_CLIENT_MAX/);
    expect(() => loadBusinessConfig({ ...base, BANK_CLIENT_RATE_PER_S: '0' }, [])).to.throw(/BANK_CLIENT_RATE_PER_S/);
  });
});

describe('fairness: RATE_LIMITED from a real business server', function () {
  this.timeout(30_000);
  let fixture: BankFixture;
  before(async () => {
    // 2 requests at once, then one every 500 ms.
    fixture = await startBankFixture({
      clients: 2,
      businessEnv: { BANK_CLIENT_RATE_PER_S: '2', BANK_CLIENT_BURST: '2' },
    });
  });
  after(async () => {
    await ifAssigned(fixture)?.stop();
  });

  it('answers past the burst with a retryable RATE_LIMITED carrying retryAfterMs; other clients are untouched', async () => {
    const url = fixture.business[0]!.url;
    const [c1, c2] = fixture.clients;
    const opened = await callBank(
      url,
      'OpenAccount',
      [['initialDeposit', '10.00']],
      { ...c1!, requestId: 'rl-open' },
      { timeoutMs: 5000 },
    );
    const accountId = opened.body?.['accountId'] as string;
    expect(accountId).to.match(/^[1-9]/);
    expect((await callBank(url, 'GetBalance', [['accountId', accountId]], c1!, { timeoutMs: 5000 })).fault).to.equal(
      undefined,
    );
    const limited = await callBank(url, 'GetBalance', [['accountId', accountId]], c1!, { timeoutMs: 5000 });
    expect(limited.httpStatus).to.equal(500);
    expect(limited.fault?.code).to.equal('RATE_LIMITED');
    expect(limited.fault?.faultcode).to.equal('soap:Server');
    expect(limited.fault?.retryable).to.equal(true);
    const retryAfterMs = Number(
      /<retryable>true<\/retryable><retryAfterMs>([0-9]+)<\/retryAfterMs><\/BankFault>/.exec(limited.raw)?.[1],
    );
    expect(retryAfterMs, limited.raw).to.be.within(1, 500);
    const other = await callBank(url, 'OpenAccount', [], { ...c2!, requestId: 'rl-other' }, { timeoutMs: 5000 });
    expect(other.fault).to.equal(undefined);
  });

  it('the TypeScript client waits retryAfterMs before its retry, and says it when it gives up', async () => {
    const url = fixture.business[0]!.url;
    const c2 = fixture.clients[1]!;
    await sleep(1100); // a full bucket again
    const patient = new BankClient({ url, ...c2, retries: 3, retryDelayMs: 1 });
    const impatient = new BankClient({ url, ...c2, retries: 0 });
    try {
      // The bucket (2, refilled at 2/s) is full: OpenAccount and GetBalance take its two tokens,
      // and from OpenAccount on it refills, so a third call can be served no earlier than 500 ms
      // after OpenAccount — however slow the machine. A client that retried after its own 1 ms
      // pause instead of retryAfterMs would give up long before.
      const startedMs = Date.now();
      const opened = await patient.openAccount();
      await patient.getBalance(opened.accountId); // the bucket is empty now
      await patient.getBalance(opened.accountId); // refused once, then retried after retryAfterMs
      expect(Date.now() - startedMs, 'waited for a token, not 1 ms').to.be.at.least(450);
      const error = await rejection(impatient.getBalance(opened.accountId));
      expect(error).to.be.instanceOf(RateLimitedError);
      expect((error as RateLimitedError).retryAfterMs).to.be.within(1, 500);
    } finally {
      patient.close();
      impatient.close();
    }
  });
});
