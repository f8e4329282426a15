import { expect } from 'chai';
import { healthDetails } from './helpers/admin';
import { callWithRetry, cents, field, openAccount, statementOf } from './helpers/cluster';
import { useCluster } from './helpers/use-cluster';

/**
 * A business server killed with SIGKILL in the middle of a stream of transfers through the
 * balancer: the balancer routes around it, no acknowledged transfer is lost, none is applied
 * twice (each acknowledged transactionId is in the journal exactly once on each side), and the
 * total is conserved. Clients retry with the same request-id, as a careful client does.
 */
const ACCOUNTS = 4;
const WORKERS = 8;
const TRANSFERS_PER_WORKER = 50;
const KILL_AFTER_DONE = 80;

describe('cluster: SIGKILL of a business server during a stream of transfers', function () {
  this.timeout(90_000);
  // A short lease, so a lock held by the killed server frees soon.
  const cluster = useCluster({ businessCount: 3, businessEnv: { BANK_LOCK_LEASE_MS: '1500' } });

  it('routes around the dead server; nothing lost, nothing doubled, total conserved', async () => {
    const alice = cluster().client('alice');
    const accounts: string[] = [];
    for (let i = 0; i < ACCOUNTS; i++) accounts.push(await openAccount(cluster().balancerUrl, alice, '1000.00'));

    let done = 0;
    let killedAt: number | undefined;
    let killing: Promise<void> | undefined;
    const acknowledged: Array<{ transactionId: string; from: string; to: string; amount: string; afterKill: boolean }> =
      [];
    const finalFaults: Record<string, number> = {};
    let clientRetries = 0;

    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < TRANSFERS_PER_WORKER; i++) {
        const from = accounts[(w + i) % ACCOUNTS]!;
        const to = accounts[(w + i + 1 + (i % (ACCOUNTS - 1))) % ACCOUNTS]!;
        const amount = `${1 + ((w * 7 + i * 13) % 9)}.${String((w + i) % 100).padStart(2, '0')}`;
        const r = await callWithRetry(
          cluster().balancerUrl,
          'Transfer',
          [
            ['fromAccountId', from],
            ['toAccountId', to],
            ['amount', amount],
          ],
          alice,
          `fo-${w}-${i}`,
        );
        clientRetries += r.retries;
        if (r.result.fault === undefined) {
          acknowledged.push({
            transactionId: field(r.result, 'transactionId'),
            from,
            to,
            amount,
            afterKill: killedAt !== undefined,
          });
        } else {
          finalFaults[r.result.fault.code] = (finalFaults[r.result.fault.code] ?? 0) + 1;
        }
        done++;
        if (done === KILL_AFTER_DONE) {
          killedAt = Date.now();
          killing = cluster().killBusiness(1, 'SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_v, w) => worker(w)));
    await killing;
    expect(killedAt, 'the kill happened during the stream').to.not.equal(undefined);

    // Only a final business answer is acceptable as a non-success (funds ran out on one account).
    expect(
      Object.keys(finalFaults).filter((c) => c !== 'INSUFFICIENT_FUNDS'),
      JSON.stringify(finalFaults),
    ).to.deep.equal([]);
    expect(acknowledged.filter((a) => a.afterKill).length, 'transfers acknowledged after the kill').to.be.greaterThan(
      50,
    );

    const statements = await Promise.all(accounts.map((a) => statementOf(cluster().balancerUrl, alice, a)));
    const total = statements.reduce((sum, s) => sum + cents(s.balance), 0);
    expect(total).to.equal(ACCOUNTS * 100_000);
    const outs = new Map<string, number>();
    const ins = new Map<string, number>();
    statements.forEach((s, i) => {
      expect(
        s.entries.reduce((sum, e) => sum + cents(e.amount), 0),
        `account ${accounts[i]!} adds up`,
      ).to.equal(cents(s.balance));
      for (const e of s.entries) {
        if (e.kind === 'TRANSFER_OUT') outs.set(e.transactionId, (outs.get(e.transactionId) ?? 0) + 1);
        if (e.kind === 'TRANSFER_IN') ins.set(e.transactionId, (ins.get(e.transactionId) ?? 0) + 1);
        expect(cents(e.balanceAfter)).to.be.at.least(0);
      }
    });
    for (const a of acknowledged) {
      expect(outs.get(a.transactionId), `${a.transactionId} out`).to.equal(1);
      expect(ins.get(a.transactionId), `${a.transactionId} in`).to.equal(1);
    }
    // Nothing in the journal that nobody acknowledged (every request got a final answer).
    expect(outs.size).to.equal(acknowledged.length);
    expect(ins.size).to.equal(acknowledged.length);

    const health = await healthDetails<{ backends: Array<{ url: string; eligible: boolean }> }>(
      cluster().balancerUrl,
      cluster().adminToken,
    );
    expect(health.backends.map((b) => b.eligible)).to.deep.equal([true, false, true]);
    console.log(
      `      ${acknowledged.length} acknowledged (${acknowledged.filter((a) => a.afterKill).length} after the kill), final faults ${JSON.stringify(finalFaults)}, client retries ${clientRetries}`,
    );
  });
});
