import { expect } from 'chai';
import { DataClient, DataCallError } from '../business/data-client';
import { createLogger } from '../common/logger';
import { DataFixture, lockOf, sqliteBackend } from './helpers/data-server';
import { fetchMetrics, sampleSum } from './helpers/metrics';

// The business server's data-tier client batches the Lock / Update / Unlock calls of one moment
// (business/data-batcher.ts) against a real data server process: fewer requests, the same
// answers, and a Lock that met a taken account in a batch queues for it on its own.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('data client: batching of calls (against a real data server)', function () {
  let fx: DataFixture;

  before(async () => {
    fx = await DataFixture.start(sqliteBackend());
  });
  after(async () => {
    await fx.stop();
  });

  function client(batchCallsMax: number, batchesInFlightMax = 2): DataClient {
    return new DataClient({
      urls: [fx.url],
      healthIntervalMs: 1000,
      healthTimeoutMs: 500,
      businessId: fx.credentials.b1.businessId,
      businessToken: fx.credentials.b1.authToken,
      callTimeoutMs: 5000,
      socketsMax: 8,
      responseBytesMax: 1 << 20,
      callsInFlightMax: 1024,
      batchCallsMax,
      batchesInFlightMax,
      logger: createLogger({ service: 'test', level: 'error' }),
    });
  }
  const scope = (requestId: string) => ({ requestId, deadlineAtMs: Date.now() + 10_000 });

  it('sends the calls of one moment as one Batch: 20 Unlocks, one request', async () => {
    const data = client(32);
    try {
      const batchesBefore = await served(fx, 'Batch');
      const unlocksBefore = await served(fx, 'Unlock');
      const released = await Promise.all(
        Array.from({ length: 20 }, (_v, i) => data.unlock(scope(`unlock-${i}`), `no-such-lock-${i}`)),
      );
      expect(released).to.deep.equal(Array.from({ length: 20 }, () => false));
      expect((await served(fx, 'Batch')) - batchesBefore, 'Batch requests').to.equal(1);
      expect((await served(fx, 'Unlock')) - unlocksBefore, 'Unlock calls').to.equal(20);
    } finally {
      data.close();
    }
  });

  it('splits a moment into batches of at most batchCallsMax calls; 1 never batches', async () => {
    const batched = client(8, 8);
    const alone = client(1);
    try {
      const batchesBefore = await served(fx, 'Batch');
      await Promise.all(Array.from({ length: 20 }, (_v, i) => batched.unlock(scope(`split-${i}`), `none-${i}`)));
      expect((await served(fx, 'Batch')) - batchesBefore, '20 calls in batches of 8').to.equal(3);
      await Promise.all(Array.from({ length: 5 }, (_v, i) => alone.unlock(scope(`alone-${i}`), `none-${i}`)));
      expect((await served(fx, 'Batch')) - batchesBefore, 'batchCallsMax 1').to.equal(3);
    } finally {
      batched.close();
      alone.close();
    }
  });

  it('a Lock that found its account taken in a batch queues for it alone (waitMs), and is granted on release', async () => {
    const data = client(32);
    try {
      const [a, b] = [await fx.createAccount('5.00'), await fx.createAccount('5.00')];
      const held = lockOf(await fx.lock([a], 'b2', { leaseMs: 5000 }));
      setTimeout(() => void fx.call('Unlock', [['lockId', held.lockId]], 'b2'), 300);
      const startedAtMs = Date.now();
      const batchesBefore = await served(fx, 'Batch');
      const [grantA, grantB] = await Promise.all([
        data.lock(scope('lock-a'), [a], 3000, undefined),
        data.lock(scope('lock-b'), [b], 3000, undefined),
      ]);
      expect((await served(fx, 'Batch')) - batchesBefore, 'both Locks went in one Batch').to.equal(1);
      expect(grantA.accounts[0]?.accountId).to.equal(a);
      expect(grantB.accounts[0]?.accountId).to.equal(b);
      expect(Date.now() - startedAtMs, 'granted after the holder released').to.be.at.least(250);
      await Promise.all([data.unlock(scope('u-a'), grantA.lockId), data.unlock(scope('u-b'), grantB.lockId)]);
    } finally {
      data.close();
    }
  });

  it('a Lock with waitMs 0 that found its account taken in a batch is ACCOUNT_LOCKED', async () => {
    const data = client(32);
    try {
      const [a, b] = [await fx.createAccount('5.00'), await fx.createAccount('5.00')];
      const held = lockOf(await fx.lock([a], 'b2', { leaseMs: 5000 }));
      const [lockA, lockB] = await Promise.allSettled([
        data.lock(scope('lock0-a'), [a], 0, undefined),
        data.lock(scope('lock0-b'), [b], 0, undefined),
      ]);
      expect(lockA.status).to.equal('rejected');
      const reason = (lockA as PromiseRejectedResult).reason as DataCallError;
      expect(reason.fault?.code).to.equal('ACCOUNT_LOCKED');
      expect(lockB.status).to.equal('fulfilled');
      await fx.call('Unlock', [['lockId', held.lockId]], 'b2');
      if (lockB.status === 'fulfilled') await data.unlock(scope('u0-b'), lockB.value.lockId);
    } finally {
      data.close();
    }
  });

  it('a data server that stops answering under a batch fails each of its calls as unavailable, and nothing hangs', async () => {
    const data = client(32);
    try {
      process.kill(fx.proc.pid, 'SIGSTOP');
      const calls = Promise.allSettled(
        Array.from({ length: 4 }, (_v, i) =>
          data.unlock({ requestId: `dead-${i}`, deadlineAtMs: Date.now() + 400 }, `none-${i}`),
        ),
      );
      const settled = await Promise.race([calls, sleep(3000).then(() => 'hung' as const)]);
      expect(settled).not.to.equal('hung');
      for (const s of settled as PromiseSettledResult<boolean>[]) {
        expect(s.status).to.equal('rejected');
        expect(((s as PromiseRejectedResult).reason as DataCallError).kind).to.equal('unavailable');
      }
    } finally {
      process.kill(fx.proc.pid, 'SIGCONT');
      data.close();
    }
  });
});

/** distbank_requests_total of one operation, any outcome, from the data server's /metrics. */
async function served(fx: DataFixture, operation: string): Promise<number> {
  const { text } = await fetchMetrics(fx.url, fx.adminToken);
  return sampleSum(text, 'distbank_requests_total', { operation });
}
