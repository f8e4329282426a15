import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { callBank } from './helpers/bank-call';
import { cents, CLIENT_RATE_LIFTED, field, openAccount, statementOf, TestClient } from './helpers/cluster';
import { useCluster } from './helpers/use-cluster';

/**
 * Opposite transfers A→B and B→A in a tight loop from many clients at once, through the
 * balancer: no deadlock, every request answers within the bound, the total of the two accounts
 * is unchanged, and each statement adds up to its balance.
 */
const WORKERS_PER_SIDE = 8;
const TRANSFERS_PER_WORKER = 40;
const ANSWER_BOUND_MS = 10_000;

describe('cluster: opposite transfers in a tight loop', function () {
  this.timeout(60_000);
  const cluster = useCluster({ businessCount: 3, businessEnv: CLIENT_RATE_LIFTED });

  it('no deadlock, all answered within the bound, total unchanged', async () => {
    const alice = cluster().client('alice');
    const bob = cluster().client('bob');
    const a = await openAccount(cluster().balancerUrl, alice, '1000.00');
    const b = await openAccount(cluster().balancerUrl, bob, '1000.00');
    const answers: Array<{ side: 'AB' | 'BA'; code: string; ms: number; transactionId?: string }> = [];

    const worker = async (
      side: 'AB' | 'BA',
      w: number,
      client: TestClient,
      from: string,
      to: string,
    ): Promise<void> => {
      for (let i = 0; i < TRANSFERS_PER_WORKER; i++) {
        const started = performance.now();
        const r = await callBank(
          cluster().balancerUrl,
          'Transfer',
          [
            ['fromAccountId', from],
            ['toAccountId', to],
            ['amount', '1.00'],
          ],
          { ...client, requestId: `${side}-${w}-${i}` },
          { timeoutMs: ANSWER_BOUND_MS },
        );
        const ms = performance.now() - started;
        const code = r.fault?.code ?? 'OK';
        answers.push(code === 'OK' ? { side, code, ms, transactionId: field(r, 'transactionId') } : { side, code, ms });
      }
    };
    const workers: Promise<void>[] = [];
    for (let w = 0; w < WORKERS_PER_SIDE; w++) {
      workers.push(worker('AB', w, alice, a, b), worker('BA', w, bob, b, a));
    }
    await Promise.all(workers);

    expect(answers).to.have.length(2 * WORKERS_PER_SIDE * TRANSFERS_PER_WORKER);
    const tally: Record<string, number> = {};
    for (const x of answers) tally[x.code] = (tally[x.code] ?? 0) + 1;
    const slowestMs = Math.max(...answers.map((x) => x.ms));
    // Only a retryable "try again" is an acceptable non-success here.
    expect(
      Object.keys(tally).filter((c) => c !== 'OK' && c !== 'ACCOUNT_LOCKED'),
      JSON.stringify(tally),
    ).to.deep.equal([]);
    expect(tally.OK ?? 0, JSON.stringify(tally)).to.be.greaterThan(answers.length / 2);
    expect(slowestMs).to.be.below(ANSWER_BOUND_MS);

    const sa = await statementOf(cluster().balancerUrl, alice, a);
    const sb = await statementOf(cluster().balancerUrl, bob, b);
    expect(cents(sa.balance) + cents(sb.balance)).to.equal(200_000);
    for (const s of [sa, sb]) {
      expect(s.entries.reduce((sum, e) => sum + cents(e.amount), 0)).to.equal(cents(s.balance));
    }
    const okAB = answers.filter((x) => x.side === 'AB' && x.code === 'OK').map((x) => x.transactionId);
    const outA = sa.entries.filter((e) => e.kind === 'TRANSFER_OUT').map((e) => e.transactionId);
    expect(outA.slice().sort()).to.deep.equal(okAB.slice().sort());
    const okBA = answers.filter((x) => x.side === 'BA' && x.code === 'OK').map((x) => x.transactionId);
    const outB = sb.entries.filter((e) => e.kind === 'TRANSFER_OUT').map((e) => e.transactionId);
    expect(outB.slice().sort()).to.deep.equal(okBA.slice().sort());
    console.log(`      ${JSON.stringify(tally)}, slowest ${Math.round(slowestMs)} ms`);
  });
});
