/**
 * The `bank` CLI end to end: `node dist/client-ts/cli.js …` as a child process against a real
 * cluster (port 0), checking output, --json and the exit code table.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCents, parseBalance } from '../common/money';
import { launchCluster, LaunchedCluster } from './helpers/launched-cluster';
import { DIST_DIR, REPO_DIR } from './helpers/process';

const CLI = join(DIST_DIR, 'client-ts', 'cli.js');
const CLI_TIMEOUT_MS = 30_000;

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[], env: Record<string, string> = {}, cwd = tmpdir()): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        cwd,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        timeout: CLI_TIMEOUT_MS,
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : undefined;
        if (code === undefined)
          reject(new Error(`bank ${args.join(' ')} did not exit normally: ${error?.message ?? ''}\n${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

function json(run: CliRun): Record<string, unknown> {
  const lines = run.stdout.trim().split('\n');
  expect(lines, `one JSON line on stdout: ${run.stdout}`).to.have.length(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

type DemoClient = LaunchedCluster['clients'][number];

describe('cli: bank', function () {
  this.timeout(120_000);
  let emptyDir = '';
  let credentials = '';
  let cluster: LaunchedCluster | undefined;
  let alice: DemoClient;
  let bob: DemoClient;
  let aliceAccount = '';
  let bobAccount = '';
  const asAlice = (...args: string[]) => runCli(['--credentials', credentials, '--as', alice.clientId, ...args]);
  const asBob = (...args: string[]) => runCli(['--credentials', credentials, '--as', bob.clientId, ...args]);

  before(async () => {
    emptyDir = mkdtempSync(join(tmpdir(), 'distbank-cli-empty-'));
    cluster = await launchCluster();
    credentials = join(cluster.dir, 'demo-credentials.json');
    [alice, bob] = [cluster.clients[0]!, cluster.clients[1]!];
    const opened = json(await asAlice('--json', 'open', '--initial', '100.00'));
    aliceAccount = String(opened['accountId']);
    bobAccount = String(json(await asBob('--json', 'open'))['accountId']);
  });

  after(async () => {
    await cluster?.stop();
    if (emptyDir !== '') rmSync(emptyDir, { recursive: true, force: true });
  });

  it('--help lists the commands and the exit codes (exit 0); no command is a usage error (2)', async () => {
    const help = await runCli(['--help'], {}, emptyDir);
    expect(help.code).to.equal(0);
    for (const text of [
      'open',
      'balance <account>',
      'deposit <account> <amount>',
      'withdraw <account> <amount>',
      'transfer <from> <to> <amount>',
      'statement',
      'Exit codes',
      '--json',
      '--request-id',
    ]) {
      expect(help.stdout).to.contain(text);
    }
    expect((await runCli([], {}, emptyDir)).code).to.equal(2);
    expect((await runCli(['deposit', '1'], {}, emptyDir)).code).to.equal(2);
    expect((await runCli(['frobnicate'], {}, emptyDir)).code).to.equal(2);
  });

  it("is the package's `bank` bin: an executable node script", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_DIR, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    expect(pkg.bin?.['bank']).to.equal('dist/client-ts/cli.js');
    expect(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).to.equal(true);
    // npm's postbuild sets the bit (tsc does not); `npx bank` needs it.
    expect(statSync(CLI).mode & 0o111, 'dist/client-ts/cli.js is executable (npm run build)').to.not.equal(0);
  });

  it('without credentials it says how to get them (exit 2)', async () => {
    const run = await runCli(['balance', '1'], {}, emptyDir);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.contain('--credentials');
  });

  it("the seed's story: transfer 10.00 to another client's account, then see the new balance", async () => {
    const before = json(await asAlice('--json', 'balance', aliceAccount));
    const transfer = await asAlice('--json', 'transfer', aliceAccount, bobAccount, '10.00');
    expect(transfer.code, transfer.stderr).to.equal(0);
    const result = json(transfer);
    const expected = formatCents(parseBalance(String(before['balance'])) - 1000);
    expect(result).to.include({ fromAccountId: aliceAccount, balance: expected });
    expect(result['transactionId']).to.be.a('string');
    const text = await asAlice('balance', aliceAccount);
    expect(text.code).to.equal(0);
    expect(text.stdout.trim()).to.equal(`account ${aliceAccount}: balance ${expected}`);
    const statement = await asAlice('statement', aliceAccount, '--limit', '3');
    expect(statement.code).to.equal(0);
    expect(statement.stdout).to.match(
      new RegExp(`TRANSFER_OUT\\s+-10\\.00\\s+${expected.replace('.', '\\.')}\\s+${bobAccount}`),
    );
  });

  it('reads the environment (BANK_URL, BANK_CLIENT_ID, BANK_AUTH_TOKEN) and finds ./var/demo-credentials.json', async () => {
    const env = { BANK_URL: cluster!.bankUrl, BANK_CLIENT_ID: bob.clientId, BANK_AUTH_TOKEN: bob.authToken };
    const viaEnv = await runCli(['--json', 'balance', bobAccount], env, emptyDir);
    expect(viaEnv.code, viaEnv.stderr).to.equal(0);
    expect(json(viaEnv)['accountId']).to.equal(bobAccount);
    const viaDataDir = await runCli(['--json', 'balance', aliceAccount], { BANK_DATA_DIR: cluster!.dir }, emptyDir);
    expect(viaDataDir.code, viaDataDir.stderr).to.equal(0);
  });

  it('exit codes tell the faults apart', async () => {
    const cases: [string, Promise<CliRun>, number, string][] = [
      ['insufficient funds', asAlice('--json', 'withdraw', aliceAccount, '1000000.00'), 5, 'INSUFFICIENT_FUNDS'],
      ['foreign account', asAlice('--json', 'withdraw', bobAccount, '1.00'), 4, 'NOT_AUTHORIZED'],
      ['foreign balance', asAlice('--json', 'balance', bobAccount), 4, 'NOT_AUTHORIZED'],
      ['unknown account', asAlice('--json', 'deposit', '999999999', '1.00'), 4, 'ACCOUNT_NOT_FOUND'],
      [
        'bad token',
        runCli(
          [
            '--json',
            '--url',
            cluster!.bankUrl,
            '--client-id',
            alice.clientId,
            '--token',
            'wrong',
            'balance',
            aliceAccount,
          ],
          {},
          emptyDir,
        ),
        3,
        'AUTHENTICATION_FAILED',
      ],
      ['amount 0', asAlice('--json', 'deposit', aliceAccount, '0'), 6, 'INVALID_AMOUNT'],
      ['amount -1', asAlice('--json', 'deposit', aliceAccount, '--', '-1'), 6, 'INVALID_AMOUNT'],
      ['amount 0.001', asAlice('--json', 'transfer', aliceAccount, bobAccount, '0.001'), 6, 'INVALID_AMOUNT'],
      ['amount 1e3 (not a decimal)', asAlice('--json', 'deposit', aliceAccount, '1e3'), 6, 'INVALID_AMOUNT'],
      ['same account', asAlice('--json', 'transfer', aliceAccount, aliceAccount, '1.00'), 6, 'SAME_ACCOUNT'],
      [
        'nothing listening',
        runCli(
          [
            '--json',
            '--url',
            'http://127.0.0.1:1/bank',
            '--client-id',
            'a',
            '--token',
            't',
            '--retries',
            '0',
            'balance',
            '1',
          ],
          {},
          emptyDir,
        ),
        7,
        'CONNECTION_FAILED',
      ],
    ];
    for (const [name, promise, code, faultCode] of cases) {
      const run = await promise;
      expect(run.code, `${name}: ${run.stdout}${run.stderr}`).to.equal(code);
      expect((json(run)['error'] as Record<string, unknown>)['code'], name).to.equal(faultCode);
    }
  });

  it('human errors go to stderr with the code; a negative amount without -- gets a hint', async () => {
    const run = await asAlice('withdraw', aliceAccount, '1000000.00');
    expect(run.code).to.equal(5);
    expect(run.stdout).to.equal('');
    expect(run.stderr).to.contain('INSUFFICIENT_FUNDS');
    const negative = await asAlice('deposit', aliceAccount, '-1');
    expect(negative.code).to.equal(2);
    expect(negative.stderr).to.contain('--');
  });

  it('an amount that is not > 0 is INVALID_AMOUNT (exit 6) before any request, as in the Python CLI', async () => {
    // Nothing listens on port 1: a request would end in exit 7 (no connection).
    const env = { BANK_URL: 'http://127.0.0.1:1/bank', BANK_CLIENT_ID: 'x', BANK_AUTH_TOKEN: 'y' };
    for (const args of [
      ['transfer', '1', '2', '--', '-1'],
      ['deposit', '1', '--', '0.00'],
      ['withdraw', '1', '--', '-0.5'],
    ]) {
      const run = await runCli(['--retries', '0', ...args], env);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).to.equal(6);
      expect(run.stderr).to.contain('must be more than 0');
    }
  });

  it('echoes amounts in the two-decimal form balances are shown in', async () => {
    const run = await asAlice('deposit', aliceAccount, '10.5');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^deposited 10\.50 into account /);
  });

  it('--request-id makes a repeated command move money once; new content under it is refused', async () => {
    const before = json(await asAlice('--json', 'balance', aliceAccount));
    const key = `cli-once-${Date.now()}`;
    const first = json(await asAlice('--json', '--request-id', key, 'withdraw', aliceAccount, '1.00'));
    const second = json(await asAlice('--json', '--request-id', key, 'withdraw', aliceAccount, '1.00'));
    expect(second['transactionId']).to.equal(first['transactionId']);
    expect(second['requestId']).to.equal(key);
    const after = json(await asAlice('--json', 'balance', aliceAccount));
    expect(after['balance']).to.equal(formatCents(parseBalance(String(before['balance'])) - 100));
    const conflict = await asAlice('--json', '--request-id', key, 'withdraw', aliceAccount, '2.00');
    expect(conflict.code).to.equal(1);
    expect((json(conflict)['error'] as Record<string, unknown>)['code']).to.equal('REQUEST_ID_CONFLICT');
  });

  it("deposit into another client's account succeeds without showing its balance", async () => {
    const run = await asAlice('deposit', bobAccount, '0.50');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain('balance not shown');
    const asJson = json(await asAlice('--json', 'deposit', bobAccount, '0.50'));
    expect(asJson).to.not.have.property('balance');
  });
});
