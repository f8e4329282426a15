import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { healthDetails } from './helpers/admin';
import { callBank } from './helpers/bank-call';
import { callAdmin, launchCluster, LaunchedCluster } from './helpers/launched-cluster';
import { pidAlive } from './helpers/process';
import { ifAssigned } from './helpers/if-assigned';

/**
 * Dev mode (`BANK_DEV_MODE=on npm start`): ControlServer (wsdl/admin.wsdl) pauses, resumes and
 * restarts a business server through the launcher, against real processes. Paused (SIGSTOP),
 * b2's /health answers nothing and the balancer routes around it; resumed, it answers again;
 * restarted, a new process serves on the same port and cluster.json names its pid. (Stop is
 * driven from the page in console-browser.test.ts.) ~15 s.
 */
const HEALTH_TIMEOUT_MS = 1_000;
const WAIT_MS = 20_000;

interface ClusterFile {
  readonly balancerUrl: string;
  readonly businessUrls: readonly string[];
  readonly pids: { readonly business: readonly number[] };
}

async function healthAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    return res.status === 200;
  } catch {
    return false;
  }
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The process's state letter in /proc (T: stopped by a signal). */
function procState(pid: number): string {
  return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? '?';
}

describe('console dev mode: pause, resume and restart a business server through the launcher', function () {
  this.timeout(90_000);
  let cluster: LaunchedCluster;
  const info = (): ClusterFile => JSON.parse(readFileSync(join(cluster.dir, 'cluster.json'), 'utf8')) as ClusterFile;
  const control = async (action: string): Promise<string> => {
    const r = await callAdmin(
      cluster.consoleUrl,
      'ControlServer',
      `<a:server>b2</a:server><a:action>${action}</a:action>`,
      cluster.adminToken,
    );
    expect(r.fault, `${action}: ${JSON.stringify(r.fault)}`).to.equal(undefined);
    return String(r.body?.message);
  };
  const b2Healthy = async (): Promise<boolean | undefined> => {
    const h = await healthDetails<{ backends: Array<{ url: string; healthy: boolean }> }>(
      info().balancerUrl,
      cluster.adminToken,
    );
    return h.backends.find((b) => b.url === info().businessUrls[1])?.healthy;
  };
  const transfers = async (label: string, n: number): Promise<void> => {
    const [alice, bob] = cluster.clients;
    for (let i = 0; i < n; i++) {
      const r = await callBank(
        cluster.bankUrl,
        'Transfer',
        [
          ['fromAccountId', alice!.accounts[0]!],
          ['toAccountId', bob!.accounts[0]!],
          ['amount', '0.01'],
        ],
        { clientId: alice!.clientId, authToken: alice!.authToken, requestId: `${label}-${i}-${Date.now()}` },
        { timeoutMs: 10_000 },
      );
      expect(r.httpStatus, `${label}, transfer ${i}: ${r.raw}`).to.equal(200);
    }
  };

  before(async () => {
    cluster = await launchCluster({ BANK_DEV_MODE: 'on' });
  });
  after(async () => {
    await ifAssigned(cluster)?.stop();
  });

  it('pause: b2 answers nothing, the balancer routes around it; resume: b2 answers again', async () => {
    const b2 = info().businessUrls[1]!;
    const pid = info().pids.business[1]!;
    expect(await healthAnswers(b2)).to.equal(true);
    expect(await control('pause')).to.equal('b2 paused (SIGSTOP)');
    expect(procState(pid)).to.equal('T');
    expect(await healthAnswers(b2), 'a paused b2 answers /health').to.equal(false);
    await until('the balancer takes b2 out', async () => (await b2Healthy()) === false);
    await transfers('paused', 12);

    expect(await control('resume')).to.equal('b2 resumed (SIGCONT)');
    await until('b2 answers /health again', () => healthAnswers(b2));
    expect(procState(pid)).to.not.equal('T');
    await until('the balancer takes b2 back', async () => (await b2Healthy()) === true);
    expect(info().pids.business[1], 'the same process').to.equal(pid);
  });

  it('restart: a new b2 process serves on the same port, named in cluster.json', async () => {
    const before = info();
    const oldPid = before.pids.business[1]!;
    const answer = await control('restart');
    const m = /^b2 restarted, pid (\d+)$/.exec(answer);
    expect(m, answer).to.not.equal(null);
    const newPid = Number(m![1]);
    expect(newPid).to.not.equal(oldPid);
    expect(pidAlive(oldPid), 'the old b2 is gone').to.equal(false);
    await until('cluster.json names the new pid', () => Promise.resolve(info().pids.business[1] === newPid));
    expect(info().businessUrls).to.deep.equal(before.businessUrls);
    expect(await healthAnswers(before.businessUrls[1]!)).to.equal(true);
    // The old process is gone and the port answers: the new one serves it.
    expect(pidAlive(newPid)).to.equal(true);
    await until('the balancer uses the new b2', async () => (await b2Healthy()) === true);
    await transfers('restarted', 6);
  });

  it('restart of a paused b2 brings up a serving process too', async () => {
    const oldPid = info().pids.business[1]!;
    expect(await control('pause')).to.equal('b2 paused (SIGSTOP)');
    const m = /^b2 restarted, pid (\d+)$/.exec(await control('restart'));
    expect(m).to.not.equal(null);
    expect(Number(m![1])).to.not.equal(oldPid);
    expect(pidAlive(oldPid)).to.equal(false);
    expect(await healthAnswers(info().businessUrls[1]!)).to.equal(true);
  });
});
