import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken, newToken } from '../common/credentials';
import { callBank } from './helpers/bank-call';
import { CLIENT_RATE_LIFTED } from './helpers/cluster';
import { callData } from './helpers/data-call';
import { DIST_DIR, RunningProcess, startProcess } from './helpers/process';
import { LAUNCHER_ON_FREE_PORTS } from './helpers/launched-cluster';

/**
 * `npm run admin` against a running `npm start` cluster (real processes): client add / rotate /
 * remove and business rotate write the hashed files atomically, print a new token once, take
 * effect without a restart, keep demo-credentials.json in step; `npm start` starts after a
 * rotation and explains stale demo credentials in one line.
 */
interface Demo {
  url: string;
  clients: Array<{ clientId: string; authToken: string; accounts: string[] }>;
}

function admin(dataDir: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(DIST_DIR, 'scripts/admin.js'), ...args, '--data-dir', dataDir], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out: ${what}`);
}

describe('npm run admin: credentials as a product (against npm start)', function () {
  this.timeout(120_000);
  let dataDir: string;
  let cluster: RunningProcess | undefined;
  const env = (): Record<string, string> => ({
    BANK_DATA_DIR: dataDir,
    ...LAUNCHER_ON_FREE_PORTS,
    BANK_BUSINESS_COUNT: '2',
    BANK_LOG_LEVEL: 'warn',
    BANK_CREDENTIALS_RELOAD_MS: '100',
    BANK_DATA_CHECK_INTERVAL_MS: '200',
    BANK_LB_HEALTH_INTERVAL_MS: '200',
    ...CLIENT_RATE_LIFTED, // alice's back-to-back GetBalance loop below is not a fair share
  });
  const demo = (): Demo => JSON.parse(readFileSync(join(dataDir, 'demo-credentials.json'), 'utf8')) as Demo;
  const code = async (clientId: string, authToken: string, accountId = '1'): Promise<string> => {
    const r = await callBank(
      cluster!.url,
      'GetBalance',
      [['accountId', accountId]],
      { clientId, authToken },
      { timeoutMs: 10_000 },
    );
    return r.fault?.code ?? 'ok';
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'distbank-admin-'));
    cluster = await startProcess('scripts/cluster.js', env(), 40_000);
  });
  after(async () => {
    await cluster?.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('client add carol: prints her token once (stdout alone), stores only its hash, works without a restart', async () => {
    const r = admin(dataDir, 'client', 'add', 'carol');
    expect(r.code, r.stderr).to.equal(0);
    const token = r.stdout.trim();
    expect(token).to.match(/^[A-Za-z0-9_-]{43}$/);
    const file = join(dataDir, 'client-credentials.json');
    expect(readFileSync(file, 'utf8')).to.not.contain(token);
    expect(readFileSync(file, 'utf8')).to.contain(hashToken(token));
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    await eventually('carol can open an account', async () => {
      const o = await callBank(
        cluster!.url,
        'OpenAccount',
        [['initialDeposit', '1.00']],
        { clientId: 'carol', authToken: token },
        { timeoutMs: 10_000 },
      );
      return o.body !== undefined;
    });
    expect(admin(dataDir, 'client', 'add', 'carol').code).to.equal(2);
  });

  it('client rotate alice: the old token stops working, the new one works, demo-credentials.json has it', async () => {
    const alice = demo().clients.find((c) => c.clientId === 'alice')!;
    const r = admin(dataDir, 'client', 'rotate', 'alice');
    expect(r.code, r.stderr).to.equal(0);
    const token = r.stdout.trim();
    expect(demo().clients.find((c) => c.clientId === 'alice')!.authToken).to.equal(token);
    await eventually(
      'the old token is refused',
      async () => (await code('alice', alice.authToken, alice.accounts[0])) === 'AUTHENTICATION_FAILED',
    );
    expect(await code('alice', token, alice.accounts[0])).to.equal('ok');
  });

  it('client remove bob: his token stops working, he leaves demo-credentials.json', async () => {
    const bob = demo().clients.find((c) => c.clientId === 'bob')!;
    const r = admin(dataDir, 'client', 'remove', 'bob');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/demo client/);
    expect(demo().clients.map((c) => c.clientId)).to.deep.equal(['alice']);
    await eventually(
      'bob is refused',
      async () => (await code('bob', bob.authToken, bob.accounts[0])) === 'AUTHENTICATION_FAILED',
    );
    expect(admin(dataDir, 'client', 'remove', 'bob').code).to.equal(2);
  });

  it('business rotate b2: the data server takes the new token at once, b2 turns degraded, clients are unaffected, the output says what to do', async () => {
    const r = admin(dataDir, 'business', 'rotate', 'b2');
    expect(r.code, r.stderr).to.equal(0);
    const token = r.stdout.trim();
    expect(r.stderr).to.match(/Restart b2 with BANK_BUSINESS_TOKEN/);
    const info = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as {
      dataUrl: string;
      businessUrls: string[];
    };
    // Clients at once, while b2 is being refused: a refused b2 answers 503 and the balancer sends the request to b1.
    const alice = demo().clients.find((c) => c.clientId === 'alice')!;
    const codes: string[] = [];
    for (const until = Date.now() + 2000; Date.now() < until;)
      codes.push(await code('alice', alice.authToken, alice.accounts[0]));
    expect(codes.filter((c) => c !== 'ok')).to.deep.equal([]);
    await eventually(
      'the data server accepts the new token',
      async () =>
        (await callData(info.dataUrl, 'Read', [['accountId', '1']], { businessId: 'b2', authToken: token })).body !==
        undefined,
    );
    await eventually(
      'b2 says degraded',
      async () => (await fetch(new URL('/health', info.businessUrls[1]))).status === 503,
    );
    for (let i = 0; i < 10; i++) expect(await code('alice', alice.authToken, alice.accounts[0])).to.equal('ok');
  });

  it('after the rotations npm start starts again; demo alice keeps her rotated token and account', async () => {
    const before = demo().clients.find((c) => c.clientId === 'alice')!;
    await cluster!.kill('SIGTERM');
    cluster = await startProcess('scripts/cluster.js', { ...env(), BANK_DEMO_CLIENTS: 'alice' }, 40_000);
    const alice = demo().clients.find((c) => c.clientId === 'alice')!;
    expect(alice).to.deep.equal(before);
    expect(await code('alice', alice.authToken, alice.accounts[0])).to.equal('ok');
  });

  it('a demo token rotated by hand: npm start explains the stale demo credentials in one line with the fix, exit 2', async () => {
    await cluster!.kill('SIGTERM');
    cluster = undefined;
    const file = join(dataDir, 'client-credentials.json');
    const principals = (
      JSON.parse(readFileSync(file, 'utf8')) as { principals: Array<{ id: string; tokenSha256: string }> }
    ).principals;
    writeFileSync(
      file,
      JSON.stringify({
        principals: principals.map((p) => (p.id === 'alice' ? { id: 'alice', tokenSha256: hashToken(newToken()) } : p)),
      }),
    );
    const r = spawnSync(process.execPath, [join(DIST_DIR, 'scripts/cluster.js')], {
      env: { PATH: process.env.PATH ?? '', ...env(), BANK_DEMO_CLIENTS: 'alice' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).to.equal(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(/demo-credentials\.json is stale: .*fix: npm run admin -- client rotate alice/);
    // The fix works.
    expect(admin(dataDir, 'client', 'rotate', 'alice').code).to.equal(0);
    cluster = await startProcess('scripts/cluster.js', { ...env(), BANK_DEMO_CLIENTS: 'alice' }, 40_000);
    const alice = demo().clients.find((c) => c.clientId === 'alice')!;
    expect(await code('alice', alice.authToken, alice.accounts[0])).to.equal('ok');
  });

  it('usage errors: one line, exit 2; --help exits 0', () => {
    expect(admin(dataDir, '--help').code).to.equal(0);
    for (const args of [
      ['client', 'rotate', 'nobody'],
      ['client', 'add', 'bad id!'],
      ['client', 'frobnicate', 'x'],
      ['nothing'],
      ['business', 'rotate', 'b9'],
    ]) {
      const r = admin(dataDir, ...args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).to.have.length(1);
      expect(r.stderr).to.not.match(/^\s+at /m);
    }
  });
});
