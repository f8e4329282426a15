import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashToken, newToken } from '../common/credentials';
import { healthDetails } from './helpers/admin';
import { callBank } from './helpers/bank-call';
import { openAccount, startCluster, TestCluster } from './helpers/cluster';
import { RunningProcess, startProcess } from './helpers/process';
import { ifAssigned } from './helpers/if-assigned';

/**
 * A misconfigured tier is unhealthy, not "retry later": a business server whose credentials
 * the data tier refuses says so (/health degraded, the reason for the admin, one error line),
 * the balancer routes around it so clients see no fault while a healthy path exists, and
 * when none exists clients hear that the bank is misconfigured. It keeps checking: fixing the
 * data tier's credentials heals it without a restart.
 */
const CHECK_ENV = { BANK_DATA_CHECK_INTERVAL_MS: '200' };

async function waitFor(what: string, predicate: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

async function publicHealth(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(new URL('/health', url));
  return { status: res.status, body: await res.json() };
}

describe('a misconfigured tier is unhealthy, not "retry later" (real processes)', function () {
  this.timeout(90_000);
  let cluster: TestCluster;
  const extra: RunningProcess[] = [];
  let bad: RunningProcess;
  const wrongToken = newToken();

  before(async () => {
    cluster = await startCluster({
      businessCount: 2,
      businessEnv: CHECK_ENV,
      balancerEnv: { BANK_LB_HEALTH_INTERVAL_MS: '200' },
    });
    bad = await startProcess('business/main.js', {
      BANK_LOG_LEVEL: 'warn',
      BANK_PORT: '0',
      BANK_BUSINESS_ID: 'b1',
      BANK_BUSINESS_TOKEN: wrongToken,
      BANK_DATA_URL: cluster.dataUrl,
      BANK_CLIENT_CREDENTIALS_FILE: join(cluster.dataDir, 'client-credentials.json'),
      BANK_ADMIN_CREDENTIALS_FILE: join(cluster.dataDir, 'admin-hash.json'),
      ...CHECK_ENV,
    });
    extra.push(bad);
  });
  after(async () => {
    await Promise.all(extra.map((p) => p.kill('SIGTERM')));
    await ifAssigned(cluster)?.stop();
  });

  it('a business server with a wrong token says degraded, the reason only to the admin, and one error line', async () => {
    expect(await publicHealth(bad.url)).to.deep.equal({ status: 503, body: { status: 'degraded' } });
    const details = await healthDetails<{ status: string; reason: string }>(bad.url, cluster.adminToken);
    expect(details.status).to.equal('degraded');
    expect(details.reason).to.match(/data tier refuses .*credentials/);
    expect(JSON.stringify(details)).to.not.contain(wrongToken);
    expect(bad.stderrTail()).to.match(/data tier refuses this business server's credentials/);
    expect(bad.stderrTail()).to.not.contain(wrongToken);
    // Asked directly, it does not say "retry later": it says the bank is misconfigured.
    const alice = cluster.client('alice');
    const r = await callBank(bad.url, 'GetBalance', [['accountId', '1']], alice, { timeoutMs: 10_000 });
    expect(r.fault?.code, r.raw).to.equal('SERVICE_UNAVAILABLE');
    expect(r.fault?.message).to.match(/misconfigured/);
    expect(r.fault?.message).to.not.match(/retry later/);
  });

  it('the balancer routes around it: no client sees a fault while a healthy path exists', async () => {
    const lb = await startProcess('balancer/main.js', {
      BANK_LOG_LEVEL: 'warn',
      BANK_PORT: '0',
      BANK_BUSINESS_URLS: [bad.url, cluster.businessUrls[0]!].join(','),
      BANK_ADMIN_CREDENTIALS_FILE: join(cluster.dataDir, 'admin-hash.json'),
    });
    extra.push(lb);
    const state = await healthDetails<{ backends: Array<{ url: string; healthy: boolean; lastError?: string }> }>(
      lb.url,
      cluster.adminToken,
    );
    expect(state.backends.map((b) => b.healthy)).to.deep.equal([false, true]);
    expect(state.backends[0]!.lastError).to.match(/degraded/);
    const alice = cluster.client('alice');
    const account = await openAccount(cluster.balancerUrl, alice, '10.00');
    const faults: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await callBank(lb.url, 'GetBalance', [['accountId', account]], alice, { timeoutMs: 10_000 });
      if (r.fault !== undefined) faults.push(r.fault.code);
    }
    expect(faults).to.deep.equal([]);
  });

  it('with no healthy path, clients hear that the bank is misconfigured (no secret), not "retry later"', async () => {
    const lb = await startProcess('balancer/main.js', {
      BANK_LOG_LEVEL: 'warn',
      BANK_PORT: '0',
      BANK_BUSINESS_URLS: bad.url,
    });
    extra.push(lb);
    const r = await callBank(lb.url, 'GetBalance', [['accountId', '1']], cluster.client('alice'), {
      timeoutMs: 10_000,
    });
    expect(r.fault?.code, r.raw).to.equal('SERVICE_UNAVAILABLE');
    expect(r.fault?.message).to.match(/misconfigured/);
    expect(r.raw).to.not.contain(wrongToken);
  });

  it('credentials changed under a running cluster: every business server turns degraded, then heals when fixed', async () => {
    const file = join(cluster.dataDir, 'business-credentials.json');
    const { readFileSync } = await import('node:fs');
    const good = readFileSync(file, 'utf8');
    // What a second `npm start` used to do: fresh hashes, then the data server restarts.
    writeFileSync(
      file,
      JSON.stringify({ principals: ['b1', 'b2'].map((id) => ({ id, tokenSha256: hashToken(newToken()) })) }),
    );
    await cluster.stopData();
    await cluster.startData();
    await waitFor('both business servers degraded', async () =>
      (await Promise.all(cluster.businessUrls.map(publicHealth))).every((h) => h.status === 503),
    );
    await waitFor(
      'the balancer to see no healthy backend',
      async () => (await publicHealth(cluster.balancerUrl)).status === 503,
    );
    const alice = cluster.client('alice');
    const r = await callBank(cluster.balancerUrl, 'GetBalance', [['accountId', '1']], alice, { timeoutMs: 10_000 });
    expect(r.fault?.code, r.raw).to.equal('SERVICE_UNAVAILABLE');
    expect(r.fault?.message).to.match(/misconfigured/);

    writeFileSync(file, good);
    await cluster.stopData();
    await cluster.startData();
    await waitFor('both business servers ok again, without a restart', async () =>
      (await Promise.all(cluster.businessUrls.map(publicHealth))).every((h) => h.status === 200),
    );
    await waitFor('the balancer to serve again', async () => (await publicHealth(cluster.balancerUrl)).status === 200);
    const account = await openAccount(cluster.balancerUrl, alice, '5.00');
    const ok = await callBank(cluster.balancerUrl, 'GetBalance', [['accountId', account]], alice, {
      timeoutMs: 10_000,
    });
    expect(ok.body?.['balance'], ok.raw).to.equal('5.00');
  });
});
