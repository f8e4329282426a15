import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { defined } from '../common/defined';
import { ifAssigned } from './helpers/if-assigned';
import { startCluster, TestCluster } from './helpers/cluster';

/**
 * An idle tier sleeps. Every wake-up of a process costs CPU, and on a machine whose cores all
 * the tiers share it costs the others too (server/README.md measured it). prom-client's default
 * event-loop monitor sampled every 10 ms: each process woke 100 times a second doing nothing,
 * ~9 ms of CPU per second each. What is left when idle are the health checks (business → data
 * every 250 ms, balancer → business) and the file reloads: tens of wake-ups a second, not 100.
 * Counted on each process's main thread (the event loop): /proc/<pid>/status,
 * voluntary_ctxt_switches, over 3 s of no traffic.
 */
const IDLE_WINDOW_MS = 3000;
const IDLE_WAKEUPS_PER_S_MAX = 50;

function voluntarySwitches(pid: number): number {
  const match = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no voluntary_ctxt_switches in /proc/${pid}/status`);
  return Number(match[1]);
}

describe('idle tiers sleep: no process wakes more than 50 times a second without traffic', function () {
  this.timeout(60_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ businessCount: 3 });
  });
  after(async () => {
    await ifAssigned(cluster)?.stop();
  });

  it('the data server, each business server and the balancer', async () => {
    const pids = cluster.pids();
    const named: Array<[string, number]> = [
      ['data', defined(pids.data, 'the data server pid')],
      ...pids.business.map((p, i): [string, number] => [`b${i + 1}`, defined(p, `b${i + 1}'s pid`)]),
      ['balancer', pids.balancer],
    ];
    await sleep(1000); // past the start's own activity
    const before = named.map(([name, pid]): [string, number, number] => [name, pid, voluntarySwitches(pid)]);
    await sleep(IDLE_WINDOW_MS);
    const perS = before.map(([name, pid, switches]): [string, number] => [
      name,
      ((voluntarySwitches(pid) - switches) * 1000) / IDLE_WINDOW_MS,
    ]);
    console.log(`      idle wake-ups per second: ${JSON.stringify(perS)}`);
    for (const [name, rate] of perS) {
      expect(rate, `${name} woke ${rate} times a second while idle: ${JSON.stringify(perS)}`).to.be.below(
        IDLE_WAKEUPS_PER_S_MAX,
      );
    }
  });
});
