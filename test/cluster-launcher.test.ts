import { expect } from 'chai';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { healthDetails } from './helpers/admin';
import { callBank } from './helpers/bank-call';
import { pidAlive, RunningProcess, startProcess } from './helpers/process';
import { LAUNCHER_ON_FREE_PORTS } from './helpers/launched-cluster';

/**
 * `npm start` (dist/scripts/cluster.js) on port 0 in a temp dir: it announces the balancer's
 * URL, writes demo credentials with funded accounts that work, stops every child on SIGTERM and
 * exits 0, and a second start keeps the same credentials and accounts. Children write their
 * log lines straight to the launcher's stderr (no relay through a pipe), each naming itself.
 */
interface Demo {
  url: string;
  clients: Array<{ clientId: string; authToken: string; accounts: string[] }>;
}
interface ClusterFile {
  balancerUrl: string;
  dataUrl: string;
  businessUrls: string[];
  pids: { data: number; business: number[]; balancer: number; console: number };
}

describe('cluster launcher (npm start)', function () {
  this.timeout(60_000);
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'distbank-launcher-'));
  });
  let firstCluster: RunningProcess | undefined;
  after(async () => {
    await firstCluster?.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = (): Record<string, string> => ({
    BANK_DATA_DIR: dataDir,
    ...LAUNCHER_ON_FREE_PORTS,
    BANK_BUSINESS_COUNT: '2',
    BANK_LOG_LEVEL: 'warn',
  });

  let firstDemo: Demo;
  let firstAdminToken: string;

  it('starts everything, writes working demo credentials, stops cleanly on SIGTERM', async () => {
    const cluster = await startProcess('scripts/cluster.js', { ...env(), BANK_LOG_LEVEL: 'info' }, 40_000);
    firstCluster = cluster; // stopped by after() if an expectation fails before the SIGTERM below
    const demo = JSON.parse(readFileSync(join(dataDir, 'demo-credentials.json'), 'utf8')) as Demo;
    firstDemo = demo;
    expect(statSync(join(dataDir, 'demo-credentials.json')).mode & 0o777).to.equal(0o600);
    expect(demo.url).to.equal(cluster.url);
    expect(demo.clients.map((c) => c.clientId)).to.deep.equal(['alice', 'bob']);
    for (const c of demo.clients) {
      expect(c.accounts).to.have.length(1);
      const r = await callBank(demo.url, 'GetBalance', [['accountId', c.accounts[0]!]], c, { timeoutMs: 10_000 });
      expect(r.body?.['balance'], r.raw).to.equal('1000.00');
    }
    // The tokens are stored only hashed for the servers.
    const clientFile = readFileSync(join(dataDir, 'client-credentials.json'), 'utf8');
    for (const c of demo.clients) expect(clientFile).to.not.contain(c.authToken);
    // The admin token: plaintext for the operator (0600), only its hash for the servers.
    expect(statSync(join(dataDir, 'admin-credentials.json')).mode & 0o777).to.equal(0o600);
    const admin = JSON.parse(readFileSync(join(dataDir, 'admin-credentials.json'), 'utf8')) as { adminToken: string };
    firstAdminToken = admin.adminToken;
    expect(readFileSync(join(dataDir, 'admin-hash.json'), 'utf8')).to.not.contain(admin.adminToken);
    const info = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as ClusterFile;
    for (const url of [info.balancerUrl, ...info.businessUrls, info.dataUrl]) {
      expect(await (await fetch(new URL('/health', url))).json(), url).to.deep.equal({ status: 'ok' });
      const details = await healthDetails(url, admin.adminToken);
      expect(details, url).to.have.property('service');
    }
    // Every child is listed, the console too (the bench reads its CPU from these pids).
    const pids = [info.pids.data, ...info.pids.business, info.pids.balancer, info.pids.console];
    expect(
      pids.every((pid) => Number.isSafeInteger(pid)),
      JSON.stringify(info.pids),
    ).to.equal(true);
    expect(pids.every(pidAlive)).to.equal(true);
    // Each child's stderr is the launcher's own: nothing reads and re-writes their lines.
    const launcherStderr = readlinkSync(`/proc/${cluster.child.pid!}/fd/2`);
    for (const pid of pids) expect(readlinkSync(`/proc/${pid}/fd/2`), `pid ${pid}`).to.equal(launcherStderr);
    // … and the lines name their process themselves (the launcher adds no [name] prefix).
    const logs = cluster.stderrTail();
    expect(logs).to.match(/ data info listening /);
    expect(logs).to.match(/ bank-b1 info business server listening /);
    expect(logs).to.match(/ balancer info balancer listening /);
    expect(logs).to.match(/ bank-b[12] info operation .*operation=GetBalance/);
    expect(logs).to.not.match(/^\[(data|b1|b2|balancer)\] /m);
    const exit = new Promise<number | null>((resolve) => cluster.child.once('exit', (code) => resolve(code)));
    cluster.child.kill('SIGTERM');
    expect(await exit).to.equal(0);
    expect(pids.filter(pidAlive)).to.deep.equal([]);
  });

  it('a second start keeps the demo clients, tokens and accounts; a killed child is restarted on its port', async () => {
    const cluster = await startProcess(
      'scripts/cluster.js',
      { ...env(), BANK_CLUSTER_RESTART_DELAY_MS: '100' },
      40_000,
    );
    try {
      const demo = JSON.parse(readFileSync(join(dataDir, 'demo-credentials.json'), 'utf8')) as Demo;
      expect(demo.clients).to.deep.equal(firstDemo.clients);
      expect(
        (JSON.parse(readFileSync(join(dataDir, 'admin-credentials.json'), 'utf8')) as { adminToken: string })
          .adminToken,
      ).to.equal(firstAdminToken);
      const alice = demo.clients[0]!;
      const r = await callBank(demo.url, 'GetBalance', [['accountId', alice.accounts[0]!]], alice, {
        timeoutMs: 10_000,
      });
      expect(r.body?.['balance'], r.raw).to.equal('1000.00');

      const readInfo = (): ClusterFile =>
        JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as ClusterFile;
      const before = readInfo();
      const victim = before.pids.business[0]!;
      process.kill(victim, 'SIGKILL');
      const until = Date.now() + 15_000;
      let after = readInfo();
      while (after.pids.business[0] === victim && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = readInfo();
      }
      expect(after.pids.business[0]).to.not.equal(victim);
      expect(pidAlive(after.pids.business[0]!)).to.equal(true);
      expect(after.businessUrls).to.deep.equal(before.businessUrls);
      expect(cluster.stderrTail()).to.match(/!!! b1 died/);
      // Same port as before, so the balancer finds it again.
      const health = await healthDetails<{ backends: Array<{ healthy: boolean }> }>(
        before.balancerUrl,
        firstAdminToken,
      );
      expect(health.backends).to.have.length(2);
    } finally {
      await cluster.kill('SIGTERM');
    }
  });

  it('a start with one more demo client keeps the others and adds it with a funded account', async () => {
    const cluster = await startProcess(
      'scripts/cluster.js',
      { ...env(), BANK_DEMO_CLIENTS: 'alice,bob,carol' },
      40_000,
    );
    try {
      const demo = JSON.parse(readFileSync(join(dataDir, 'demo-credentials.json'), 'utf8')) as Demo;
      expect(demo.clients.slice(0, 2)).to.deep.equal(firstDemo.clients);
      const carol = demo.clients[2]!;
      expect(carol.clientId).to.equal('carol');
      const r = await callBank(demo.url, 'GetBalance', [['accountId', carol.accounts[0]!]], carol, {
        timeoutMs: 10_000,
      });
      expect(r.body?.['balance'], r.raw).to.equal('1000.00');
    } finally {
      await cluster.kill('SIGTERM');
    }
  });
});
