import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callBank } from './helpers/bank-call';
import { DIST_DIR, RunningProcess, startProcess } from './helpers/process';
import { LAUNCHER_ON_FREE_PORTS } from './helpers/launched-cluster';

/**
 * A second `npm start` never breaks the running cluster: refused before it touches anything
 * (a lock file in BANK_DATA_DIR, then the ports), so the running cluster's credentials stay,
 * and the first cluster still serves after its data server is killed and restarted by the
 * supervisor (that restart re-reads business-credentials.json).
 */
interface Demo {
  url: string;
  clients: Array<{ clientId: string; authToken: string; accounts: string[] }>;
}

function runToExit(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(DIST_DIR, 'scripts/cluster.js'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.resume();
    // Should it start after all, SIGTERM lets it stop its children (SIGKILL would orphan them).
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      reject(new Error(`second start still running after 20 s:\n${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('a second npm start never breaks the running cluster', function () {
  this.timeout(90_000);
  let dataDir: string;
  let otherDir: string;
  let first: RunningProcess | undefined;
  const env = (dir: string): Record<string, string> => ({
    BANK_DATA_DIR: dir,
    ...LAUNCHER_ON_FREE_PORTS,
    BANK_BUSINESS_COUNT: '2',
    BANK_LOG_LEVEL: 'warn',
    BANK_CLUSTER_RESTART_DELAY_MS: '100',
  });

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'distbank-second-'));
    otherDir = mkdtempSync(join(tmpdir(), 'distbank-second-other-'));
    first = await startProcess('scripts/cluster.js', env(dataDir), 40_000);
  });
  after(async () => {
    await first?.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(otherDir, { recursive: true, force: true });
  });

  it('a start over the same data dir is refused in one line, exit 2, and rewrites nothing', async () => {
    const files = [
      'business-credentials.json',
      'client-credentials.json',
      'demo-credentials.json',
      'admin-credentials.json',
      'admin-hash.json',
      'cluster.json',
    ];
    const before = files.map((f) => readFileSync(join(dataDir, f), 'utf8'));
    const second = await runToExit(env(dataDir));
    expect(second.code, second.stderr).to.equal(2);
    expect(second.stderr.trim().split('\n'), second.stderr).to.have.length(1);
    expect(second.stderr).to.match(new RegExp(`already running .*pid ${first!.pid}`));
    expect(files.map((f) => readFileSync(join(dataDir, f), 'utf8'))).to.deep.equal(before);
  });

  it('a start on a port the running cluster holds is refused before it writes anything', async () => {
    const balancerPort = new URL(first!.url).port;
    const second = await runToExit({ ...env(otherDir), BANK_BALANCER_PORT: balancerPort });
    expect(second.code, second.stderr).to.equal(2);
    expect(second.stderr.trim().split('\n'), second.stderr).to.have.length(1);
    expect(second.stderr).to.match(new RegExp(`port ${balancerPort} .*in use`));
    expect(readdirSync(otherDir)).to.deep.equal([]);
  });

  it('after both refusals, the first cluster still serves across a data-server restart', async () => {
    const info = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as { pids: { data: number } };
    process.kill(info.pids.data, 'SIGKILL');
    const demo = JSON.parse(readFileSync(join(dataDir, 'demo-credentials.json'), 'utf8')) as Demo;
    const alice = demo.clients[0]!;
    const until = Date.now() + 20_000;
    let last = '';
    while (Date.now() < until) {
      const now = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as { pids: { data: number } };
      if (now.pids.data !== info.pids.data) {
        const r = await callBank(demo.url, 'GetBalance', [['accountId', alice.accounts[0]!]], alice, {
          timeoutMs: 10_000,
        });
        if (r.body?.['balance'] === '1000.00') return;
        last = r.raw;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the first cluster did not serve after the data-server restart: ${last}\n${first!.stderrTail()}`);
  });

  it('a clean stop removes the lock; a stale lock (its launcher gone) is taken over', async () => {
    await first!.kill('SIGTERM');
    first = undefined;
    expect(existsSync(join(dataDir, 'cluster.lock'))).to.equal(false);
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dataDir, 'cluster.lock'), `${gone}\n`);
    first = await startProcess('scripts/cluster.js', env(dataDir), 40_000);
    expect(readFileSync(join(dataDir, 'cluster.lock'), 'utf8').trim()).to.equal(String(first.pid));
  });
});
