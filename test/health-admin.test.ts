import { expect } from 'chai';
import { startCluster, TestCluster } from './helpers/cluster';
import { ifAssigned } from './helpers/if-assigned';

/**
 * GET /health on every process of a real cluster: without a token only liveness
 * (`{"status":"ok"}`: no backend URLs, no error texts, no counters); with
 * `Authorization: Bearer <admin token>` the details; a wrong token is refused (401).
 */
interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function health(base: string, authorization?: string): Promise<Answer> {
  const res = await fetch(new URL('/health', base), authorization === undefined ? {} : { headers: { authorization } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('/health: public liveness, details for the admin only (real cluster)', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  const urls = (): Array<[string, string]> => [
    ['balancer', cluster.balancerUrl],
    ['business b1', cluster.businessUrls[0]!],
    ['data', cluster.dataUrl],
  ];

  before(async () => {
    cluster = await startCluster({ businessCount: 2 });
  });
  after(async () => {
    await ifAssigned(cluster)?.stop();
  });

  it('without a token every process says only {"status":"ok"}', async () => {
    for (const [name, url] of urls()) {
      const a = await health(url);
      expect(a.status, name).to.equal(200);
      expect(a.body, name).to.deep.equal({ status: 'ok' });
    }
  });

  it('with the admin token every process adds its details', async () => {
    const bearer = `Bearer ${cluster.adminToken}`;
    const lb = await health(cluster.balancerUrl, bearer);
    expect(lb.status).to.equal(200);
    expect(lb.body).to.include({ status: 'ok', service: 'balancer' });
    expect((lb.body.backends as unknown[]).length).to.equal(2);
    const b1 = await health(cluster.businessUrls[0]!, bearer);
    expect(b1.body).to.include({ status: 'ok', service: 'bank', businessId: 'b1' });
    const data = await health(cluster.dataUrl, bearer);
    expect(data.body).to.include({ status: 'ok', service: 'data', store: 'sqlite' });
    expect(data.body).to.have.property('lockWaiters');
  });

  it('a wrong or malformed token is refused with 401 and no details', async () => {
    for (const [name, url] of urls()) {
      for (const authorization of [
        `Bearer ${cluster.adminToken}x`,
        'Bearer ',
        cluster.adminToken,
        `Basic ${cluster.adminToken}`,
      ]) {
        const a = await health(url, authorization);
        expect(a.status, `${name} ${authorization}`).to.equal(401);
        expect(a.body, name).to.deep.equal({ error: 'wrong admin token' });
      }
    }
  });

  it('a client token is not an admin token', async () => {
    const alice = cluster.client('alice');
    const a = await health(cluster.balancerUrl, `Bearer ${alice.authToken}`);
    expect(a.status).to.equal(401);
  });
});
