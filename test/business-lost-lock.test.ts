import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { parseBalance } from '../common/money';
import { BankCallResult, BankRecord, callBank } from './helpers/bank-call';
import { BankFixture, startBankFixture, TestClient } from './helpers/bank-fixture';
import { RunningProcess } from './helpers/process';
import { ifAssigned } from './helpers/if-assigned';

/**
 * The business server's recovery paths, made to happen by a small HTTP proxy between the
 * business server and the real data server:
 *   - an Update held back past the lock's lease → the data tier answers LOCK_EXPIRED → the
 *     business server locks and updates again with the same transaction id: money moves once;
 *   - an Update whose answer is lost after the data tier committed it → SERVICE_UNAVAILABLE;
 *     the client's retry with the same request-id returns the first outcome, nothing twice.
 */
type Rule = (operation: string) => 'pass' | 'delay' | 'drop-answer';

interface DataProxy {
  readonly url: string;
  rule: Rule;
  close(): Promise<void>;
}

const LEASE_MS = 150;
const DELAY_MS = 400;

async function startDataProxy(targetUrl: string): Promise<DataProxy> {
  const target = new URL(targetUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const proxy: DataProxy = {
    url: '',
    rule: () => 'pass',
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = /#(\w+)"?$/.exec(String(req.headers['soapaction'] ?? ''))?.[1] ?? '';
      const action = proxy.rule(operation);
      const forward = (): void => {
        const upstream = http.request(
          {
            agent,
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: 'POST',
            headers: { ...req.headers, host: target.host },
          },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (c: Buffer) => parts.push(c));
            answer.on('end', () => {
              if (action === 'drop-answer') {
                res.socket?.destroy();
                return;
              }
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(parts));
            });
          },
        );
        upstream.on('error', () => res.socket?.destroy());
        upstream.end(body);
      };
      if (action === 'delay') setTimeout(forward, DELAY_MS);
      else forward();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  (proxy as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}`;
  return proxy;
}

describe('business server recovery paths (proxy in front of the real data server)', function () {
  let fixture: BankFixture;
  let proxy: DataProxy;
  let business: RunningProcess;
  let alice: TestClient;

  before(async () => {
    fixture = await startBankFixture({ clients: 1, businessServers: 0 });
    alice = fixture.clients[0]!;
    proxy = await startDataProxy(fixture.data.url);
    business = await fixture.startBusiness(0, { BANK_DATA_URL: proxy.url, BANK_LOCK_LEASE_MS: String(LEASE_MS) });
  });

  after(async () => {
    await ifAssigned(fixture)?.stop();
    await ifAssigned(proxy)?.close();
  });

  function call(
    operation: string,
    args: readonly (readonly [string, string])[],
    requestId?: string,
  ): Promise<BankCallResult> {
    return callBank(
      business.url,
      operation,
      args,
      {
        authToken: alice.authToken,
        clientId: alice.clientId,
        ...(requestId === undefined ? {} : { requestId }),
      },
      { timeoutMs: 10_000 },
    );
  }

  function ok(result: BankCallResult): BankRecord {
    if (result.body === undefined) throw new Error(`expected success, got ${JSON.stringify(result.fault)}`);
    return result.body;
  }

  async function balance(accountId: string): Promise<number> {
    return parseBalance(ok(await call('GetBalance', [['accountId', accountId]]))['balance']);
  }

  async function journalLength(accountId: string): Promise<number> {
    const entries = ok(await call('GetStatement', [['accountId', accountId]]))['entry'];
    return entries === undefined ? 0 : Array.isArray(entries) ? entries.length : 1;
  }

  it('an Update that arrives after the lease ran out is redone under a new lock, once', async () => {
    const from = ok(await call('OpenAccount', [['initialDeposit', '50.00']], 'll-open-1'))['accountId'] as string;
    const to = ok(await call('OpenAccount', [['initialDeposit', '50.00']], 'll-open-2'))['accountId'] as string;
    let updates = 0;
    proxy.rule = (operation) => {
      if (operation !== 'Update') return 'pass';
      updates++;
      return updates === 1 ? 'delay' : 'pass';
    };
    try {
      const result = ok(
        await call(
          'Transfer',
          [
            ['fromAccountId', from],
            ['toAccountId', to],
            ['amount', '5.00'],
          ],
          'll-xfer-1',
        ),
      );
      expect(result['balance']).to.equal('45.00');
      expect(updates, 'the first Update was refused, the second applied').to.equal(2);
    } finally {
      proxy.rule = () => 'pass';
    }
    expect(await balance(from)).to.equal(4500);
    expect(await balance(to)).to.equal(5500);
    expect(await journalLength(from)).to.equal(2);
  });

  it('a slow data tier cannot hold a request past its deadline', async () => {
    const account = ok(await call('OpenAccount', [['initialDeposit', '30.00']], 'll-open-4'))['accountId'] as string;
    const hurried = await fixture.startBusiness(0, {
      BANK_DATA_URL: proxy.url,
      BANK_LOCK_LEASE_MS: String(LEASE_MS),
      BANK_REQUEST_DEADLINE_MS: '700',
      BANK_ACCOUNT_QUEUE_WAIT_MS: '300',
      BANK_LOCK_WAIT_MS: '200',
    });
    proxy.rule = () => 'delay';
    try {
      const startedMs = Date.now();
      // Read (owner, 400 ms) + Lock (400 ms) + Update (400 ms) would take 1.2 s; the deadline is 0.7 s.
      const result = await callBank(
        hurried.url,
        'Withdraw',
        [
          ['accountId', account],
          ['amount', '1.00'],
        ],
        { authToken: alice.authToken, clientId: alice.clientId, requestId: 'll-slow-1' },
        { timeoutMs: 10_000 },
      );
      const elapsedMs = Date.now() - startedMs;
      expect(result.fault?.code, result.raw).to.equal('SERVICE_UNAVAILABLE');
      expect(elapsedMs).to.be.within(600, 1100);
    } finally {
      proxy.rule = () => 'pass';
      await hurried.kill('SIGTERM');
      business = await fixture.startBusiness(0, { BANK_DATA_URL: proxy.url, BANK_LOCK_LEASE_MS: String(LEASE_MS) });
    }
    // Nothing moved, and the same request-id goes through once the data tier is quick again.
    await new Promise((resolve) => setTimeout(resolve, 2 * DELAY_MS));
    expect(await balance(account)).to.equal(3000);
    expect(
      ok(
        await call(
          'Withdraw',
          [
            ['accountId', account],
            ['amount', '1.00'],
          ],
          'll-slow-1',
        ),
      )['balance'],
    ).to.equal('29.00');
  });

  it('SIGTERM lets a request in flight finish, then exits 0', async () => {
    const account = ok(await call('OpenAccount', [['initialDeposit', '10.00']], 'll-open-5'))['accountId'] as string;
    const draining = await fixture.startBusiness(0, { BANK_DATA_URL: proxy.url });
    proxy.rule = () => 'delay';
    try {
      const pending = callBank(
        draining.url,
        'Deposit',
        [
          ['accountId', account],
          ['amount', '1.00'],
        ],
        { authToken: alice.authToken, clientId: alice.clientId, requestId: 'll-drain-1' },
        { timeoutMs: 10_000 },
      );
      await new Promise((resolve) => setTimeout(resolve, 150));
      const stopped = draining.kill('SIGTERM');
      const result = await pending;
      const answeredMs = Date.now();
      await stopped;
      expect(Date.now() - answeredMs, 'exits soon after the last answer').to.be.below(1000);
      expect(result.body?.['balance'], result.raw).to.equal('11.00');
      expect(draining.child.exitCode).to.equal(0);
    } finally {
      proxy.rule = () => 'pass';
      business = await fixture.startBusiness(0, { BANK_DATA_URL: proxy.url, BANK_LOCK_LEASE_MS: String(LEASE_MS) });
    }
  });

  it('an Update whose answer is lost: SERVICE_UNAVAILABLE, and the retry returns the first outcome', async () => {
    const account = ok(await call('OpenAccount', [['initialDeposit', '30.00']], 'll-open-3'))['accountId'] as string;
    proxy.rule = (operation) => (operation === 'Update' ? 'drop-answer' : 'pass');
    let lost: BankCallResult;
    try {
      lost = await call(
        'Withdraw',
        [
          ['accountId', account],
          ['amount', '10.00'],
        ],
        'll-wd-1',
      );
    } finally {
      proxy.rule = () => 'pass';
    }
    expect(lost.fault?.code, lost.raw).to.equal('SERVICE_UNAVAILABLE');
    expect(lost.fault?.retryable).to.equal(true);
    const retried = ok(
      await call(
        'Withdraw',
        [
          ['accountId', account],
          ['amount', '10.00'],
        ],
        'll-wd-1',
      ),
    );
    expect(retried['balance']).to.equal('20.00');
    expect(await balance(account)).to.equal(2000);
    expect(await journalLength(account)).to.equal(2);
  });
});
