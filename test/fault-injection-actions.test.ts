import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseBalance } from '../common/money';
import { asList, bankEnvelope, BankArgs, BankCallResult, BankRecord, callBank } from './helpers/bank-call';
import { BANK_NAMESPACE, SOAP_CONTENT_TYPE, soapActionHeader } from '../common/contract';
import { BankFixture, startBankFixture, TestClient } from './helpers/bank-fixture';
import { DIST_DIR, startProcess } from './helpers/process';
import { testAdmin } from './helpers/admin';
import { ifAssigned } from './helpers/if-assigned';

/**
 * Every fault-injection action, seen on the wire of a real business server (on a real data
 * server): what the client gets, and what the money did. Rules are switched by rewriting the
 * rules file (re-read within BANK_FAULTS_RELOAD_MS). About 5 s.
 */
const RELOAD_MS = 50;
const TIMEOUT_MS = 10_000;

describe('fault injection: each action on the wire', function () {
  this.timeout(30_000);
  let fixture: BankFixture;
  let rulesFile: string;
  let url: string;
  let alice: TestClient;
  let from: string;
  let to: string;
  let ids = 0;
  let adminToken: string;

  async function setRules(rules: readonly unknown[], seed = 1): Promise<void> {
    writeFileSync(rulesFile, JSON.stringify({ seed, rules }));
    await sleep(RELOAD_MS * 3);
  }

  function call(operation: string, args: BankArgs, requestId = `r-${++ids}`): Promise<BankCallResult> {
    return callBank(
      url,
      operation,
      args,
      { authToken: alice.authToken, clientId: alice.clientId, requestId },
      { timeoutMs: TIMEOUT_MS },
    );
  }

  function ok(result: BankCallResult): BankRecord {
    if (result.body === undefined) throw new Error(`expected success, got ${result.raw}`);
    return result.body;
  }

  async function balanceOf(accountId: string): Promise<number> {
    return parseBalance(ok(await call('GetBalance', [['accountId', accountId]]))['balance']);
  }

  const transferArgs = (): BankArgs => [
    ['fromAccountId', from],
    ['toAccountId', to],
    ['amount', '1.00'],
  ];

  before(async () => {
    // The fixture's dir exists only once it started: start with an empty rules file of our own.
    const dir = join(tmpdir(), `distbank-faults-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    rulesFile = join(dir, 'faults.json');
    writeFileSync(rulesFile, JSON.stringify({ rules: [] }));
    const admin = testAdmin(dir);
    adminToken = admin.token;
    fixture = await startBankFixture({
      clients: 1,
      businessServers: 1,
      businessEnv: { BANK_FAULTS_FILE: rulesFile, BANK_FAULTS_RELOAD_MS: String(RELOAD_MS), ...admin.env },
    });
    url = fixture.business[0]!.url;
    alice = fixture.clients[0]!;
    from = ok(await call('OpenAccount', [['initialDeposit', '100.00']]))['accountId'] as string;
    to = ok(await call('OpenAccount', [['initialDeposit', '100.00']]))['accountId'] as string;
  });

  after(async () => {
    await ifAssigned(fixture)?.stop();
    rmSync(join(rulesFile, '..'), { recursive: true, force: true });
  });

  it('says so on /health, public part included', async () => {
    const res = await fetch(url.replace(/\/bank$/, '/health'));
    expect(await res.json()).to.deep.include({ faultInjection: true });
  });

  it('delay: a fixed delay before the operation', async () => {
    await setRules([{ operation: 'GetBalance', action: 'delay', delayMs: 400 }]);
    const startedMs = Date.now();
    await balanceOf(from);
    expect(Date.now() - startedMs).to.be.at.least(400);
  });

  it('fault: any registry code with its retryable flag and soap faultcode', async () => {
    await setRules([
      { operation: 'GetBalance', count: 1, action: 'fault', code: 'ACCOUNT_LOCKED' },
      { operation: 'GetBalance', count: 1, action: 'fault', code: 'NOT_AUTHORIZED' },
    ]);
    const first = await call('GetBalance', [['accountId', from]]);
    expect(first.fault).to.deep.include({ code: 'ACCOUNT_LOCKED', retryable: true, faultcode: 'soap:Server' });
    expect(first.fault?.message).to.match(/injected by fault rule 0/);
    const second = await call('GetBalance', [['accountId', from]]);
    expect(second.fault).to.deep.include({ code: 'NOT_AUTHORIZED', retryable: false, faultcode: 'soap:Client' });
    ok(await call('GetBalance', [['accountId', from]]));
    expect(fixture.business[0]!.stderrTail()).to.match(/fault injected.*rule=1 action=fault/);
  });

  it('drop-before-commit: the connection closes, nothing was done; the retry applies it once', async () => {
    await setRules([{ operation: 'Transfer', count: 1, action: 'drop-before-commit' }]);
    const before = await balanceOf(from);
    await expectConnectionError(call('Transfer', transferArgs(), 'dbc-1'), /socket hang up/);
    expect(await balanceOf(from)).to.equal(before);
    ok(await call('Transfer', transferArgs(), 'dbc-1'));
    expect(await balanceOf(from)).to.equal(before - 100);
  });

  it('drop-after-commit: committed, then no answer; the retry with the same request-id replays the outcome', async () => {
    await setRules([{ operation: 'Transfer', count: 1, action: 'drop-after-commit' }]);
    const before = await balanceOf(from);
    await expectConnectionError(call('Transfer', transferArgs(), 'dac-1'), /socket hang up/);
    // The money moved although the client heard nothing.
    expect(await balanceOf(from)).to.equal(before - 100);
    const retry = ok(await call('Transfer', transferArgs(), 'dac-1'));
    expect(parseBalance(retry['balance'])).to.equal(before - 100);
    const statement = ok(await call('GetStatement', [['accountId', from]]));
    const entries = asList(statement['entry']).filter(
      (e) => (e as BankRecord)['transactionId'] === retry['transactionId'],
    );
    expect(entries).to.have.length(1);
    // The request's trace says what was done to it.
    const trace = await (
      await fetch(url.replace(/\/bank$/, '/admin/trace?id=dac-1'), {
        headers: { authorization: `Bearer ${adminToken}` },
      })
    ).text();
    expect(trace).to.contain('"fault_injected":"rule 0 drop-after-commit"');
  });

  it('reset: a TCP RST, nothing done', async () => {
    await setRules([{ operation: 'Deposit', count: 1, action: 'reset' }]);
    const before = await balanceOf(to);
    await expectConnectionError(
      call(
        'Deposit',
        [
          ['accountId', to],
          ['amount', '1.00'],
        ],
        'rst-1',
      ),
      /^read ECONNRESET$/,
    );
    expect(await balanceOf(to)).to.equal(before);
  });

  it('slow-response: the headers at once, the answer dribbled over durationMs', async () => {
    await setRules([{ operation: 'GetBalance', action: 'slow-response', durationMs: 800 }]);
    const timing = await timedPost(
      url,
      bankEnvelope('GetBalance', [['accountId', from]], {
        authToken: alice.authToken,
        clientId: alice.clientId,
      }),
    );
    expect(timing.headersMs).to.be.below(400);
    expect(timing.endMs).to.be.at.least(700);
    expect(timing.chunks).to.be.at.least(5);
    expect(timing.body).to.contain('GetBalanceResponse');
  });

  it('data-unavailable: SERVICE_UNAVAILABLE as when the data tier is down, nothing moved', async () => {
    await setRules([{ operation: 'Withdraw', count: 1, action: 'data-unavailable' }]);
    const before = await balanceOf(from);
    const result = await call(
      'Withdraw',
      [
        ['accountId', from],
        ['amount', '1.00'],
      ],
      'du-1',
    );
    expect(result.fault).to.deep.include({ code: 'SERVICE_UNAVAILABLE', retryable: true, faultcode: 'soap:Server' });
    expect(result.fault?.message).to.equal('the data tier is unavailable; retry later with the same request-id');
    expect(await balanceOf(from)).to.equal(before);
  });

  it('lock-contention: ACCOUNT_LOCKED after the wait, nothing moved; no real lock: the account serves others meanwhile', async () => {
    await setRules([{ operation: 'Withdraw', accountId: from, count: 1, action: 'lock-contention', durationMs: 1000 }]);
    const before = await balanceOf(from);
    const startedMs = Date.now();
    const order: string[] = [];
    const withdraw = call(
      'Withdraw',
      [
        ['accountId', from],
        ['amount', '1.00'],
      ],
      'lc-1',
    ).then((r) => (order.push('withdraw'), r));
    // A Deposit takes the account's real lock: it is answered while the injected "lock" still holds.
    const deposit = ok(
      await call(
        'Deposit',
        [
          ['accountId', from],
          ['amount', '2.00'],
        ],
        'lc-deposit',
      ),
    );
    order.push('deposit');
    const result = await withdraw;
    expect(order).to.deep.equal(['deposit', 'withdraw']);
    expect(Date.now() - startedMs).to.be.at.least(1000);
    expect(result.fault).to.deep.include({ code: 'ACCOUNT_LOCKED', retryable: true });
    expect(parseBalance(deposit['balance'])).to.equal(before + 200);
    expect(await balanceOf(from)).to.equal(before + 200);
  });

  it('a bad file on reload keeps the previous rules and says so loudly', async () => {
    await setRules([{ operation: 'GetBalance', action: 'fault', code: 'INTERNAL_ERROR' }]);
    expect((await call('GetBalance', [['accountId', from]])).fault?.code).to.equal('INTERNAL_ERROR');
    writeFileSync(rulesFile, JSON.stringify({ rules: [{ operation: 'GetBalance', action: 'fault', code: 'NOPE' }] }));
    await sleep(RELOAD_MS * 3);
    expect((await call('GetBalance', [['accountId', from]])).fault?.code).to.equal('INTERNAL_ERROR');
    expect(fixture.business[0]!.stderrTail()).to.match(/error.*fault rules not reloaded.*rules\[0\]\.code/);
    await setRules([]);
    ok(await call('GetBalance', [['accountId', from]]));
  });

  it('the admin route sets, shows and clears the rules (bearer token), refuses bad rules naming the field', async () => {
    const adminUrl = url.replace(/\/bank$/, '/admin/faults');
    const as = (method: string, body?: unknown, token = adminToken) =>
      fetch(adminUrl, {
        method,
        headers: { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect((await as('GET', undefined, 'wrong')).status).to.equal(401);
    expect((await fetch(adminUrl)).status).to.equal(401);
    const bad = await as('PUT', { rules: [{ operation: 'Transfer', action: 'drop-after-commit', every: '3' }] });
    expect(bad.status).to.equal(400);
    expect(await bad.json()).to.deep.equal({
      code: 'INVALID_REQUEST',
      error: 'rules[0].every must be an integer from 1 to 1000000, got "3"',
    });
    const rules = {
      seed: 9,
      rules: [{ operation: 'GetBalance', count: 1, action: 'fault', code: 'SERVICE_UNAVAILABLE' }],
    };
    expect((await as('PUT', rules)).status).to.equal(200);
    expect(await (await as('GET')).json()).to.deep.include(rules);
    expect((await call('GetBalance', [['accountId', from]])).fault?.code).to.equal('SERVICE_UNAVAILABLE');
    ok(await call('GetBalance', [['accountId', from]]));
    expect((await as('PUT', rules)).status).to.equal(200); // counters start afresh
    expect((await as('DELETE')).status).to.equal(200);
    expect(await (await as('GET')).json()).to.deep.include({ rules: [] });
    ok(await call('GetBalance', [['accountId', from]]));
  });

  it('a seed reproduces the same fired sequence for the same requests, on the wire', async () => {
    const pattern = async (seed: number): Promise<string> => {
      await setRules([{ operation: 'GetBalance', probability: 0.4, action: 'fault', code: 'ACCOUNT_LOCKED' }], seed);
      let seen = '';
      for (let i = 0; i < 40; i++)
        seen += (await call('GetBalance', [['accountId', from]])).fault === undefined ? '.' : 'F';
      return seen;
    };
    const first = await pattern(5);
    expect(first).to.match(/F/).and.to.match(/\./);
    expect(await pattern(5)).to.equal(first);
    expect(await pattern(6)).to.not.equal(first);
    await setRules([]);
  });

  it('a server started without --faults: no injection, and the admin route cannot switch it on (409)', async () => {
    const admin = testAdmin(join(rulesFile, '..'));
    const plain = await startProcess('business/main.js', {
      BANK_PORT: '0',
      BANK_BUSINESS_ID: 'b1',
      BANK_BUSINESS_TOKEN: fixture.businessTokens[0]!,
      BANK_DATA_URL: fixture.data.url,
      BANK_CLIENT_CREDENTIALS_FILE: join(fixture.dir, 'client-credentials.json'),
      BANK_LOG_LEVEL: 'warn',
      ...admin.env,
    });
    try {
      const base = plain.url.replace(/\/bank$/, '');
      const put = await fetch(`${base}/admin/faults`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${admin.token}` },
        body: JSON.stringify({ rules: [{ operation: '*', action: 'reset' }] }),
      });
      expect(put.status).to.equal(409);
      expect(await (await fetch(`${base}/health`)).json()).to.deep.equal({ status: 'ok' });
    } finally {
      await plain.kill('SIGTERM');
    }
  });

  it('npm start with a bad rules file: one line naming the field, exit 2, nothing started or written', () => {
    writeFileSync(rulesFile, JSON.stringify({ rules: [{ operation: 'Transfer', action: 'drop-after-comit' }] }));
    const dataDir = join(rulesFile, '..', 'cluster-var');
    const run = spawnSync(
      process.execPath,
      [
        join(DIST_DIR, 'scripts', 'cluster.js'),
        '--data-port',
        '0',
        '--business-ports',
        '0,0,0',
        '--balancer-port',
        '0',
        '--data-dir',
        dataDir,
        '--faults',
        rulesFile,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(run.status, run.stderr).to.equal(2);
    expect(run.stderr.trim().split('\n')).to.have.length(1);
    expect(run.stderr).to.match(/rules\[0\]\.action must be one of .* got "drop-after-comit"/);
    expect(existsSync(dataDir)).to.equal(false);
    writeFileSync(rulesFile, JSON.stringify({ rules: [] }));
  });

  it('a bad file at start: one line naming the field, exit 2', async () => {
    writeFileSync(
      rulesFile,
      JSON.stringify({ rules: [{ operation: 'Transfer', probabilty: 0.3, action: 'drop-after-commit' }] }),
    );
    const failure = await startProcess('business/main.js', {
      BANK_PORT: '0',
      BANK_BUSINESS_ID: 'b1',
      BANK_BUSINESS_TOKEN: fixture.businessTokens[0]!,
      BANK_DATA_URL: fixture.data.url,
      BANK_CLIENT_CREDENTIALS_FILE: join(fixture.dir, 'client-credentials.json'),
      BANK_FAULTS_FILE: rulesFile,
    }).then(
      () => 'started',
      (error: unknown) => (error as Error).message,
    );
    expect(failure).to.match(/exited \(2\) before ready/);
    const lines = failure
      .split('\n')
      .slice(1)
      .filter((l) => l.trim() !== '');
    expect(lines, failure).to.have.length(1);
    expect(lines[0]).to.match(/fault rules file .*faults\.json: rules\[0\]: unknown field "probabilty"/);
    writeFileSync(rulesFile, JSON.stringify({ rules: [] }));
  });
});

async function expectConnectionError(call: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error, 'expected the connection to fail').to.be.instanceOf(Error);
  expect(error!.message).to.match(message);
}

interface Timing {
  headersMs: number;
  endMs: number;
  chunks: number;
  body: string;
}

function timedPost(url: string, body: string): Promise<Timing> {
  const startedMs = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': SOAP_CONTENT_TYPE, soapaction: soapActionHeader(BANK_NAMESPACE, 'GetBalance') },
      },
      (res) => {
        const headersMs = Date.now() - startedMs;
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('end', () =>
          resolve({
            headersMs,
            endMs: Date.now() - startedMs,
            chunks: parts.length,
            body: Buffer.concat(parts).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
