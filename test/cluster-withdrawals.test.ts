import { expect } from 'chai';
import { callWithRetry, cents, field, openAccount, statementOf } from './helpers/cluster';
import { useCluster } from './helpers/use-cluster';

/**
 * 100 concurrent withdrawals of 10.00 from an account holding 500.00, spread over all three
 * business servers (sent to each directly, so they really contend in the data tier): exactly
 * 50 succeed, 50 are INSUFFICIENT_FUNDS, the final balance is 0.00, never negative.
 */
describe('cluster: concurrent withdrawals over three business servers', function () {
  this.timeout(60_000);
  const cluster = useCluster({ businessCount: 3 });

  it('exactly 50 of 100 withdrawals of 10.00 from 500.00 succeed; final 0.00', async function () {
    const alice = cluster().client('alice');
    const account = await openAccount(cluster().balancerUrl, alice, '500.00');
    const results = await Promise.all(
      Array.from({ length: 100 }, (_v, i) => {
        const url = cluster().businessUrls[i % cluster().businessUrls.length]!;
        return callWithRetry(
          url,
          'Withdraw',
          [
            ['accountId', account],
            ['amount', '10.00'],
          ],
          alice,
          `wd-${i}`,
        );
      }),
    );
    const codes = results.map((r) => r.result.fault?.code ?? 'OK');
    const tally: Record<string, number> = {};
    for (const c of codes) tally[c] = (tally[c] ?? 0) + 1;
    const retries = results.reduce((sum, r) => sum + r.retries, 0);
    expect(tally, `${JSON.stringify(tally)} (client retries of retryable faults: ${retries})`).to.deep.equal({
      OK: 50,
      INSUFFICIENT_FUNDS: 50,
    });
    for (const r of results) {
      if (r.result.fault === undefined) expect(cents(field(r.result, 'balance'))).to.be.at.least(0);
      else expect(r.result.httpStatus).to.equal(500);
    }
    const { balance, entries } = await statementOf(cluster().balancerUrl, alice, account);
    expect(balance).to.equal('0.00');
    const withdrawals = entries.filter((e) => e.kind === 'WITHDRAWAL');
    expect(withdrawals).to.have.length(50);
    expect(new Set(withdrawals.map((e) => e.transactionId)).size).to.equal(50);
    for (const e of entries) expect(cents(e.balanceAfter)).to.be.at.least(0);
    const acknowledged = results
      .filter((r) => r.result.fault === undefined)
      .map((r) => field(r.result, 'transactionId'));
    expect(new Set(acknowledged)).to.deep.equal(new Set(withdrawals.map((e) => e.transactionId)));
  });
});
