import { expect } from 'chai';
import { BankCallResult, callBank } from './helpers/bank-call';
import { CLIENT_RATE_LIFTED, startCluster, TestClient, TestCluster } from './helpers/cluster';
import { ifAssigned } from './helpers/if-assigned';

// A business server that holds locks is paused (SIGSTOP) mid-stream: the accounts it locked
// are free again when its lease runs out — the data tier's default lease, ~1 s — so another
// business server's transfers on those accounts succeed again within 1.5 s of the pause.
// A real cluster over SQLite; the pause is repeated until one caught a held lock.
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const STALL_MS_MAX = 1500;
// A pause catches a held lock only between the Lock's grant and the Update's send. Alone, the
// first pause catches one; in a full `npm test` on a loaded machine 4 rounds once all missed
// (2026-12-01). Rounds stop at the first catch, so more of them cost nothing when it comes early.
const ROUNDS_MAX = 12;
const LOOPS = 4;

describe('a paused lock holder stalls its accounts for about a second, not five', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let alice: TestClient;
  before(async () => {
    cluster = await startCluster({ businessCount: 2, businessEnv: CLIENT_RATE_LIFTED }); // alice's loops stream past a fair share
    alice = cluster.client('alice');
  });
  after(async () => {
    const b1 = ifAssigned(cluster)?.pids().business[0];
    if (b1 !== undefined) process.kill(b1, 'SIGCONT');
    await ifAssigned(cluster)?.stop();
  });

  let seq = 0;
  function transfer(
    url: string,
    from: string,
    to: string,
    requestId = `stall-${process.pid}-${seq++}`,
  ): Promise<BankCallResult> {
    return callBank(
      url,
      'Transfer',
      [
        ['fromAccountId', from],
        ['toAccountId', to],
        ['amount', '0.01'],
      ],
      { authToken: alice.authToken, clientId: alice.clientId, requestId },
      { timeoutMs: 20_000 },
    );
  }

  async function open(): Promise<string> {
    const r = await callBank(
      cluster.balancerUrl,
      'OpenAccount',
      [['initialDeposit', '100.00']],
      { authToken: alice.authToken, clientId: alice.clientId, requestId: `stall-open-${process.pid}-${seq++}` },
      { timeoutMs: 10_000 },
    );
    if (r.body === undefined) throw new Error(JSON.stringify(r.fault));
    return r.body['accountId'] as string;
  }

  /** From the pause until a transfer on the same accounts through the other server succeeds. */
  async function stallAfterPause(a: string, b: string): Promise<number> {
    const b1 = cluster.pids().business[0]!;
    process.kill(b1, 'SIGSTOP');
    const pausedAt = Date.now();
    const requestId = `stall-probe-${process.pid}-${seq++}`;
    for (;;) {
      const r = await transfer(cluster.businessUrls[1]!, a, b, requestId);
      if (r.body !== undefined) return Date.now() - pausedAt;
      expect(r.fault?.retryable, JSON.stringify(r.fault)).to.equal(true);
      if (Date.now() - pausedAt > 10_000) throw new Error(`still ${String(r.fault?.code)} 10 s after the pause`);
    }
  }

  it("another business server transfers on the paused holder's accounts within 1.5 s", async () => {
    const [a, b] = [await open(), await open()];
    let stopping = false;
    const loops = Array.from({ length: LOOPS }, async (_v, i) => {
      while (!stopping) {
        await (i % 2 === 0 ? transfer(cluster.businessUrls[0]!, a, b) : transfer(cluster.businessUrls[0]!, b, a));
      }
    });
    const stalls: number[] = [];
    try {
      for (let round = 0; round < ROUNDS_MAX && !stalls.some((ms) => ms >= 200); round++) {
        await sleep(400);
        stalls.push(await stallAfterPause(a, b));
        process.kill(cluster.pids().business[0]!, 'SIGCONT');
      }
    } finally {
      process.kill(cluster.pids().business[0]!, 'SIGCONT');
      stopping = true;
      await Promise.all(loops);
    }
    process.stderr.write(`      (stall after each pause, ms: ${stalls.join(', ')})\n`);
    expect(
      stalls.some((ms) => ms >= 200),
      'no pause caught a held lock',
    ).to.equal(true);
    for (const ms of stalls) expect(ms).to.be.below(STALL_MS_MAX);
    // The money of the two accounts is still all there.
    const balances = await Promise.all(
      [a, b].map((id) =>
        callBank(
          cluster.balancerUrl,
          'GetBalance',
          [['accountId', id]],
          { authToken: alice.authToken, clientId: alice.clientId },
          { timeoutMs: 10_000 },
        ),
      ),
    );
    const cents = balances.map((r) => Math.round(Number(r.body?.balance) * 100));
    expect(cents[0]! + cents[1]!).to.equal(20_000);
  });
});
