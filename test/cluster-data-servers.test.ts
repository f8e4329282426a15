import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readClusterFile } from '../scripts/lib/bench-cluster';
import { dropSchema } from '../server/pg-schema-name';
import { healthDetails } from './helpers/admin';
import { callBank } from './helpers/bank-call';
import { testDatabaseUrlOrSkip } from './helpers/data-server';
import { DIST_DIR, startProcess } from './helpers/process';
import { LAUNCHER_ON_FREE_PORTS } from './helpers/launched-cluster';

/**
 * `npm start -- --data-servers N`: N data servers over one PostgreSQL on consecutive ports,
 * listed in cluster.json (and by readClusterFile as data, data2, … for the bench and the chaos
 * tool), shown in the banner, every business server told all of them. SQLite with N > 1 is one
 * line on stderr and exit 2. ~10 s.
 */
interface ClusterFile {
  dataUrl: string;
  dataUrls: string[];
  pids: { data: number; dataServers: number[] };
}

function runToExit(
  env: Record<string, string>,
  args: readonly string[],
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(DIST_DIR, 'scripts/cluster.js'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('cluster launcher with several data servers', function () {
  this.timeout(60_000);
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'distbank-dataservers-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('SQLite with --data-servers 2 is one line on stderr and exit 2', async () => {
    const r = await runToExit(
      {
        BANK_DATA_DIR: dataDir,
        ...LAUNCHER_ON_FREE_PORTS,
      },
      ['--data-servers', '2'],
    );
    expect(r.code, r.stderr).to.equal(2);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(/BANK_DATA_SERVERS=2 needs DATABASE_URL/);
  });

  it('over PostgreSQL: 2 data servers in cluster.json, the banner and readClusterFile; each serves; a business server knows both', async function () {
    const url = testDatabaseUrlOrSkip(this);
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const cluster = await startProcess(
      'scripts/cluster.js',
      {
        BANK_DATA_DIR: dataDir,
        ...LAUNCHER_ON_FREE_PORTS,
        BANK_BUSINESS_COUNT: '2',
        BANK_LOG_LEVEL: 'info',
        DATABASE_URL: url,
        BANK_PG_SCHEMA: schema,
        BANK_DATA_SERVERS: '2',
      },
      40_000,
    );
    try {
      const info = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as ClusterFile;
      expect(info.dataUrls).to.have.length(2);
      expect(info.dataUrl).to.equal(info.dataUrls[0]);
      expect(info.pids.dataServers).to.have.length(2);
      expect(info.pids.data).to.equal(info.pids.dataServers[0]);
      expect(new Set(info.dataUrls).size).to.equal(2);
      expect(new Set(info.pids.dataServers).size, 'two processes').to.equal(2);
      for (const u of info.dataUrls)
        expect(await (await fetch(new URL('/health', u))).json(), u).to.deep.equal({ status: 'ok' });
      const tools = readClusterFile(dataDir)!;
      expect(tools.pids.get('data')).to.equal(info.pids.dataServers[0]);
      expect(tools.pids.get('data2')).to.equal(info.pids.dataServers[1]);
      expect(tools.dataHealthUrls).to.have.length(2);
      for (const u of info.dataUrls) expect(cluster.stderrTail()).to.contain(u);
      // Their log lines reach the launcher's stderr as they are: each names its data server.
      expect(cluster.stderrTail()).to.match(/ data info listening /);
      expect(cluster.stderrTail()).to.match(/ data2 info listening /);
      // Every business server is told every data server.
      const admin = JSON.parse(readFileSync(join(dataDir, 'admin-credentials.json'), 'utf8')) as { adminToken: string };
      for (const b of tools.businessUrls) {
        const details = await healthDetails(b, admin.adminToken);
        expect(JSON.stringify(details), b).to.contain(info.dataUrls[0]!).and.to.contain(info.dataUrls[1]!);
      }
      const demo = JSON.parse(readFileSync(join(dataDir, 'demo-credentials.json'), 'utf8')) as {
        url: string;
        clients: { clientId: string; authToken: string; accounts: string[] }[];
      };
      const alice = demo.clients[0]!;
      const r = await callBank(demo.url, 'GetBalance', [['accountId', alice.accounts[0]!]], alice, {
        timeoutMs: 10_000,
      });
      expect(r.body?.['balance'], r.raw).to.equal('1000.00');
    } finally {
      await cluster.kill('SIGTERM');
      await dropSchema(url, schema);
    }
  });
});
