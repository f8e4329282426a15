import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { callWithRetry, openAccount, startCluster, TestCluster } from './helpers/cluster';
import { ifAssigned } from './helpers/if-assigned';
import { fetchMetrics, sampleSum } from './helpers/metrics';

/**
 * Every process serves Prometheus metrics at GET /metrics behind the admin token: the output
 * passes `promtool check metrics` (Debian's prometheus package), every name starts with
 * distbank_, and the counters move under traffic. In CI (CI=1) a missing promtool fails the
 * test instead of skipping it.
 */
const PROMTOOL = '/usr/bin/promtool';

function havePromtool(): boolean {
  return spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' }).status === 0;
}

describe('metrics: /metrics on every process, checked by promtool', function () {
  this.timeout(60_000);
  let cluster: TestCluster;

  before(async function () {
    if (!havePromtool()) {
      if (process.env.CI) throw new Error(`${PROMTOOL} is missing: apt-get install prometheus (.ci/run does)`);
      this.skip();
    }
    cluster = await startCluster({ businessCount: 3 });
  });
  after(async () => {
    await ifAssigned(cluster)?.stop();
  });

  const processes = (): Array<[string, string]> => [
    ['balancer', cluster.balancerUrl],
    ['data', cluster.dataUrl],
    ...cluster.businessUrls.map((u, i): [string, string] => [`b${i + 1}`, u]),
  ];

  it('refuses /metrics without the admin token, or with a wrong one', async () => {
    for (const [name, url] of processes()) {
      expect((await fetchMetrics(url, undefined)).status, name).to.equal(401);
      expect((await fetchMetrics(url, 'not-the-token')).status, name).to.equal(401);
    }
  });

  it('serves output that promtool accepts, every name prefixed distbank_, and the counters move under traffic', async () => {
    const before = new Map<string, string>();
    for (const [name, url] of processes()) before.set(name, (await fetchMetrics(url, cluster.adminToken)).text);
    const alice = cluster.client('alice');
    const bob = cluster.client('bob');
    const from = await openAccount(cluster.balancerUrl, alice, '100.00');
    const to = await openAccount(cluster.balancerUrl, bob, '1.00');
    for (let i = 0; i < 12; i++) {
      await callWithRetry(
        cluster.balancerUrl,
        'Transfer',
        [
          ['fromAccountId', from],
          ['toAccountId', to],
          ['amount', '1.00'],
        ],
        alice,
        `promtool-${i}`,
      );
    }
    // One refused transfer: a fault code as outcome.
    await callWithRetry(
      cluster.balancerUrl,
      'Transfer',
      [
        ['fromAccountId', from],
        ['toAccountId', to],
        ['amount', '1000.00'],
      ],
      alice,
      'promtool-too-much',
    );
    for (const [name, url] of processes()) {
      const m = await fetchMetrics(url, cluster.adminToken);
      expect(m.status, name).to.equal(200);
      const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: m.text, encoding: 'utf8' });
      expect(check.status, `${name}: promtool says\n${check.stdout}${check.stderr}`).to.equal(0);
      const names = [...m.text.matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]!);
      expect(names.length, name).to.be.greaterThan(10);
      for (const n of names) expect(n, name).to.match(/^distbank_/);
      const was = before.get(name)!;
      expect(sampleSum(m.text, 'distbank_requests_total'), name).to.be.greaterThan(
        sampleSum(was, 'distbank_requests_total'),
      );
      expect(sampleSum(m.text, 'distbank_request_duration_seconds_count'), name).to.be.greaterThan(
        sampleSum(was, 'distbank_request_duration_seconds_count'),
      );
      expect(m.text, name).to.match(/^distbank_in_flight\{[^}]*\} \d+$/m);
    }
    const lb = (await fetchMetrics(cluster.balancerUrl, cluster.adminToken)).text;
    expect(sampleSum(lb, 'distbank_requests_total', { operation: 'Transfer', outcome: 'ok' })).to.be.at.least(12);
    expect(sampleSum(lb, 'distbank_requests_total', { operation: 'Transfer', outcome: 'INSUFFICIENT_FUNDS' })).to.equal(
      1,
    );
    expect(sampleSum(lb, 'distbank_backend_up')).to.equal(3);
    const data = (await fetchMetrics(cluster.dataUrl, cluster.adminToken)).text;
    expect(sampleSum(data, 'distbank_requests_total', { operation: 'Lock', outcome: 'ok' })).to.be.at.least(13);
    expect(sampleSum(data, 'distbank_commit_batch_operations_count')).to.be.at.least(13);
    expect(data).to.match(/^distbank_locks_held\{[^}]*\} 0$/m);
    const business = await Promise.all(
      cluster.businessUrls.map(async (u) => (await fetchMetrics(u, cluster.adminToken)).text),
    );
    expect(
      business.reduce(
        (s, t) => s + sampleSum(t, 'distbank_data_call_duration_seconds_count', { operation: 'Update' }),
        0,
      ),
    ).to.be.at.least(13);
    for (const t of business) expect(t).to.match(/^distbank_account_queue_depth\{[^}]*\} 0$/m);
  });
});
