import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { BankClient } from '../client-ts';
import { asList, BankRecord, callBank } from './helpers/bank-call';
import { BankFixture, startBankFixture } from './helpers/bank-fixture';
import { CLIENT_RATE_LIFTED } from './helpers/cluster';
import { recordsOf, textOf } from './helpers/data-call';
import { DataFixture, describeEachBackend, lockOf } from './helpers/data-server';
import { DIST_DIR } from './helpers/process';
import { ifAssigned } from './helpers/if-assigned';

function cliJson(args: readonly string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(DIST_DIR, 'client-ts', 'cli.js'), '--json', ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`bank ${args.join(' ')}: ${error.message}\n${stdout}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim()) as Record<string, unknown>);
      },
    );
  });
}

/**
 * Issue 8, item 4: third-party deposits cannot hide the owner's own history. GetStatement (and
 * the data tier's GetJournal) take a kind filter and a paging cursor (beforeEntryId, from each
 * entry's entryId): the owner asks for WITHDRAWAL and TRANSFER_OUT — what only the owner can do —
 * however many deposits others made, and can page through everything else.
 */
describeEachBackend('statement filter: GetJournal with kind and beforeEntryId', (fx: () => DataFixture) => {
  let account: string;
  before(async () => {
    account = await fx().createAccount('100.00');
    const other = await fx().createAccount('0.00', 'bob');
    const apply = async (postings: [string, string][]): Promise<void> => {
      const lock = lockOf(await fx().lock(postings.map((p) => p[0]).sort()));
      const r = await fx().update(lock, fx().uniqueId('t'), postings, 'b1', true);
      if (r.fault !== undefined) throw new Error(JSON.stringify(r.fault));
    };
    await apply([[account, '-1.00']]);
    for (let i = 0; i < 6; i++) await apply([[account, '0.01']]);
    await apply([
      [account, '-2.00'],
      [other, '2.00'],
    ]);
    for (let i = 0; i < 6; i++) await apply([[account, '0.01']]);
  });

  const journal = async (args: [string, string | string[]][]): Promise<BankRecord[]> =>
    recordsOf((await fx().ok('GetJournal', [['accountId', account], ...args])).entry);

  it('returns only the kinds asked for, newest first, each with its entryId', async () => {
    const entries = await journal([
      ['limit', '2'],
      ['kind', ['WITHDRAWAL', 'TRANSFER_OUT']],
    ]);
    expect(entries.map((e) => textOf(e.kind))).to.deep.equal(['TRANSFER_OUT', 'WITHDRAWAL']);
    expect(entries.map((e) => textOf(e.amount))).to.deep.equal(['-2.00', '-1.00']);
    const ids = entries.map((e) => Number(textOf(e.entryId)));
    expect(ids[0]).to.be.above(ids[1]!);
  });

  it('pages by beforeEntryId through every entry exactly once', async () => {
    const all = await journal([['limit', '1000']]);
    expect(all).to.have.length(15); // opening + 1 + 6 + 1 + 6
    const seen: string[] = [];
    let before: string | undefined;
    for (let page = 0; page < 10; page++) {
      const entries = await journal([
        ['limit', '4'],
        ...(before === undefined ? [] : [['beforeEntryId', before] as [string, string]]),
      ]);
      if (entries.length === 0) break;
      seen.push(...entries.map((e) => textOf(e.entryId)));
      before = textOf(entries[entries.length - 1]!.entryId);
    }
    expect(seen).to.deep.equal(all.map((e) => textOf(e.entryId)));
    const deposits = await journal([
      ['kind', 'DEPOSIT'],
      ['beforeEntryId', textOf(all[7]!.entryId)],
    ]);
    expect(
      deposits.every(
        (e) => textOf(e.kind) === 'DEPOSIT' && Number(textOf(e.entryId)) < Number(textOf(all[7]!.entryId)),
      ),
    ).to.equal(true);
  });

  it('refuses an unknown or repeated kind and a malformed cursor', async () => {
    for (const args of [
      [['kind', 'FEE']],
      [['kind', ['DEPOSIT', 'DEPOSIT']]],
      [['beforeEntryId', '0']],
      [['beforeEntryId', 'x']],
    ] as [string, string | string[]][][]) {
      const r = await fx().call('GetJournal', [['accountId', account], ...args]);
      expect(r.fault?.code, JSON.stringify(args)).to.equal('INVALID_REQUEST');
    }
  });
});

describe('statement filter: GetStatement after a flood of third-party deposits', function () {
  this.timeout(30_000);
  let fixture: BankFixture;
  before(async () => {
    // Not about the rate limit: let bob's 120 deposits through at once.
    fixture = await startBankFixture({ clients: 2, businessEnv: CLIENT_RATE_LIFTED });
  });
  after(async () => {
    await ifAssigned(fixture)?.stop();
  });

  it("the owner's withdrawal stays visible behind 120 deposits of someone else, and paging reaches it too", async () => {
    const url = fixture.business[0]!.url;
    const [alice, bob] = fixture.clients as [(typeof fixture.clients)[0], (typeof fixture.clients)[0]];
    const opened = await callBank(
      url,
      'OpenAccount',
      [['initialDeposit', '50.00']],
      { ...alice, requestId: 'st-open' },
      { timeoutMs: 5000 },
    );
    const account = opened.body?.['accountId'] as string;
    const wd = await callBank(
      url,
      'Withdraw',
      [
        ['accountId', account],
        ['amount', '5.00'],
      ],
      { ...alice, requestId: 'st-wd' },
      { timeoutMs: 5000 },
    );
    expect(wd.fault).to.equal(undefined);
    for (let i = 0; i < 120; i += 5) {
      // 5 at a time: within bob's share of the account's queue (8)
      const deposits = await Promise.all(
        Array.from({ length: 5 }, (_v, j) =>
          callBank(
            url,
            'Deposit',
            [
              ['accountId', account],
              ['amount', '0.01'],
            ],
            { ...bob, requestId: `st-dep-${i + j}` },
            { timeoutMs: 5000 },
          ),
        ),
      );
      expect(deposits.map((d) => d.fault?.code ?? 'OK')).to.deep.equal(['OK', 'OK', 'OK', 'OK', 'OK']);
    }
    const statement = async (args: [string, string | string[]][]): Promise<BankRecord[]> => {
      const r = await callBank(url, 'GetStatement', [['accountId', account], ...args], alice, { timeoutMs: 5000 });
      if (r.body === undefined) throw new Error(JSON.stringify(r.fault));
      return asList(r.body['entry']) as BankRecord[];
    };
    const newest = await statement([['limit', '100']]);
    expect(
      newest.every((e) => e['kind'] === 'DEPOSIT'),
      'the unfiltered page is all deposits',
    ).to.equal(true);
    const own = await statement([
      ['limit', '10'],
      ['kind', ['WITHDRAWAL', 'TRANSFER_OUT']],
    ]);
    expect(own.map((e) => [e['kind'], e['amount']])).to.deep.equal([['WITHDRAWAL', '-5.00']]);
    // XML Schema collapses the whitespace around an EntryKind (bank.wsdl): so does the service.
    const spaced = await statement([['kind', ' WITHDRAWAL ']]);
    expect(spaced.map((e) => e['kind'])).to.deep.equal(['WITHDRAWAL']);
    const next = await statement([
      ['limit', '100'],
      ['beforeEntryId', newest[newest.length - 1]!['entryId'] as string],
    ]);
    expect(next.map((e) => e['kind'])).to.include.members(['WITHDRAWAL', 'OPENING']);
    const bad = await callBank(
      url,
      'GetStatement',
      [
        ['accountId', account],
        ['kind', 'FEE'],
      ],
      alice,
      { timeoutMs: 5000 },
    );
    expect(bad.fault?.code).to.equal('INVALID_REQUEST');

    // The TypeScript client and the CLI say the same.
    const bank = new BankClient({ url, ...alice });
    try {
      const typed = await bank.getStatement(account, 10, { kinds: ['WITHDRAWAL', 'TRANSFER_OUT'] });
      expect(typed.entries.map((e) => e.amount)).to.deep.equal(['-5.00']);
      const page = await bank.getStatement(account, 100, { beforeEntryId: typed.entries[0]!.entryId });
      expect(page.entries.map((e) => e.kind)).to.deep.equal(['OPENING']);
    } finally {
      bank.close();
    }
    const cli = await cliJson([
      '--url',
      url,
      '--client-id',
      alice.clientId,
      '--token',
      alice.authToken,
      'statement',
      account,
      '--kind',
      'WITHDRAWAL',
      'TRANSFER_OUT',
      '--limit',
      '5',
    ]);
    expect((cli['entries'] as { amount: string }[]).map((e) => e.amount)).to.deep.equal(['-5.00']);
  });
});
