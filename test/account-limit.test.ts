import { expect } from 'chai';
import { callBank } from './helpers/bank-call';
import { BankFixture, startBankFixture } from './helpers/bank-fixture';
import { callData, textOf } from './helpers/data-call';
import {
  DataFixture,
  describeEachBackend,
  postgresBackend,
  startDataServer,
  testDatabaseUrlOrSkip,
  writeBusinessCredentials,
} from './helpers/data-server';
import { RunningProcess } from './helpers/process';
import { ifAssigned } from './helpers/if-assigned';

/**
 * Issue 8, item 4: a client cannot grow the database without bound. The business tier sends its
 * accounts-per-client limit with CreateAccount (accountsMax); the data tier counts the owner's
 * accounts inside the transaction that creates one, so concurrent OpenAccount calls through
 * different business servers (and, over PostgreSQL, different data servers) cannot pass it.
 */
function createArgs(owner: string, transactionId: string, accountsMax?: number): [string, string][] {
  const args: [string, string][] = [
    ['ownerId', owner],
    ['transactionId', transactionId],
  ];
  if (accountsMax !== undefined) args.push(['accountsMax', String(accountsMax)]);
  return args;
}

describeEachBackend('account limit: CreateAccount with accountsMax', (fx: () => DataFixture) => {
  it('creates up to accountsMax accounts per owner, then LIMIT_EXCEEDED; replays still answer', async () => {
    const owner = fx().uniqueId('owner').slice(0, 60);
    const first = await fx().ok('CreateAccount', createArgs(owner, 'lim-1', 2));
    await fx().ok('CreateAccount', createArgs(owner, 'lim-2', 2));
    const refused = await fx().call('CreateAccount', createArgs(owner, 'lim-3', 2));
    expect(refused.fault?.code, JSON.stringify(refused.fault)).to.equal('LIMIT_EXCEEDED');
    expect(refused.fault?.retryable).to.equal(false);
    const replay = await fx().ok('CreateAccount', createArgs(owner, 'lim-1', 2));
    expect(textOf(replay.accountId)).to.equal(textOf(first.accountId));
    expect(textOf(replay.replayed)).to.equal('true');
    // Another owner has its own count; without accountsMax nothing is counted.
    await fx().ok('CreateAccount', createArgs(`${owner}x`, 'lim-4', 2));
    await fx().ok('CreateAccount', createArgs(owner, 'lim-5'));
  });

  it('refuses an accountsMax that is not a positive integer', async () => {
    for (const bad of ['0', '-1', 'x', '1.5']) {
      const r = await fx().call('CreateAccount', [
        ['ownerId', 'alice'],
        ['transactionId', `bad-${bad}`],
        ['accountsMax', bad],
      ]);
      expect(r.fault?.code, bad).to.equal('INVALID_REQUEST');
    }
  });

  it('20 concurrent creates for one owner with accountsMax 5 make exactly 5 accounts', async () => {
    const owner = fx().uniqueId('racer').slice(0, 60);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_v, i) =>
        fx().call('CreateAccount', createArgs(owner, `race-${owner}-${i}`, 5), i % 2 === 0 ? 'b1' : 'b2'),
      ),
    );
    const codes = results.map((r) => r.fault?.code ?? 'OK');
    expect(
      codes.filter((c) => c === 'OK'),
      codes.join(','),
    ).to.have.length(5);
    expect(codes.filter((c) => c === 'LIMIT_EXCEEDED')).to.have.length(15);
  });
});

describe('account limit: two data servers over one PostgreSQL', function () {
  this.timeout(60_000);
  const procs: RunningProcess[] = [];
  let cleanup: (() => Promise<void>) | undefined;
  let credentials: ReturnType<typeof writeBusinessCredentials>;
  before(async function () {
    const backend = postgresBackend(testDatabaseUrlOrSkip(this));
    cleanup = () => backend.cleanup();
    credentials = writeBusinessCredentials(backend.tempDir);
    procs.push(await startDataServer(backend, credentials));
    procs.push(await startDataServer(backend, credentials));
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    await cleanup?.();
  });

  it('30 concurrent creates for one owner spread over both servers make exactly accountsMax accounts', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_v, i) =>
        callData(
          procs[i % 2]!.url,
          'CreateAccount',
          createArgs('shared-owner', `shared-${i}`, 7),
          i % 2 === 0 ? credentials.b1 : credentials.b2,
        ),
      ),
    );
    const codes = results.map((r) => r.fault?.code ?? 'OK');
    expect(
      codes.filter((c) => c === 'OK'),
      codes.join(','),
    ).to.have.length(7);
    expect(codes.filter((c) => c === 'LIMIT_EXCEEDED')).to.have.length(23);
  });
});

describe('account limit: OpenAccount past BANK_ACCOUNTS_PER_CLIENT_MAX', function () {
  this.timeout(30_000);
  let fixture: BankFixture;
  before(async () => {
    fixture = await startBankFixture({
      clients: 2,
      businessServers: 2,
      businessEnv: { BANK_ACCOUNTS_PER_CLIENT_MAX: '3' },
    });
  });
  after(async () => {
    await ifAssigned(fixture)?.stop();
  });

  it('opens 3 accounts of 10 concurrent attempts through two business servers, the rest LIMIT_EXCEEDED', async () => {
    const c1 = fixture.clients[0]!;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_v, i) =>
        callBank(
          fixture.business[i % 2]!.url,
          'OpenAccount',
          [],
          { ...c1, requestId: `open-${i}` },
          { timeoutMs: 10_000 },
        ),
      ),
    );
    const codes = results.map((r) => r.fault?.code ?? 'OK');
    expect(
      codes.filter((c) => c === 'OK'),
      codes.join(','),
    ).to.have.length(3);
    const refused = results.find((r) => r.fault !== undefined)!;
    expect(refused.fault?.code).to.equal('LIMIT_EXCEEDED');
    expect(refused.fault?.faultcode).to.equal('soap:Client');
    expect(refused.fault?.message).to.match(/3 accounts/);
    // The other client is not affected.
    const other = await callBank(
      fixture.business[0]!.url,
      'OpenAccount',
      [],
      { ...fixture.clients[1]!, requestId: 'other-1' },
      { timeoutMs: 10_000 },
    );
    expect(other.fault).to.equal(undefined);
  });
});
