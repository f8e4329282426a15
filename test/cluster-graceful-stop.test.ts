import { expect } from 'chai';
import { callBank } from './helpers/bank-call';
import { cents, CLIENT_RATE_LIFTED, field, openAccount, statementOf } from './helpers/cluster';
import { useCluster } from './helpers/use-cluster';

/**
 * A business server stopped cleanly (SIGTERM, as in a rolling restart) during a stream of
 * transfers: it finishes what it has and exits soon, and the balancer sends the rest elsewhere,
 * so clients that do NOT retry see no error at all.
 */
const WORKERS = 8;
const TRANSFERS_PER_WORKER = 30;
const STOP_AFTER_DONE = 60;

describe('cluster: SIGTERM of a business server during a stream of transfers', function () {
  this.timeout(60_000);
  const cluster = useCluster({ businessCount: 3, businessEnv: CLIENT_RATE_LIFTED });

  it('no client sees an error, and every transfer is in the journal once', async () => {
    const alice = cluster().client('alice');
    const accounts = [
      await openAccount(cluster().balancerUrl, alice, '1000.00'),
      await openAccount(cluster().balancerUrl, alice, '1000.00'),
    ];
    let done = 0;
    let stopping: Promise<void> | undefined;
    let stopMs = 0;
    const streamStarted = Date.now();
    const errors: string[] = [];
    const ids: string[] = [];
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < TRANSFERS_PER_WORKER; i++) {
        const from = accounts[(w + i) % 2]!;
        const to = accounts[(w + i + 1) % 2]!;
        try {
          const r = await callBank(
            cluster().balancerUrl,
            'Transfer',
            [
              ['fromAccountId', from],
              ['toAccountId', to],
              ['amount', '1.00'],
            ],
            { ...alice, requestId: `gs-${w}-${i}` },
            { timeoutMs: 15_000 },
          );
          if (r.fault !== undefined) errors.push(`${r.fault.code}: ${r.fault.message}`);
          else ids.push(field(r, 'transactionId'));
        } catch (err) {
          errors.push(err instanceof Error ? err.message : String(err));
        }
        if (++done === STOP_AFTER_DONE) {
          const t0 = Date.now();
          stopping = cluster()
            .killBusiness(1, 'SIGTERM')
            .then(() => {
              stopMs = Date.now() - t0;
            });
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_v, w) => worker(w)));
    const streamMs = Date.now() - streamStarted;
    await stopping;
    console.log(`      stream ${streamMs} ms; the stopped server took ${stopMs} ms to exit`);
    // It leaves once its last answer is out, not at the drain bound (BANK_SHUTDOWN_DRAIN_MS, 10 s):
    // the balancer's idle keep-alive connections must not hold it.
    expect(stopMs).to.be.below(5000);
    expect(errors, errors.slice(0, 5).join('\n')).to.deep.equal([]);
    expect(ids).to.have.length(WORKERS * TRANSFERS_PER_WORKER);
    const statements = await Promise.all(accounts.map((a) => statementOf(cluster().balancerUrl, alice, a)));
    expect(statements.reduce((sum, s) => sum + cents(s.balance), 0)).to.equal(200_000);
    const outs = statements.flatMap((s) =>
      s.entries.filter((e) => e.kind === 'TRANSFER_OUT').map((e) => e.transactionId),
    );
    expect(outs.slice().sort()).to.deep.equal(ids.slice().sort());
  });
});
