import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { dropSchema } from '../server/pg-schema-name';
import { callWithRetry, cents, field, openAccount, startCluster, statementOf, TestCluster } from './helpers/cluster';

/**
 * The scale-out shape of docs/ARCHITECTURE.md §1: two data servers sharing ONE PostgreSQL schema, three
 * business servers split between them (b1, b3 → data 1; b2 → data 2), the balancer in front.
 * Locks and idempotency live in the database, so the money rules hold across data servers.
 * Runs when TEST_DATABASE_URL is set (CI sets it), else pending.
 */
describe('cluster over PostgreSQL with two data servers', function () {
  this.timeout(90_000);
  let cluster: TestCluster | undefined;
  let databaseUrl: string;
  const schema = `t_${randomBytes(6).toString('hex')}`;

  before(async function () {
    const url = process.env.TEST_DATABASE_URL;
    if (url === undefined || url === '') {
      if (process.env.CI)
        throw new Error('TEST_DATABASE_URL is not set under CI: the PostgreSQL cluster test must run there');
      this.skip();
    }
    databaseUrl = url;
    cluster = await startCluster({
      businessCount: 3,
      dataServers: 2,
      dataEnv: { DATABASE_URL: url, BANK_PG_SCHEMA: schema },
    });
  });
  after(async () => {
    await cluster?.stop();
    if (cluster !== undefined) await dropSchema(databaseUrl, schema);
  });

  it('100 concurrent withdrawals of 10.00 from 500.00 across both data servers: exactly 50 succeed', async () => {
    const c = cluster!;
    const alice = c.client('alice');
    const account = await openAccount(c.balancerUrl, alice, '500.00');
    const results = await Promise.all(
      Array.from({ length: 100 }, (_v, i) =>
        callWithRetry(
          c.businessUrls[i % 3]!,
          'Withdraw',
          [
            ['accountId', account],
            ['amount', '10.00'],
          ],
          alice,
          `pg-wd-${i}`,
        ),
      ),
    );
    const tally: Record<string, number> = {};
    for (const r of results) tally[r.result.fault?.code ?? 'OK'] = (tally[r.result.fault?.code ?? 'OK'] ?? 0) + 1;
    expect(tally).to.deep.equal({ OK: 50, INSUFFICIENT_FUNDS: 50 });
    const { balance, entries } = await statementOf(c.balancerUrl, alice, account);
    expect(balance).to.equal('0.00');
    expect(entries.filter((e) => e.kind === 'WITHDRAWAL')).to.have.length(50);
    for (const e of entries) expect(cents(e.balanceAfter)).to.be.at.least(0);
  });

  it('opposite transfers through the balancer: total unchanged, statements add up, a replay via the other data server moves nothing', async () => {
    const c = cluster!;
    const alice = c.client('alice');
    const bob = c.client('bob');
    const a = await openAccount(c.balancerUrl, alice, '200.00');
    const b = await openAccount(c.balancerUrl, bob, '200.00');
    const ok: string[] = [];
    const worker = async (side: string, who: typeof alice, from: string, to: string, w: number): Promise<void> => {
      for (let i = 0; i < 20; i++) {
        const r = await callWithRetry(
          c.balancerUrl,
          'Transfer',
          [
            ['fromAccountId', from],
            ['toAccountId', to],
            ['amount', '1.00'],
          ],
          who,
          `pg-${side}-${w}-${i}`,
        );
        if (r.result.fault === undefined) ok.push(field(r.result, 'transactionId'));
      }
    };
    await Promise.all([0, 1, 2, 3].flatMap((w) => [worker('ab', alice, a, b, w), worker('ba', bob, b, a, w)]));
    expect(ok).to.have.length(160);
    // b2 talks to the other data server than b1: the same request-id there is a replay.
    const replay = await callWithRetry(
      c.businessUrls[1]!,
      'Transfer',
      [
        ['fromAccountId', a],
        ['toAccountId', b],
        ['amount', '1.00'],
      ],
      alice,
      'pg-ab-0-0',
    );
    expect(ok).to.include(field(replay.result, 'transactionId'));
    const [sa, sb] = await Promise.all([statementOf(c.balancerUrl, alice, a), statementOf(c.balancerUrl, bob, b)]);
    expect(cents(sa.balance) + cents(sb.balance)).to.equal(40_000);
    for (const s of [sa, sb]) expect(s.entries.reduce((sum, e) => sum + cents(e.amount), 0)).to.equal(cents(s.balance));
  });
});
