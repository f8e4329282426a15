import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { dropSchema } from '../server/pg-schema-name';
import { callBank } from './helpers/bank-call';
import {
  cents,
  CLIENT_RATE_LIFTED,
  field,
  openAccount,
  startCluster,
  statementOf,
  TestClient,
  TestCluster,
} from './helpers/cluster';
import { testDatabaseUrlOrSkip } from './helpers/data-server';

/**
 * Business-tier failover among data servers: two data servers over one PostgreSQL, two business
 * servers each given both (BANK_DATA_URLS). 32 clients, each pinned to one business server (no
 * balancer: the failover must happen inside the business tier), transfer from their own account
 * to random others, re-sending the same request-id after a retryable fault. One data server is
 * SIGKILLed mid-stream. Then: total money unchanged, every acknowledged transfer in the journal
 * exactly once (out and in), nothing else there, each balance = its journal, no fault but
 * retryable ones, and the p99 of the transfers begun in the second after the kill (client
 * retries included) under 1 s — or, on a machine so loaded that transfers before the kill
 * already took longer, under twice their p99 (a failover that waited for a call timeout, 5 s,
 * or for a lease would still fail it). ~15 s.
 */
const CLIENTS = 32;
/** Recipients besides the clients' own accounts: few collisions, so the wait measured is the failover's. */
const SINKS = 224;
const OWNERS = 4;
const OPENING = '1000.00';
const AMOUNT = '0.01';
const BEFORE_KILL_MS = 1500;
const AFTER_KILL_MS = 2500;
const FAILOVER_WINDOW_MS = 1000;
const P99_MS_MAX = 1000;
const ATTEMPTS_MAX = 50;
const ATTEMPT_TIMEOUT_MS = 10_000;
const RETRYABLE = new Set(['SERVICE_UNAVAILABLE', 'ACCOUNT_LOCKED']);

interface Done {
  readonly requestId: string;
  readonly transactionId: string;
  readonly from: string;
  readonly to: string;
  readonly startedMs: number;
  readonly ms: number;
}

function p99(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? 0;
}

describe('business tier: failover among data servers (SIGKILL of one of two under load)', function () {
  this.timeout(90_000);
  let cluster: TestCluster | undefined;
  let databaseUrl: string;
  const schema = `t_${randomBytes(6).toString('hex')}`;

  before(async function () {
    databaseUrl = testDatabaseUrlOrSkip(this);
    cluster = await startCluster({
      businessCount: 2,
      dataServers: 2,
      businessDataUrls: 'all',
      clients: Array.from({ length: OWNERS }, (_v, i) => `owner${i + 1}`),
      dataEnv: { DATABASE_URL: databaseUrl, BANK_PG_SCHEMA: schema },
      businessEnv: CLIENT_RATE_LIFTED, // a load test: a few owners send it all
    });
  });
  after(async () => {
    await cluster?.stop();
    if (cluster === undefined) return;
    await dropSchema(databaseUrl, schema);
  });

  it('zero money lost, every acknowledged transfer exactly once, only retryable faults, p99 in the failover second < 1 s', async () => {
    const c = cluster!;
    const owners = c.credentials;
    const accounts = await Promise.all(
      Array.from({ length: CLIENTS + SINKS }, (_v, i) =>
        openAccount(c.businessUrls[i % 2]!, owners[i % OWNERS]!, OPENING),
      ),
    );
    const done: Done[] = [];
    const faults = new Map<string, number>();
    let stop = false;
    let seq = 0;

    const transfer = async (i: number, owner: TestClient, url: string): Promise<void> => {
      const from = accounts[i]!;
      const to = accounts[(i + 1 + Math.floor(Math.random() * (CLIENTS + SINKS - 1))) % (CLIENTS + SINKS)]!;
      const requestId = `fo-${i}-${seq++}`;
      const startedMs = performance.now();
      for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
        const r = await callBank(
          url,
          'Transfer',
          [
            ['fromAccountId', from],
            ['toAccountId', to],
            ['amount', AMOUNT],
          ],
          { ...owner, requestId },
          { timeoutMs: ATTEMPT_TIMEOUT_MS },
        );
        if (r.fault === undefined) {
          done.push({
            requestId,
            transactionId: field(r, 'transactionId'),
            from,
            to,
            startedMs,
            ms: performance.now() - startedMs,
          });
          return;
        }
        faults.set(r.fault.code, (faults.get(r.fault.code) ?? 0) + 1);
        if (!RETRYABLE.has(r.fault.code))
          throw new Error(`${requestId}: non-retryable fault ${r.fault.code}: ${r.fault.message}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`${requestId}: no answer after ${ATTEMPTS_MAX} attempts\n${c.logs()}`);
    };
    const worker = async (i: number): Promise<void> => {
      const url = c.businessUrls[i % c.businessUrls.length]!;
      while (!stop) await transfer(i, owners[i % OWNERS]!, url);
    };

    const workers = Array.from({ length: CLIENTS }, (_v, i) => worker(i));
    await new Promise((resolve) => setTimeout(resolve, BEFORE_KILL_MS));
    const killedAtMs = performance.now();
    await c.killData(1, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, AFTER_KILL_MS));
    stop = true;
    await Promise.all(workers);

    const inWindow = done
      .filter((d) => d.startedMs >= killedAtMs && d.startedMs < killedAtMs + FAILOVER_WINDOW_MS)
      .map((d) => d.ms);
    const windowP99 = p99(inWindow);
    process.stderr.write(
      `    ${done.length} transfers acknowledged; failover second: ${inWindow.length} begun, p99 ${windowP99.toFixed(0)} ms, max ${Math.max(...inWindow).toFixed(0)} ms; overall p99 ${p99(done.map((d) => d.ms)).toFixed(0)} ms; load average ${os.loadavg()[0]!.toFixed(1)}; faults seen by clients: ${JSON.stringify(Object.fromEntries(faults))}\n`,
    );
    expect(done.filter((d) => d.startedMs < killedAtMs).length, 'transfers before the kill').to.be.above(0);
    expect(inWindow.length, 'transfers begun in the failover second').to.be.above(0);
    const beforeP99 = p99(done.filter((d) => d.startedMs < killedAtMs).map((d) => d.ms));
    expect(
      windowP99,
      `p99 of transfers begun in the second after the kill (before it: ${beforeP99.toFixed(0)} ms)`,
    ).to.be.below(Math.max(P99_MS_MAX, 2 * beforeP99));

    // The ledger: each account's journal against the acknowledged transfers.
    const outs = new Map<string, number>();
    const ins = new Map<string, number>();
    let totalCents = 0;
    for (let i = 0; i < CLIENTS + SINKS; i++) {
      const { balance, entries } = await statementOf(c.businessUrls[0]!, owners[i % OWNERS]!, accounts[i]!, 1000);
      expect(entries.length, 'statement fits in one page').to.be.below(1000);
      totalCents += cents(balance);
      const sum = entries.reduce((s, e) => s + cents(e.amount), 0);
      expect(sum, `account ${accounts[i]!}: balance = its journal`).to.equal(cents(balance));
      for (const e of entries) {
        if (e.kind === 'TRANSFER_OUT') outs.set(e.transactionId, (outs.get(e.transactionId) ?? 0) + 1);
        if (e.kind === 'TRANSFER_IN') ins.set(e.transactionId, (ins.get(e.transactionId) ?? 0) + 1);
      }
    }
    expect(totalCents, 'money in the bank').to.equal((CLIENTS + SINKS) * cents(OPENING));
    const acknowledged = new Set(done.map((d) => d.transactionId));
    expect(acknowledged.size, 'one transaction id per acknowledged transfer').to.equal(done.length);
    for (const id of acknowledged) {
      expect(outs.get(id), `${id} out`).to.equal(1);
      expect(ins.get(id), `${id} in`).to.equal(1);
    }
    // Every request ended acknowledged, so nothing else may be in the journal.
    expect(outs.size, 'transfers in the journal').to.equal(acknowledged.size);
    expect(ins.size).to.equal(acknowledged.size);
    for (const f of faults.keys()) expect(RETRYABLE.has(f), f).to.equal(true);
  });
});
