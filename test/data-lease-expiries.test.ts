import { expect } from 'chai';
import { DataFixture, describeEachBackend, lockOf } from './helpers/data-server';
import { fetchMetrics, sampleValues } from './helpers/metrics';

/**
 * distbank_lease_expiries_total on the data server's /metrics, over SQLite and over PostgreSQL
 * (TEST_DATABASE_URL): a lease that ran out counts once when the server meets it again — taken
 * over by another Lock, or unlocked late by its holder — and a lease released in time never
 * counts. ~2 s per backend.
 */
const LEASE_MS = 100;
const PAST_LEASE_MS = 250;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function leaseExpiries(fx: DataFixture): Promise<number> {
  const res = await fetchMetrics(fx.url, fx.adminToken);
  expect(res.status).to.equal(200);
  const value = sampleValues(res.text, 'distbank_lease_expiries_total')[0];
  expect(value, 'distbank_lease_expiries_total in /metrics').to.not.equal(undefined);
  return Number(value);
}

describeEachBackend(
  'data server lease expiries metric',
  (fx) => {
    it('counts a lease taken over after it ran out, and one unlocked late; not one released in time', async () => {
      const [a, b] = [await fx().createAccount('1.00'), await fx().createAccount('1.00')];
      const start = await leaseExpiries(fx());

      const inTime = lockOf(await fx().lock([a], 'b1', { leaseMs: LEASE_MS }));
      await fx().ok('Unlock', [['lockId', inTime.lockId]], 'b1');
      expect(await leaseExpiries(fx()), 'released in time').to.equal(start);

      lockOf(await fx().lock([a, b], 'b1', { leaseMs: LEASE_MS }));
      await sleep(PAST_LEASE_MS);
      const takeover = lockOf(await fx().lock([a], 'b2', { leaseMs: LEASE_MS }));
      expect(await leaseExpiries(fx()), 'taken over').to.equal(start + 1);

      await sleep(PAST_LEASE_MS);
      await fx().ok('Unlock', [['lockId', takeover.lockId]], 'b2');
      expect(await leaseExpiries(fx()), 'unlocked late').to.equal(start + 2);
    });
  },
  { BANK_LEASE_MS_MIN: String(LEASE_MS) },
);
