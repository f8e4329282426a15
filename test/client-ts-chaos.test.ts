/**
 * BankClient under failure: a business server is SIGKILLed while transfers stream through the
 * balancer. Every transfer the client reports as done must be in the ledger exactly once, and
 * the balances must add up — the client's bounded retries reuse each call's request-id, so a
 * retry after a lost answer never moves money twice.
 */
import { expect } from 'chai';
import { formatCents, parseBalance } from '../common/money';
import { BankClient } from '../client-ts/bank-client';
import { decimal } from '../client-ts/decimal';
import { BankTransportError } from '../client-ts/errors';
import { startCluster, TestCluster } from './helpers/cluster';

const TRANSFERS = 60;
const CONCURRENCY = 4;
const KILL_AFTER = 12;

describe('client-ts: exactly once while a business server dies', function () {
  this.timeout(120_000);
  let cluster: TestCluster | undefined;

  after(async () => {
    await cluster?.stop();
  });

  it(`${TRANSFERS} transfers of 1.00, one business server SIGKILLed after ${KILL_AFTER}: each lands once`, async () => {
    cluster = await startCluster({ businessCount: 3 });
    const options = { url: cluster.balancerUrl, timeoutMs: 5_000, retries: 6, retryDelayMs: 50 };
    const alice = new BankClient({ ...options, ...cluster.client('alice') });
    const bob = new BankClient({ ...options, ...cluster.client('bob') });
    try {
      const from = (await alice.openAccount(decimal('100.00'))).accountId;
      const to = (await bob.openAccount()).accountId;
      const requestIds = Array.from({ length: TRANSFERS }, (_v, i) => `chaos-${Date.now()}-${i}`);
      const transactionIds = new Map<string, string>();
      let started = 0;
      let killed: Promise<void> | undefined;
      const worker = async (): Promise<void> => {
        for (;;) {
          const i = started++;
          const requestId = requestIds[i];
          if (requestId === undefined) return;
          if (i === KILL_AFTER) killed = cluster!.killBusiness(1, 'SIGKILL');
          // A transport failure after all retries leaves the outcome unknown: ask again with the
          // same request-id until the answer is final (what a careful caller does).
          for (let round = 0; ; round++) {
            try {
              const result = await alice.transfer(from, to, decimal('1.00'), { requestId });
              transactionIds.set(requestId, result.transactionId);
              break;
            } catch (error) {
              if (!(error instanceof BankTransportError) || round >= 3) throw error;
            }
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      await killed;

      expect(transactionIds.size).to.equal(TRANSFERS);
      expect(new Set(transactionIds.values()).size, 'distinct transactions').to.equal(TRANSFERS);
      expect((await alice.getBalance(from)).balance).to.equal(formatCents(parseBalance('100.00') - TRANSFERS * 100));
      expect((await bob.getBalance(to)).balance).to.equal(formatCents(TRANSFERS * 100));
      const statement = await alice.getStatement(from, 1000);
      const outs = statement.entries.filter((e) => e.kind === 'TRANSFER_OUT');
      expect(outs).to.have.length(TRANSFERS);
      expect(new Set(outs.map((e) => e.transactionId))).to.deep.equal(new Set(transactionIds.values()));
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${cluster.logs().slice(-4000)}`, { cause: error });
    } finally {
      alice.close();
      bob.close();
    }
  });
});
