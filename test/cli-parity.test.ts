/**
 * The two command lines — the TypeScript `bank` (client-ts/cli.ts) and the Python
 * `python3 -m distbank` (client-py/distbank/cli.py) — driven through the same scripted answers
 * (test/helpers/scripted-bank.ts), each as a child process: the same defaults, the same retry
 * policy, the same validation of amounts before sending, the same hints and wording. Needs
 * Debian's /usr/bin/python3 with python3-zeep (skipped without it, a failure under CI).
 */
import { expect } from 'chai';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RETRY_POLICY } from '../client-ts/bank-client';
import { URL_DEFAULT } from '../client-ts/cli-config';
import { DIST_DIR, REPO_DIR } from './helpers/process';
import {
  dropConnection,
  faultResponse,
  okResponse,
  requestIdOf,
  Responder,
  ScriptedServer,
} from './helpers/scripted-bank';

const PYTHON = '/usr/bin/python3';
const RUN_TIMEOUT_MS = 60_000;
const CLIS = ['ts', 'py'] as const;
type Cli = (typeof CLIS)[number];

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(cli: Cli, args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<CliRun> {
  const [command, prefix] =
    cli === 'ts' ? [process.execPath, [join(DIST_DIR, 'client-ts', 'cli.js')]] : [PYTHON, ['-m', 'distbank']];
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...prefix, ...args],
      {
        cwd,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/tmp',
          PYTHONPATH: join(REPO_DIR, 'client-py'),
          PYTHONDONTWRITEBYTECODE: '1',
          ...env,
        },
        timeout: RUN_TIMEOUT_MS,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : undefined;
        if (code === undefined) reject(new Error(`${cli} ${args.join(' ')}: ${error?.message ?? ''}\n${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

function jsonError(run: CliRun): Record<string, unknown> {
  return (JSON.parse(run.stdout.trim()) as { error: Record<string, unknown> }).error;
}

/** A URL where nothing listens: a port just taken and given back. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/bank`;
}

const balanceOk = okResponse('GetBalanceResponse', { accountId: '1', balance: '5.00' });
const depositOk = okResponse('DepositResponse', { transactionId: 't1', accountId: '1', balance: '15.50' });
const openOk = okResponse('OpenAccountResponse', { accountId: '7', balance: '0.00' });

describe('cli parity: the TypeScript and the Python command lines agree', function () {
  this.timeout(180_000);
  const server = new ScriptedServer();
  let url = '';
  let cwd = '';
  const creds = (): string[] => ['--url', url, '--client-id', 'alice', '--token', 't0k'];

  /** Each CLI in turn against the same script; the runs and what the server saw. */
  async function both(
    args: readonly string[],
    ...script: Responder[]
  ): Promise<Record<Cli, CliRun & { sent: number }>> {
    const out: Partial<Record<Cli, CliRun & { sent: number }>> = {};
    for (const cli of CLIS) {
      server.script(...(script.length === 0 ? [dropConnection] : script));
      const run = await runCli(cli, args, cwd);
      out[cli] = { ...run, sent: server.seen.length };
    }
    return out as Record<Cli, CliRun & { sent: number }>;
  }

  before(async function () {
    const probe = spawnSync(PYTHON, ['-c', 'import zeep'], { timeout: 30_000, stdio: 'ignore' });
    if (probe.status !== 0) {
      if (process.env.CI) throw new Error(`${PYTHON} cannot import zeep (apt-get install python3-zeep)`);
      this.skip();
    }
    url = await server.start();
    cwd = mkdtempSync(join(tmpdir(), 'distbank-cli-parity-'));
  });

  after(async () => {
    await server.stop();
    if (cwd !== '') rmSync(cwd, { recursive: true, force: true });
  });

  it('declare the same URL default and the same retry policy (as data)', () => {
    const py = spawnSync(
      PYTHON,
      [
        '-c',
        'import json; from distbank import config as c; p = c.RETRY_POLICY; print(json.dumps({"url": c.URL_DEFAULT, ' +
          '"retries": p.retries, "firstPauseMs": round(p.first_pause_s * 1000), "pauseMaxMs": round(p.pause_max_s * 1000), "jitter": p.jitter}))',
      ],
      { env: { PATH: '/usr/bin:/bin', PYTHONPATH: join(REPO_DIR, 'client-py') }, encoding: 'utf8', timeout: 30_000 },
    );
    expect(py.status, py.stderr).to.equal(0);
    expect(JSON.parse(py.stdout)).to.deep.equal({ url: URL_DEFAULT, ...RETRY_POLICY });
  });

  it('retry the same way: 1 + RETRY_POLICY.retries attempts, all under one request-id, then exit 7', async () => {
    const runs = await both([...creds(), '--json', 'balance', '1'], dropConnection);
    for (const cli of CLIS) {
      const run = runs[cli];
      expect(run.code, `${cli}: ${run.stdout}${run.stderr}`).to.equal(7);
      expect(jsonError(run)['code'], cli).to.equal('CONNECTION_FAILED');
      expect(run.sent, `${cli}: attempts`).to.equal(1 + RETRY_POLICY.retries);
    }
    for (const cli of CLIS) {
      server.script(dropConnection);
      await runCli(cli, [...creds(), 'deposit', '1', '1.00', '--request-id', 'same-1'], cwd);
      const ids = server.seen.map((s) => requestIdOf(s.body));
      expect(ids, cli).to.deep.equal(Array<string>(1 + RETRY_POLICY.retries).fill('same-1'));
    }
  });

  it('with nothing listening: suggest npm start; the request-id only for a command that moves money', async () => {
    const dead = await deadUrl();
    const auth = ['--url', dead, '--client-id', 'alice', '--token', 't0k', '--retries', '0'];
    for (const cli of CLIS) {
      const read = await runCli(cli, [...auth, 'balance', '1'], cwd);
      const move = await runCli(cli, [...auth, 'deposit', '1', '1.00', '--request-id', 'd-1'], cwd);
      for (const run of [read, move]) {
        expect(run.code, `${cli}: ${run.stderr}`).to.equal(7);
        expect(run.stderr, cli).to.contain('hint: is the bank running? Start it with npm start');
      }
      expect(read.stderr, `${cli} balance`).to.not.match(/request.?id/i);
      expect(move.stderr, `${cli} deposit`).to.contain('hint: it is safe to try again with --request-id d-1');
    }
  });

  it('after a retryable fault: the request-id hint for withdraw, none for balance', async () => {
    const locked = faultResponse('ACCOUNT_LOCKED', 'account 1 is busy', '1');
    const move = await both([...creds(), '--retries', '0', 'withdraw', '1', '5.00', '--request-id', 'w-1'], locked);
    const read = await both([...creds(), '--retries', '0', 'balance', '1'], locked);
    for (const cli of CLIS) {
      expect(move[cli].code, cli).to.equal(7);
      expect(move[cli].stderr, cli).to.contain('hint: it is safe to try again with --request-id w-1');
      expect(read[cli].code, cli).to.equal(7);
      expect(read[cli].stderr, cli).to.not.match(/request.?id/i);
      expect(read[cli].stderr, cli).to.not.contain('npm start');
    }
  });

  it('name the account once: in the message if it says it, else after it', async () => {
    const named = await both(
      [...creds(), 'deposit', '999', '1.00'],
      faultResponse('ACCOUNT_NOT_FOUND', 'account 999 does not exist', '999'),
    );
    const unnamed = await both(
      [...creds(), 'withdraw', '1001', '1.00'],
      faultResponse('NOT_AUTHORIZED', 'says the server', '1001'),
    );
    for (const cli of CLIS) {
      expect(named[cli].code, cli).to.equal(4);
      expect(named[cli].stderr.split('\n')[0], cli).to.equal('error: ACCOUNT_NOT_FOUND: account 999 does not exist');
      expect(unnamed[cli].stderr.split('\n')[0], cli).to.equal('error: NOT_AUTHORIZED: says the server (account 1001)');
    }
  });

  it('refuse the same amounts before sending (INVALID_AMOUNT, exit 6) and send the same others', async () => {
    const refused = [
      ['deposit', '1', '--', '0'],
      ['deposit', '1', '--', '-1'],
      ['withdraw', '1', '--', '-0.50'],
      ['transfer', '1', '2', '--', '0.00'],
      ['deposit', '1', '+5'],
      ['deposit', '1', '.5'],
      ['deposit', '1', '5.'],
      ['deposit', '1', '1e3'],
      ['deposit', '1', 'ten'],
      ['open', '--initial', '-1'],
    ];
    for (const args of refused) {
      const runs = await both([...creds(), '--json', ...args], depositOk);
      for (const cli of CLIS) {
        const what = `${cli} ${args.join(' ')}: ${runs[cli].stdout}${runs[cli].stderr}`;
        expect(runs[cli].code, what).to.equal(6);
        expect(jsonError(runs[cli])['code'], what).to.equal('INVALID_AMOUNT');
        expect(runs[cli].sent, what).to.equal(0);
      }
    }
    // And in the same words.
    for (const args of [
      ['deposit', '1', '--', '-1'],
      ['deposit', '1', '+5'],
      ['open', '--initial', '-1'],
    ]) {
      const runs = await both([...creds(), ...args], depositOk);
      expect(runs.ts.stderr, args.join(' '))
        .to.equal(runs.py.stderr)
        .and.to.match(/^error: INVALID_AMOUNT: amount /);
    }
    // Precision and the maximum are the server's rule; an opening deposit may be 0.
    for (const [args, answer] of [
      [['deposit', '1', '0.010'], depositOk],
      [['deposit', '1', '0.001'], depositOk],
      [['open', '--initial', '0'], openOk],
    ] as const) {
      const runs = await both([...creds(), '--json', ...args], answer);
      for (const cli of CLIS) {
        expect(runs[cli].code, `${cli} ${args.join(' ')}: ${runs[cli].stderr}`).to.equal(0);
        expect(runs[cli].sent, `${cli} ${args.join(' ')}`).to.equal(1);
      }
    }
  });

  it('echo an amount in two-decimal form, as balances are shown', async () => {
    const runs = await both([...creds(), 'deposit', '1', '10.5'], depositOk);
    for (const cli of CLIS) {
      expect(runs[cli].code, runs[cli].stderr).to.equal(0);
      expect(runs[cli].stdout, cli).to.match(/^deposited 10\.50 into account 1\b/i);
    }
  });

  it('take --as from ./var/demo-credentials.json without --credentials, and its url', async () => {
    mkdirSync(join(cwd, 'var'), { recursive: true });
    const file = join(cwd, 'var', 'demo-credentials.json');
    writeFileSync(
      file,
      JSON.stringify({
        url,
        clients: [
          { clientId: 'alice', authToken: 'ta', accounts: ['1'] },
          { clientId: 'bob', authToken: 'tb', accounts: ['2'] },
        ],
      }),
    );
    try {
      for (const cli of CLIS) {
        server.script(balanceOk);
        const run = await runCli(cli, ['--as', 'bob', 'balance', '2'], cwd);
        expect(run.code, `${cli}: ${run.stderr}`).to.equal(0);
        expect(server.seen[0]?.body, cli).to.contain('>bob</').and.to.contain('>tb</');
      }
    } finally {
      rmSync(join(cwd, 'var'), { recursive: true, force: true });
    }
  });
});
