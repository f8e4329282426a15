import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { callBank } from './helpers/bank-call';
import { CLIENT_RATE_LIFTED, openAccount, startCluster, TestCluster } from './helpers/cluster';
import { adminHealth, openPeer, percentile, RawPeer, SOAP_POST_HEAD } from './helpers/slow-peer';
import { ifAssigned } from './helpers/if-assigned';

/**
 * The slow-peer flood against a real cluster (issue 8): 2,000 connections that dribble headers
 * (a quarter) or bodies (the rest: more than the balancer's 1,024 in-flight slots, which a
 * body once took as soon as its headers were in) are held open against the balancer, at its
 * default limits, from 8 loopback
 * addresses (250 each, under the per-address bound, so none is refused: the worst case for a
 * bound that only sheds idle connections). Meanwhile a normal client's GetBalance and Transfer
 * must succeed with p99 under 1 s; once the attackers stop, nothing stays held (the balancer's
 * in-flight count and open connections fall back to the health probe's own one).
 */
const ATTACKERS = 2000;
const ADDRESSES = Array.from({ length: 8 }, (_v, i) => `127.0.0.${i + 2}`);
const DRIBBLE_MS = 1000;
const MEASURE_MS = 8000;
const P99_MS_MAX = 1000;

function openFilesLimit(): number {
  const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return match === null ? Infinity : Number(match[1]);
}

/** Keeps `count` dribbling connections open, reopening any the server closes, until stop(). */
class Attack {
  private readonly peers = new Set<RawPeer>();
  private running = true;
  reopened = 0;

  constructor(private readonly port: number) {}

  async start(count: number): Promise<void> {
    const batch = 100;
    for (let i = 0; i < count; i += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_v, j) => this.open(i + j)));
    }
  }

  private async open(n: number): Promise<void> {
    const peer = await openPeer(this.port, ADDRESSES[n % ADDRESSES.length]);
    this.peers.add(peer);
    if (n % 4 === 0) {
      peer.socket.write('POST /bank HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      peer.dribble('abcdefghijklmnop', DRIBBLE_MS);
    } else {
      peer.socket.write(SOAP_POST_HEAD(1000));
      peer.dribble('<', DRIBBLE_MS);
    }
    void peer.closed.then(() => {
      this.peers.delete(peer);
      if (!this.running) return;
      this.reopened++;
      setTimeout(() => {
        if (this.running) void this.open(n).catch(() => undefined);
      }, 100);
    });
  }

  get open_(): number {
    return this.peers.size;
  }

  stop(): void {
    this.running = false;
    for (const p of this.peers) p.stop();
  }
}

interface Sample {
  readonly op: string;
  readonly ms: number;
  readonly ok: boolean;
  readonly detail: string;
}

describe('slow peers: 2,000 dribbling connections against a real cluster', function () {
  this.timeout(90_000);
  let cluster: TestCluster;
  let attack: Attack | undefined;
  before(async () => {
    expect(openFilesLimit(), 'ulimit -n of the test process').to.be.at.least(ATTACKERS + 1000);
    cluster = await startCluster({ businessCount: 2, clients: ['alice'], businessEnv: CLIENT_RATE_LIFTED });
  });
  after(async () => {
    attack?.stop();
    await ifAssigned(cluster)?.stop();
  });

  it("a normal client's GetBalance and Transfer keep p99 < 1 s, and nothing stays held after", async () => {
    const alice = cluster.client('alice');
    const from = await openAccount(cluster.balancerUrl, alice, '1000.00');
    const to = await openAccount(cluster.balancerUrl, alice, '1.00');

    attack = new Attack(Number(new URL(cluster.balancerUrl).port));
    const attackStartMs = performance.now();
    await attack.start(ATTACKERS);
    const openedMs = performance.now() - attackStartMs;
    const during = await adminHealth(cluster.balancerUrl, cluster.adminToken);
    const heldOpen = (during['connections'] as { open: number } | undefined)?.open;

    const samples: Sample[] = [];
    const until = performance.now() + MEASURE_MS;
    let n = 0;
    const loop = async (): Promise<void> => {
      while (performance.now() < until) {
        const transfer = n++ % 2 === 1;
        const op = transfer ? 'Transfer' : 'GetBalance';
        const args = transfer
          ? ([
              ['fromAccountId', from],
              ['toAccountId', to],
              ['amount', '0.01'],
            ] as const)
          : ([['accountId', from]] as const);
        const t0 = performance.now();
        try {
          const r = await callBank(
            cluster.balancerUrl,
            op,
            args,
            { ...alice, requestId: `flood-${n}-${Date.now()}` },
            { timeoutMs: 5000 },
          );
          samples.push({ op, ms: performance.now() - t0, ok: r.body !== undefined, detail: r.fault?.code ?? '' });
        } catch (error) {
          samples.push({ op, ms: performance.now() - t0, ok: false, detail: String(error) });
        }
      }
    };
    await Promise.all([loop(), loop()]);
    const stillOpen = attack.open_;
    attack.stop();

    const failures = samples.filter((s) => !s.ok);
    const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
    const summary = {
      attackers: ATTACKERS,
      heldOpen,
      attackersOpenAtEnd: stillOpen,
      reopened: attack.reopened,
      openedInMs: Math.round(openedMs),
      calls: samples.length,
      failures: failures.length,
      p50Ms: Math.round(percentile(sorted, 50)),
      p99Ms: Math.round(percentile(sorted, 99)),
      maxMs: Math.round(sorted[sorted.length - 1] ?? NaN),
    };
    console.log(`      slow-peer flood: ${JSON.stringify(summary)}`);
    expect(failures.slice(0, 5), JSON.stringify(summary)).to.deep.equal([]);
    expect(samples.filter((s) => s.op === 'Transfer').length).to.be.at.least(20);
    expect(summary.p99Ms, JSON.stringify(summary)).to.be.below(P99_MS_MAX);
    // All 2,000 unless the machine was so slow to open them that the first had reached their
    // 10 s headers deadline (they are reopened then): the summary prints the real count.
    expect(heldOpen, 'connections held open during the attack').to.be.at.least(ATTACKERS * 0.95);

    // After: every attacker connection is gone from the balancer's books and no slot is held.
    let health: Record<string, unknown> = {};
    const settleUntil = Date.now() + 10_000;
    for (;;) {
      health = await adminHealth(cluster.balancerUrl, cluster.adminToken);
      const c = health['connections'] as { open: number };
      // The one open connection is this probe's own.
      if (c.open === 1 && health['inFlight'] === 0) break;
      if (Date.now() > settleUntil) throw new Error(`still held after the attack: ${JSON.stringify(health)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(health['inFlight']).to.equal(0);
    // The business servers, behind it, were never reached by the attackers.
    for (const url of cluster.businessUrls) {
      const b = await adminHealth(url, cluster.adminToken);
      const c = b['connections'] as { open: number; headersTimeoutsTotal: number; bodyTimeoutsTotal: number };
      expect(c.headersTimeoutsTotal + c.bodyTimeoutsTotal, url).to.equal(0);
    }
  });
});
