import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStatement, wholeStatement } from '../scripts/chaos/bank-calls';
import { BankWire } from '../scripts/lib/bank-wire';
import { startCluster, TestCluster } from './helpers/cluster';
import { ifAssigned } from './helpers/if-assigned';
import { Anomaly, check } from '../scripts/chaos/checker';
import { History, OpRecord, readHistory } from '../scripts/chaos/history';
import { Ledger, LedgerAccount, LedgerEntry } from '../scripts/chaos/ledger';
import { PG_BIN_DIR, throwawayPgAvailable, ThrowawayPg } from './helpers/pg-throwaway';
import { DIST_DIR } from './helpers/process';

/**
 * `npm run chaos` as a user runs it: a short seeded run over SQLite with two nemeses (a business
 * server killed, the data server paused) must end VALID with a report; then the checker is
 * validated on copies of that real run's history and ledger with planted anomalies — it must
 * report exactly the planted ones.
 */
interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runChaosCli(args: readonly string[], timeoutMs: number): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(DIST_DIR, 'scripts', 'chaos.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Recomputes balanceAfter along the entries and the balance, after an edit (the plant stays consistent). */
function rechain(account: LedgerAccount, entries: LedgerEntry[]): LedgerAccount {
  let running = 0;
  const chained = entries.map((e) => {
    running += e.amountCents;
    return { ...e, balanceAfterCents: running };
  });
  return { ...account, entries: chained, balanceCents: running };
}

function withAccount(ledger: Ledger, accountId: string, edit: (a: LedgerAccount) => LedgerAccount): Ledger {
  return { accounts: ledger.accounts.map((a) => (a.accountId === accountId ? edit(a) : a)) };
}

/** An acknowledged transfer whose legs can be edited without any balance dipping below zero. */
function safeTransfer(history: History, ledger: Ledger): OpRecord {
  const minAfter = (accountId: string, txid: string): number => {
    const a = ledger.accounts.find((x) => x.accountId === accountId)!;
    const i = a.entries.findIndex((e) => e.transactionId === txid);
    return Math.min(...a.entries.slice(i).map((e) => e.balanceAfterCents));
  };
  const op = history.ops.find(
    (o) =>
      o.op === 'transfer' &&
      o.outcome.kind === 'ok' &&
      minAfter(o.from!, o.transactionId) >= o.amountCents &&
      minAfter(o.to!, o.transactionId) >= o.amountCents,
  );
  if (op === undefined) throw new Error('no transfer in the run can be planted on');
  return op;
}

function kinds(anomalies: readonly Anomaly[]): string[] {
  return anomalies.map((a) => `${a.kind}:${a.accountId ?? a.transactionId ?? ''}`).sort();
}

describe('npm run chaos (short run over SQLite, two nemeses) and its checker', function () {
  this.timeout(120_000);
  const reportDir = mkdtempSync(join(tmpdir(), 'distbank-chaos-test-'));
  let run: CliRun;
  let history: History;
  let ledger: Ledger;

  before(async () => {
    run = await runChaosCli(
      [
        '--seconds',
        '14',
        '--clients',
        '16',
        '--accounts',
        '24',
        '--seed',
        '42',
        '--nemesis',
        'kill-business,pause-data',
        '--every',
        '3s',
        '--pause',
        '1500ms',
        '--report',
        reportDir,
      ],
      100_000,
    );
    if (existsSync(join(reportDir, 'history.jsonl'))) {
      history = readHistory(join(reportDir, 'history.jsonl'));
      ledger = JSON.parse(readFileSync(join(reportDir, 'ledger.json'), 'utf8')) as Ledger;
    }
  });
  after(() => rmSync(reportDir, { recursive: true, force: true }));

  it('ends VALID with exit code 0, both nemeses struck, and money moved meanwhile', () => {
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.match(/verdict: VALID/);
    const names = history.nemeses.map((n) => n.name).sort();
    expect(names).to.include.members(['kill-business', 'pause-data']);
    for (const n of history.nemeses) expect(n.error, `${n.name}: ${String(n.error)}`).to.equal(undefined);
    const ok = history.ops.filter((o) => o.outcome.kind === 'ok').length;
    expect(ok).to.be.greaterThan(100);
  });

  it('writes the history, the ledger, the verdict and an HTML timeline with the nemesis windows', () => {
    const verdict = JSON.parse(readFileSync(join(reportDir, 'verdict.json'), 'utf8')) as {
      valid: boolean;
      availability: unknown[];
    };
    expect(verdict.valid).to.equal(true);
    expect(verdict.availability).to.have.length(history.nemeses.length);
    const html = readFileSync(join(reportDir, 'report.html'), 'utf8');
    expect(html).to.match(/<svg/);
    expect(html).to.contain('kill-business').and.contain('pause-data');
  });

  it('the checker finds nothing in the untouched copy', () => {
    expect(check(history, ledger).anomalies).to.deep.equal([]);
  });

  it('reports a phantom acknowledgement (acknowledged, not in the journal) and nothing else', () => {
    const model = history.ops.find((o) => o.outcome.kind === 'ok')!;
    const phantom: OpRecord = {
      ...model,
      requestId: 'planted-1',
      transactionId: 'tplanted00000000000000000000000001',
      outcome: { kind: 'ok', transactionId: 'tplanted00000000000000000000000001' },
    };
    const verdict = check({ ...history, ops: [...history.ops, phantom] }, ledger);
    expect(kinds(verdict.anomalies)).to.deep.equal(['lost-acknowledgement:tplanted00000000000000000000000001']);
  });

  it('reports a transfer applied twice on both accounts, and nothing else', () => {
    const op = safeTransfer(history, ledger);
    let planted = ledger;
    for (const accountId of [op.from!, op.to!]) {
      planted = withAccount(planted, accountId, (a) => {
        const i = a.entries.findIndex((e) => e.transactionId === op.transactionId);
        return rechain(a, [...a.entries.slice(0, i + 1), a.entries[i]!, ...a.entries.slice(i + 1)]);
      });
    }
    const verdict = check(history, planted);
    expect(kinds(verdict.anomalies)).to.deep.equal([`duplicate:${op.from!}`, `duplicate:${op.to!}`].sort());
    expect(verdict.counts.doubleApplies).to.equal(1);
  });

  it('reports a dropped transfer leg (money lost) exactly', () => {
    const op = safeTransfer(history, ledger);
    const planted = withAccount(ledger, op.to!, (a) =>
      rechain(
        a,
        a.entries.filter((e) => e.transactionId !== op.transactionId),
      ),
    );
    const verdict = check(history, planted);
    expect(kinds(verdict.anomalies)).to.deep.equal(
      ['half-transfer:' + op.transactionId, 'money-not-conserved:'].sort(),
    );
    expect(verdict.moneyDeltaCents).to.equal(-op.amountCents);
  });

  it('reports a cent created without an entry exactly', () => {
    const victim = ledger.accounts[3]!;
    const planted = withAccount(ledger, victim.accountId, (a) => ({ ...a, balanceCents: a.balanceCents + 1 }));
    const verdict = check(history, planted);
    expect(kinds(verdict.anomalies)).to.deep.equal(
      [`money-not-conserved:`, `statement-chain:${victim.accountId}`].sort(),
    );
    expect(verdict.moneyDeltaCents).to.equal(1);
  });

  it('refuses bad options with exit code 2 and one line', async () => {
    const bad = await runChaosCli(['--nemesis', 'kill-everything'], 20_000);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/^chaos: unknown nemesis "kill-everything"/);
  });
});

describe('npm run chaos over PostgreSQL, with PostgreSQL restarted and the data server killed', function () {
  this.timeout(180_000);
  let pg: ThrowawayPg | undefined;

  before(async function () {
    if (!throwawayPgAvailable()) {
      if (process.env.CI) throw new Error(`PostgreSQL 15 binaries are missing in ${PG_BIN_DIR} under CI`);
      this.skip();
    }
    pg = await ThrowawayPg.create();
  });
  after(() => pg?.destroy());

  it('ends VALID: nothing lost or doubled across a PostgreSQL restart', async () => {
    const run = await runChaosCli(
      [
        '--seconds',
        '14',
        '--clients',
        '16',
        '--accounts',
        '24',
        '--seed',
        '5',
        '--database-url',
        pg!.url,
        '--nemesis',
        'restart-pg,kill-data',
        '--every',
        '3s',
        '--pause',
        '2s',
        '--pg-stop-cmd',
        pg!.shellCommand('stop'),
        '--pg-start-cmd',
        pg!.shellCommand('start'),
      ],
      150_000,
    );
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.match(/nemesis restart-pg postgres at/);
    expect(run.stdout).to.match(/nemesis kill-data data at/);
    expect(run.stdout).to.not.match(/ERROR/);
    expect(run.stdout).to.match(/verdict: VALID/);
  });
});

describe('chaos: reading a statement', () => {
  it('reads an account emptied to 0.00 (a balance may be zero, a posting never)', () => {
    const raw =
      '<GetStatementResponse><accountId>7</accountId><balance>0.00</balance>' +
      '<entry><transactionId>t2</transactionId><kind>WITHDRAWAL</kind><amount>-1.50</amount><balanceAfter>0.00</balanceAfter><at>x</at></entry>' +
      '<entry><transactionId>t1</transactionId><kind>OPENING</kind><amount>1.50</amount><balanceAfter>1.50</balanceAfter><at>x</at></entry>' +
      '</GetStatementResponse>';
    const s = parseStatement(raw, '7');
    expect(s.balanceCents).to.equal(0);
    expect(s.entries.map((e) => [e.kind, e.amountCents, e.balanceAfterCents])).to.deep.equal([
      ['WITHDRAWAL', -150, 0],
      ['OPENING', 150, 150],
    ]);
  });
});

describe('chaos: reading a statement longer than one page (a fast run passes 1,000 entries)', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let wire: BankWire;
  const ids: string[] = [];
  before(async () => {
    cluster = await startCluster({ businessCount: 1 });
    wire = new BankWire(cluster.balancerUrl, { socketsMax: 2, timeoutMs: 10_000 });
    const alice = cluster.client('alice');
    for (let i = 0; i < 2; i++) {
      const raw = await wire.ok('OpenAccount', [['initialDeposit', '10.00']], alice);
      ids.push(String(/<(?:\w+:)?accountId>(\d+)</.exec(raw)?.[1]));
    }
    // 7 transfers: the first account has 8 entries (its opening and 7 debits).
    for (let i = 0; i < 7; i++)
      await wire.ok(
        'Transfer',
        [
          ['fromAccountId', ids[0]!],
          ['toAccountId', ids[1]!],
          ['amount', '0.25'],
        ],
        alice,
      );
  });
  after(async () => {
    ifAssigned(wire)?.close();
    await ifAssigned(cluster)?.stop();
  });

  it('pages through it: every entry once, newest first, the same as one long page', async () => {
    const alice = cluster.client('alice');
    const paged = await wholeStatement(wire, alice, ids[0]!, 3, 1000);
    const single = await wholeStatement(wire, alice, ids[0]!, 1000, 1000);
    expect(paged.complete).to.equal(true);
    expect(paged.balanceCents).to.equal(825);
    expect(paged.entries.map((e) => e.kind)).to.deep.equal([...Array<string>(7).fill('TRANSFER_OUT'), 'OPENING']);
    expect(paged.entries).to.deep.equal(single.entries);
    expect(new Set(paged.entries.map((e) => e.transactionId)).size).to.equal(8);
    // A page size that divides the statement exactly ends on an empty page, not on a missing one.
    expect((await wholeStatement(wire, alice, ids[0]!, 4, 1000)).entries).to.deep.equal(single.entries);
  });

  it('says incomplete, with the newest entries, when the statement is longer than the bound', async () => {
    const s = await wholeStatement(wire, cluster.client('alice'), ids[0]!, 3, 5);
    expect(s.complete).to.equal(false);
    expect(s.entries.length).to.be.at.least(5);
    expect(s.entries.map((e) => e.kind).slice(0, 5)).to.deep.equal(Array<string>(5).fill('TRANSFER_OUT'));
  });
});
