import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST_DIR } from './helpers/process';
import { LAUNCHER_ON_FREE_PORTS } from './helpers/launched-cluster';

/**
 * Every server (data, business, balancer) and the cluster launcher: `--help` prints the usage
 * on stdout and exits 0; a configuration error (bad flag value, missing file, wrong PostgreSQL
 * password, …) is ONE clean line on stderr and exit code 2 — no stack trace, no secret.
 */
interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(DIST_DIR, script), ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        // Port 0 everywhere, so another cluster on this machine's default ports changes nothing.
        BANK_PORT: '0',
        ...LAUNCHER_ON_FREE_PORTS,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} still running after ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function expectOneCleanLine(r: Run, pattern: RegExp): void {
  expect(r.code, r.stderr).to.equal(2);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(pattern);
  expect(r.stderr).to.not.match(/^\s+at |Error: .*\n\s+at |node:internal/m);
  expect(r.stdout).to.equal('');
}

describe('servers and launcher: --help, and configuration errors as one line with exit 2', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'distbank-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const scripts: Array<[string, string, RegExp]> = [
    ['data server', 'server/main.js', /--credentials/],
    ['business server', 'business/main.js', /--data-url/],
    ['balancer', 'balancer/main.js', /--business-urls/],
    ['cluster launcher', 'scripts/cluster.js', /--data-dir/],
  ];

  for (const [name, script, flag] of scripts) {
    it(`${name}: --help prints the usage and exits 0`, async () => {
      const r = await run(script, ['--help']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^usage: /i);
      expect(r.stdout).to.match(flag);
      expect(r.stdout).to.match(/BANK_[A-Z_]+/);
    });

    it(`${name}: a bad flag value is one line, exit 2`, async () => {
      const flagName = script === 'scripts/cluster.js' ? '--balancer-port' : '--port';
      // The settings each one requires are given, so the port is what is wrong.
      const required = { BANK_BUSINESS_CREDENTIALS_FILE: join(dir, 'c.json'), BANK_BUSINESS_TOKEN: 'x' };
      expectOneCleanLine(await run(script, [flagName, 'abc'], required), /must be an integer, got "abc"/);
      expectOneCleanLine(await run(script, ['--no-such-flag', 'x'], required), /unknown flag --no-such-flag/);
    });
  }

  for (const [name, script] of scripts.slice(0, 3)) {
    it(`${name}: a log file that cannot be written is one line, exit 2`, async () => {
      const required = {
        BANK_BUSINESS_CREDENTIALS_FILE: join(dir, 'c.json'),
        BANK_BUSINESS_TOKEN: 'x',
        BANK_DATA_DIR: dir,
      };
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, 'c.json'), '{"principals":[]}');
      writeFileSync(join(dir, 'client-credentials.json'), '{"principals":[]}');
      expectOneCleanLine(await run(script, ['--log-file', join(dir, 'no-such-dir', 'x.log')], required), /no-such-dir/);
    });
  }

  it('data server: a missing credentials file is one line, exit 2', async () => {
    expectOneCleanLine(
      await run('server/main.js', [], { BANK_DATA_DIR: dir, BANK_BUSINESS_CREDENTIALS_FILE: join(dir, 'nope.json') }),
      /nope\.json/,
    );
    expectOneCleanLine(await run('server/main.js', [], { BANK_DATA_DIR: dir }), /BANK_BUSINESS_CREDENTIALS_FILE/);
  });

  // Node 20's recursive mkdir walks back and forth forever when a parent exists but cannot
  // hold the child (a dangling symlink, a path under /proc): the server hung with no output.
  it('data server and launcher: a data dir that cannot be created is one line, exit 2, not a hang', async () => {
    const { symlinkSync, writeFileSync } = await import('node:fs');
    const dangling = join(dir, 'dangling');
    symlinkSync(join(dir, 'no-such-target'), dangling);
    writeFileSync(join(dir, 'c.json'), '{"principals":[]}');
    const credentials = { BANK_BUSINESS_CREDENTIALS_FILE: join(dir, 'c.json') };
    for (const dataDir of [join(dangling, 'data'), '/proc/distbank-nope']) {
      expectOneCleanLine(
        await run('server/main.js', ['--data-dir', dataDir], credentials, 10_000),
        /cannot create the directory/,
      );
      expectOneCleanLine(
        await run('scripts/cluster.js', ['--data-dir', dataDir], {}, 10_000),
        /cannot create the directory/,
      );
    }
  });

  it('data server: a wrong PostgreSQL password is one line, exit 2, and the password is not shown', async function () {
    const url = process.env.TEST_DATABASE_URL;
    if (url === undefined) {
      if (process.env.CI) throw new Error('TEST_DATABASE_URL is required under CI');
      this.skip();
    }
    const wrong = new URL(url);
    wrong.password = 'not-the-password-7f3a';
    const { writeBusinessCredentials } = await import('./helpers/data-server');
    const creds = writeBusinessCredentials(dir);
    const r = await run('server/main.js', [], {
      BANK_DATA_DIR: dir,
      BANK_BUSINESS_CREDENTIALS_FILE: creds.filePath,
      DATABASE_URL: wrong.toString(),
    });
    expectOneCleanLine(r, /password authentication failed/);
    expect(r.stderr).to.not.contain('not-the-password-7f3a');
  });

  it('business server: a missing token or client credentials file is one line, exit 2', async () => {
    expectOneCleanLine(await run('business/main.js', [], { BANK_DATA_DIR: dir }), /BANK_BUSINESS_TOKEN is required/);
    expectOneCleanLine(
      await run('business/main.js', [], {
        BANK_BUSINESS_TOKEN: 'x',
        BANK_CLIENT_CREDENTIALS_FILE: join(dir, 'missing-clients.json'),
      }),
      /missing-clients\.json/,
    );
  });

  it('balancer: a bad business URL or a missing admin credentials file is one line, exit 2', async () => {
    expectOneCleanLine(await run('balancer/main.js', ['--business-urls', 'ftp://x/bank']), /only http/);
    expectOneCleanLine(
      await run('balancer/main.js', ['--admin-credentials', join(dir, 'no-admin.json')]),
      /no-admin\.json/,
    );
  });

  it('cluster launcher: a bad setting is one line, exit 2, and nothing is written', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'distbank-cli-launcher-'));
    try {
      expectOneCleanLine(
        await run('scripts/cluster.js', ['--business-count', '0', '--data-dir', empty]),
        /BANK_BUSINESS_COUNT/,
      );
      const { readdirSync } = await import('node:fs');
      expect(readdirSync(empty)).to.deep.equal([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
