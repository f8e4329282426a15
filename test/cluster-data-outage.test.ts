import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { callBank } from './helpers/bank-call';
import { balanceOf, field, openAccount, statementOf } from './helpers/cluster';
import { useCluster } from './helpers/use-cluster';

/**
 * The data server stopped: business calls fail fast with SERVICE_UNAVAILABLE (retryable), and
 * work again once it is back on the same port, with nothing lost; a request refused during the
 * outage moves money exactly once when retried afterwards with the same request-id.
 */
const FAST_MS = 3000;

describe('cluster: the data server stopped and started again', function () {
  this.timeout(60_000);
  const cluster = useCluster({ businessCount: 3 });

  it('SERVICE_UNAVAILABLE fast while down; back to work after the restart, nothing lost', async () => {
    const alice = cluster().client('alice');
    const bob = cluster().client('bob');
    const a = await openAccount(cluster().balancerUrl, alice, '300.00');
    const b = await openAccount(cluster().balancerUrl, bob, '300.00');
    const before = await callBank(
      cluster().balancerUrl,
      'Transfer',
      [
        ['fromAccountId', a],
        ['toAccountId', b],
        ['amount', '50.00'],
      ],
      { ...alice, requestId: 'before-outage' },
      { timeoutMs: 10_000 },
    );
    expect(field(before, 'balance')).to.equal('250.00');

    await cluster().stopData('SIGKILL');
    const transferArgs = [
      ['fromAccountId', a],
      ['toAccountId', b],
      ['amount', '20.00'],
    ] as const;
    for (const url of [cluster().balancerUrl, ...cluster().businessUrls]) {
      for (const [op, args] of [
        ['Transfer', transferArgs],
        ['GetBalance', [['accountId', a]]],
      ] as const) {
        const started = performance.now();
        const r = await callBank(url, op, args, { ...alice, requestId: 'during-outage' }, { timeoutMs: 15_000 });
        const ms = performance.now() - started;
        expect(r.httpStatus, `${op} via ${url}`).to.equal(500);
        expect(r.fault?.code, `${op} via ${url}: ${r.raw.slice(0, 300)}`).to.equal('SERVICE_UNAVAILABLE');
        expect(r.fault?.retryable).to.equal(true);
        expect(ms, `${op} via ${url} answered in ${Math.round(ms)} ms`).to.be.below(FAST_MS);
      }
    }

    await cluster().startData();
    // Business servers reconnect on their own; give them a moment at most.
    let after: Awaited<ReturnType<typeof callBank>> | undefined;
    const until = Date.now() + 10_000;
    do {
      after = await callBank(
        cluster().balancerUrl,
        'Transfer',
        transferArgs,
        { ...alice, requestId: 'during-outage' },
        { timeoutMs: 10_000 },
      );
      if (after.fault?.code !== 'SERVICE_UNAVAILABLE') break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < until);
    expect(field(after, 'balance')).to.equal('230.00');
    const replay = await callBank(
      cluster().businessUrls[0]!,
      'Transfer',
      transferArgs,
      { ...alice, requestId: 'during-outage' },
      { timeoutMs: 10_000 },
    );
    expect(field(replay, 'transactionId')).to.equal(field(after, 'transactionId'));
    expect(await balanceOf(cluster().balancerUrl, alice, a)).to.equal('230.00');
    expect(await balanceOf(cluster().balancerUrl, bob, b)).to.equal('370.00');
    const statement = await statementOf(cluster().balancerUrl, bob, b);
    expect(statement.entries.map((e) => e.kind).sort()).to.deep.equal(['OPENING', 'TRANSFER_IN', 'TRANSFER_IN']);
  });
});
