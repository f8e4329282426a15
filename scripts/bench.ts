import { rmSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { formatCents } from '../common/money';
import { BankWire, Caller, leafText } from './lib/bank-wire';
import { loadBenchConfig, BenchConfig } from './lib/bench-config';
import { BenchCluster, readClusterFile, startBenchCluster } from './lib/bench-cluster';
import { DemoCredentials } from './lib/cluster-credentials';
import { LatencySamples } from './lib/latency';
import { benchObservability, BenchSummary, SUMMARY_PREFIX } from './lib/bench-observability';
import { measurePgbenchTps, PGBENCH_ARGS, pgbenchAvailable } from './lib/bench-pgbench';
import { cpuSecondsOf, cpuSecondsOfCommand, machineBusySeconds } from './lib/proc-cpu';
import { dataServed, describeDataServed } from './lib/data-requests';
// The chaos tool's statement reader: the same page-by-page read of a statement through the service.
import { wholeStatement } from './chaos/bank-calls';
import { defined, itemAt } from '../common/defined';

/**
 * `npm run bench [-- --hot] [--clients 32] [--seconds 20] [--accounts 1000]`: random transfers
 * through the balancer of a freshly started cluster (or --url with --credentials), then the
 * numbers: transfers/s, latency percentiles, fault counts, CPU per process, and the money
 * invariant (sum of balances unchanged; each statement adds up; every acknowledged transfer in
 * the journal exactly once). A benchmark, not a test: it reports, it does not assert.
 */
const OPENING_CENTS = 100_000; // 1000.00 per account
const OPEN_CONCURRENCY = 16;
/** GetStatement's largest page (bank.wsdl StatementLimit); statements are read whole, page by page. */
const STATEMENT_PAGE_LIMIT = 1000;
/** Entries read per account at most: past it the account's statement is not checked (said so). */
const STATEMENT_ENTRIES_MAX = 1_000_000;
const AMOUNT_CENTS_MAX = 1000; // 10.00
const HEALTH_TIMEOUT_MS = 2000;

interface Account {
  readonly id: string;
  readonly owner: Caller;
}

function out(line = ''): void {
  process.stdout.write(line + '\n');
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores, ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`;
}

async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(itemAt(items, i), i);
      }
    }),
  );
}

async function openAccounts(
  wire: BankWire,
  owners: readonly Caller[],
  count: number,
  runId: string,
): Promise<Account[]> {
  const accounts: Account[] = new Array<Account>(count);
  await inParallel(
    Array.from({ length: count }, (_v, i) => i),
    OPEN_CONCURRENCY,
    async (i) => {
      const owner = itemAt(owners, i % owners.length);
      const raw = await wire.ok(
        'OpenAccount',
        [['initialDeposit', formatCents(OPENING_CENTS)]],
        owner,
        `${runId}-open-${i}`,
      );
      const id = leafText(raw, 'accountId');
      if (id === undefined) throw new Error('OpenAccount answered without accountId');
      accounts[i] = { id, owner };
    },
  );
  return accounts;
}

interface RunStats {
  readonly latency: LatencySamples;
  readonly faults: Map<string, number>;
  readonly acknowledged: Set<string>;
  ok: number;
  networkErrors: number;
  measuredMs: number;
}

async function drive(
  wires: readonly BankWire[],
  accounts: readonly Account[],
  config: BenchConfig,
  runId: string,
): Promise<RunStats> {
  const stats: RunStats = {
    latency: new LatencySamples(),
    faults: new Map(),
    acknowledged: new Set(),
    ok: 0,
    networkErrors: 0,
    measuredMs: 0,
  };
  const startMs = performance.now();
  const measureFromMs = startMs + config.warmupSeconds * 1000;
  const endMs = measureFromMs + config.seconds * 1000;
  let seq = 0;
  const worker = async (w: number): Promise<void> => {
    while (performance.now() < endMs) {
      const from = itemAt(accounts, Math.floor(Math.random() * accounts.length));
      let to = itemAt(accounts, Math.floor(Math.random() * accounts.length));
      while (to === from) to = itemAt(accounts, Math.floor(Math.random() * accounts.length));
      const amount = formatCents(1 + Math.floor(Math.random() * AMOUNT_CENTS_MAX));
      const requestId = `${runId}-${w}-${seq++}`;
      const t0 = performance.now();
      let code: string | undefined;
      let transactionId: string | undefined;
      try {
        const r = await itemAt(wires, w % wires.length).call(
          'Transfer',
          [
            ['fromAccountId', from.id],
            ['toAccountId', to.id],
            ['amount', amount],
          ],
          from.owner,
          requestId,
        );
        code = r.faultCode ?? (r.httpStatus === 200 ? undefined : `HTTP_${r.httpStatus}`);
        if (code === undefined) transactionId = leafText(r.raw, 'transactionId');
      } catch {
        code = 'NETWORK_ERROR';
      }
      const t1 = performance.now();
      // Acknowledged transfers are kept even in the warm-up: the invariant check needs them all.
      if (transactionId !== undefined) stats.acknowledged.add(transactionId);
      if (t0 < measureFromMs) continue;
      stats.latency.add(t1 - t0);
      if (code === undefined) stats.ok++;
      else if (code === 'NETWORK_ERROR') stats.networkErrors++;
      else stats.faults.set(code, (stats.faults.get(code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: config.clients }, (_v, w) => worker(w)));
  stats.measuredMs = Math.max(1, performance.now() - measureFromMs);
  return stats;
}

interface InvariantReport {
  readonly lines: string[];
  readonly ok: boolean;
}

async function checkInvariant(
  wire: BankWire,
  accounts: readonly Account[],
  acknowledged: ReadonlySet<string>,
): Promise<InvariantReport> {
  const lines: string[] = [];
  let ok = true;
  const balances: number[] = new Array<number>(accounts.length).fill(0);
  const outs = new Map<string, number>();
  let partial = 0;
  let mismatched = 0;
  await inParallel(accounts, OPEN_CONCURRENCY, async (a, i) => {
    const s = await wholeStatement(wire, a.owner, a.id, STATEMENT_PAGE_LIMIT, STATEMENT_ENTRIES_MAX);
    balances[i] = s.balanceCents;
    if (s.balanceCents < 0) mismatched++;
    if (!s.complete) {
      partial++;
      return;
    }
    if (s.entries.reduce((sum, e) => sum + e.amountCents, 0) !== s.balanceCents) mismatched++;
    for (const e of s.entries)
      if (e.kind === 'TRANSFER_OUT') outs.set(e.transactionId, (outs.get(e.transactionId) ?? 0) + 1);
  });
  const total = balances.reduce((s, x) => s + x, 0);
  const expected = accounts.length * OPENING_CENTS;
  const totalOk = total === expected;
  ok &&= totalOk;
  lines.push(
    `sum of balances: ${formatCents(total)} (expected ${formatCents(expected)}) ${totalOk ? 'OK' : 'MISMATCH'}`,
  );
  ok &&= mismatched === 0;
  lines.push(
    `statements adding up to their balance: ${accounts.length - partial - mismatched} OK, ${mismatched} mismatched, ${partial} too long to check (> ${STATEMENT_ENTRIES_MAX} entries)`,
  );
  if (partial === 0) {
    const doubled = [...outs.values()].filter((n) => n !== 1).length;
    const missing = [...acknowledged].filter((id) => !outs.has(id)).length;
    const unacknowledged = [...outs.keys()].filter((id) => !acknowledged.has(id)).length;
    ok &&= doubled === 0 && missing === 0;
    lines.push(
      `acknowledged transfers in the journal exactly once: ${acknowledged.size - missing} of ${acknowledged.size}; doubled ${doubled}; journaled without an acknowledgement (timed out) ${unacknowledged}`,
    );
  } else {
    lines.push(`acknowledged-transfer check skipped: some statements have more than ${STATEMENT_ENTRIES_MAX} entries`);
  }
  return { lines, ok };
}

/** Numeric fields of a /health answer, or an empty map when it cannot be read. */
async function healthCounters(url: string | undefined, adminToken: string | undefined): Promise<Map<string, number>> {
  const counters = new Map<string, number>();
  if (url === undefined) return counters;
  try {
    const headers: Record<string, string> = adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` };
    const body = (await (
      await fetch(url, { headers, signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) })
    ).json()) as Record<string, unknown>;
    for (const [k, v] of Object.entries(body)) if (typeof v === 'number') counters.set(k, v);
  } catch {
    // Counters are a diagnostic extra; a missing one is reported as absent.
  }
  return counters;
}

/** pgbench right before the bench (--compare-pgbench), or undefined when not asked or not installed. */
async function comparePgbench(config: BenchConfig): Promise<number | undefined> {
  if (!config.comparePgbench || config.databaseUrl === undefined) return undefined;
  if (!(await pgbenchAvailable())) {
    out('pgbench: not on the PATH, no comparison');
    return undefined;
  }
  const tps = await measurePgbenchTps(config.databaseUrl, out);
  out(
    `pgbench ${PGBENCH_ARGS.join(' ')}: ${tps.toFixed(0)} tps; load average now ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  return tps;
}

/**
 * CPU seconds per process over warm-up and run, its share of one core and its µs per transfer
 * (all transfers acknowledged in that time); returns the µs per transfer of all of them together
 * — on a shared machine a steadier measure of cost than transfers/s.
 */
function printCpu(
  pids: ReadonlyMap<string, number>,
  before: ReadonlyMap<string, number | undefined>,
  loadGenSeconds: number,
  wallSeconds: number,
  transfers: number,
  outside: OutsideCpu,
): number {
  out(`CPU seconds over ${wallSeconds.toFixed(1)} s (share of one core; µs per transfer):`);
  const line = (name: string, seconds: number): string => {
    const share = ((100 * seconds) / wallSeconds).toFixed(0).padStart(4);
    const perTransferUs = ((seconds * 1e6) / transfers).toFixed(0).padStart(5);
    return `  ${name.padEnd(12)} ${seconds.toFixed(2).padStart(7)} s  ${share} %  ${perTransferUs} µs`;
  };
  let total = loadGenSeconds;
  for (const [name, pid] of pids) {
    const from = before.get(name);
    const to = cpuSecondsOf(pid);
    if (from === undefined || to === undefined) {
      out(`  ${name.padEnd(12)} (pid ${pid}) n/a`);
      continue;
    }
    total += to - from;
    out(line(name, to - from));
  }
  out(line('load gen', loadGenSeconds));
  out(line('all', total));
  // Not in `all` (the bank's node processes): PostgreSQL's processes here, and the whole machine.
  const postgresSeconds = cpuSecondsOfCommand('postgres') - outside.postgresSeconds;
  if (postgresSeconds > 0) out(`${line('postgresql', postgresSeconds)}  (its processes on this machine)`);
  const machineSeconds = machineBusySeconds();
  if (machineSeconds !== undefined && outside.machineSeconds !== undefined)
    out(`${line('machine', machineSeconds - outside.machineSeconds)}  (every process, all cores)`);
  return (total * 1e6) / transfers;
}

/** CPU counters outside the bank's own processes, read before the run (printCpu subtracts them). */
interface OutsideCpu {
  readonly postgresSeconds: number;
  readonly machineSeconds: number | undefined;
}

function outsideCpuNow(): OutsideCpu {
  return { postgresSeconds: cpuSecondsOfCommand('postgres'), machineSeconds: machineBusySeconds() };
}

/** Lines in the cluster's log file so far (the bench's own temp file: small enough to read). */
function logLinesIn(path: string): number | undefined {
  try {
    const bytes = readFileSync(path);
    let lines = 0;
    for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) lines++;
    return lines;
  } catch {
    return undefined;
  }
}

function ownersFrom(demo: DemoCredentials): Caller[] {
  return demo.clients.map((c) => ({ clientId: c.clientId, authToken: c.authToken }));
}

/** Where the load goes: a fresh cluster (the default), or --url with its credentials file. */
async function benchTarget(
  config: BenchConfig,
): Promise<{ cluster: BenchCluster | undefined; url: string; owners: Caller[] }> {
  if (config.url !== undefined) {
    const credentials = readFileSync(defined(config.credentialsFile, 'credentialsFile (with --url)'), 'utf8');
    return { cluster: undefined, url: config.url, owners: ownersFrom(JSON.parse(credentials) as DemoCredentials) };
  }
  out(
    `starting a fresh cluster: ${config.dataServers} data server${config.dataServers === 1 ? '' : 's'} (${config.databaseUrl === undefined ? 'SQLite' : 'PostgreSQL'}), ${config.businessCount} business servers, 1 balancer; log level ${config.logLevel}`,
  );
  const cluster = await startBenchCluster({
    businessCount: config.businessCount,
    clients: config.clients,
    owners: config.owners,
    logLevel: config.logLevel,
    databaseUrl: config.databaseUrl,
    dataServers: config.dataServers,
    env: config.childEnv,
  });
  return { cluster, url: cluster.url, owners: ownersFrom(cluster.demo) };
}

/** The processes and counters the bench reads: its own cluster's, or with --url those of the cluster.json next to the credentials (npm start writes both). */
function observedCluster(config: BenchConfig, cluster: BenchCluster | undefined) {
  const local =
    cluster === undefined
      ? readClusterFile(dirname(defined(config.credentialsFile, 'credentialsFile (with --url)')))
      : undefined;
  return {
    pids: cluster?.pids ?? local?.pids ?? new Map<string, number>(),
    dataHealthUrl: cluster?.dataHealthUrl ?? local?.dataHealthUrl,
    adminToken: cluster?.adminToken ?? local?.adminToken,
    businessUrls: cluster?.businessUrls ?? local?.businessUrls ?? [],
    logPath: cluster?.logPath,
  };
}

type Observed = ReturnType<typeof observedCluster>;

/** The counters read right before and right after the load; the report is their differences. */
interface Snapshot {
  readonly cpu: ReadonlyMap<string, number | undefined>;
  readonly outside: OutsideCpu;
  readonly logLines: number | undefined;
  readonly load: number;
  readonly dataCounters: Map<string, number>;
  readonly served: Awaited<ReturnType<typeof dataServed>>;
}

async function snapshot(observed: Observed): Promise<Snapshot> {
  return {
    cpu: new Map([...observed.pids].map(([name, pid]) => [name, cpuSecondsOf(pid)] as const)),
    outside: outsideCpuNow(),
    logLines: observed.logPath === undefined ? undefined : logLinesIn(observed.logPath),
    load: itemAt(os.loadavg(), 0),
    dataCounters: await healthCounters(observed.dataHealthUrl, observed.adminToken),
    served: await dataServed(observed.dataHealthUrl, observed.adminToken),
  };
}

/** With --direct, one wire per business server (the balancer left out); else the balancer's wire. */
function transferWiresFor(config: BenchConfig, wire: BankWire, businessUrls: readonly string[]): BankWire[] {
  if (!config.direct) return [wire];
  if (businessUrls.length === 0)
    throw new Error('--direct needs the business URLs (a fresh cluster, or cluster.json next to --credentials)');
  out(`--direct: transfers go straight to ${businessUrls.length} business servers, not through the balancer`);
  const socketsMax = Math.ceil(config.clients / businessUrls.length);
  return businessUrls.map((u) => new BankWire(u, { socketsMax, timeoutMs: config.callTimeoutMs }));
}

/** Rates, latency and faults of the measured window; returns transfers/s. */
function printRates(stats: RunStats, pgbenchTps: number | undefined): number {
  const seconds = stats.measuredMs / 1000;
  const [p50, p90, p99, max] = stats.latency.percentiles([50, 90, 99, 100]);
  const ms = (v: number | undefined): string => defined(v, 'a latency percentile').toFixed(1);
  out();
  out(`transfers/s (successful): ${(stats.ok / seconds).toFixed(1)}   (${stats.ok} in ${seconds.toFixed(1)} s)`);
  if (pgbenchTps !== undefined)
    out(`pgbench tps: ${pgbenchTps.toFixed(0)}, ratio: ${(stats.ok / seconds / pgbenchTps).toFixed(2)}`);
  out(`requests/s (all answers): ${(stats.latency.count / seconds).toFixed(1)}`);
  out(`latency ms: p50 ${ms(p50)}  p90 ${ms(p90)}  p99 ${ms(p99)}  max ${ms(max)}`);
  const faults = [...stats.faults]
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  out(`faults: ${faults === '' ? 'none' : faults}; network errors/timeouts: ${stats.networkErrors}`);
  return stats.ok / seconds;
}

/** Log lines per transfer and the data server's counters over the run (warm-up included, as CPU). */
function printCounters(
  config: BenchConfig,
  before: Snapshot,
  after: Snapshot,
  transfersAll: number,
): number | undefined {
  const logLines =
    before.logLines === undefined || after.logLines === undefined ? undefined : after.logLines - before.logLines;
  if (logLines !== undefined)
    out(
      `log level ${config.logLevel}: ${logLines} log lines over the run, ${(logLines / transfersAll).toFixed(2)} per transfer`,
    );
  out(`load average (1 min) before / after the run: ${before.load.toFixed(1)} / ${after.load.toFixed(1)}`);
  return logLines === undefined ? undefined : logLines / transfersAll;
}

function printDataTier(before: Snapshot, after: Snapshot, transfersAll: number, wallSeconds: number): void {
  const deltas = [...after.dataCounters]
    .filter(([k]) => before.dataCounters.has(k))
    .map(([k, v]) => `${k} +${v - defined(before.dataCounters.get(k), k)}`);
  if (deltas.length > 0) out(`data server /health counters over the run: ${deltas.join(', ')}`);
  const served = describeDataServed(before.served, after.served, transfersAll);
  if (served !== undefined) out(`${served} (first data server)`);
  const busyMs =
    (after.dataCounters.get('groupCommitBusyMs') ?? 0) - (before.dataCounters.get('groupCommitBusyMs') ?? 0);
  if (busyMs > 0)
    out(
      `  data server event loop inside commits (SQL + fsync): ${((100 * busyMs) / (wallSeconds * 1000)).toFixed(0)} % of the time`,
    );
}

/** Opens the accounts, drives the load, prints the report and the money invariant. */
async function runBench(config: BenchConfig, wire: BankWire, owners: Caller[], observed: Observed): Promise<void> {
  const runId = `bench${Date.now().toString(36)}`;
  const t0 = performance.now();
  const accounts = await openAccounts(wire, owners, config.accounts, runId);
  out(
    `opened ${accounts.length} accounts of ${formatCents(OPENING_CENTS)} over ${owners.length} owners in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  out(
    `driving ${config.clients} concurrent clients doing random transfers${config.hot ? ` over ${accounts.length} hot accounts` : ''} for ${config.seconds} s (after ${config.warmupSeconds} s warm-up)`,
  );
  const transferWires = transferWiresFor(config, wire, observed.businessUrls);
  const pgbenchTps = await comparePgbench(config);
  const before = await snapshot(observed);
  const selfBefore = process.cpuUsage();
  const wallBefore = performance.now();
  // CPU is measured over warm-up and run together (both are load); rates use the measured window.
  const stats = await drive(transferWires, accounts, config, runId);
  const wallSeconds = (performance.now() - wallBefore) / 1000;
  const self = process.cpuUsage(selfBefore);
  const after = await snapshot(observed);
  // CPU and log lines are counted over warm-up and run: per transfer, divide by all of them.
  const transfersAll = Math.max(1, stats.acknowledged.size);
  const transfersPerS = printRates(stats, pgbenchTps);
  const logLinesPerTransfer = printCounters(config, before, after, transfersAll);
  const loadGenSeconds = (self.user + self.system) / 1e6;
  const cpuUsPerTransfer = printCpu(
    observed.pids,
    before.cpu,
    loadGenSeconds,
    wallSeconds,
    transfersAll,
    before.outside,
  );
  printDataTier(before, after, transfersAll, wallSeconds);
  out();
  if (config.direct) for (const w of transferWires) w.close();
  const report = await checkInvariant(wire, accounts, stats.acknowledged);
  out(`money invariant: ${report.ok ? 'OK' : 'VIOLATED'}`);
  for (const line of report.lines) out(`  ${line}`);
  if (!report.ok) process.exitCode = 2;
  // For --observability (bench-observability.ts), which runs this bench in a child process.
  const summary: BenchSummary = {
    logLevel: config.logLevel,
    transfersPerS,
    cpuUsPerTransfer,
    logLinesPerTransfer,
    loadAverage: [before.load, after.load],
    invariantOk: report.ok,
  };
  out(`${SUMMARY_PREFIX}${JSON.stringify(summary)}`);
}

async function main(): Promise<void> {
  const config = loadBenchConfig(process.env, process.argv.slice(2));
  out(
    `machine: ${machine()}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const { cluster, url, owners } = await benchTarget(config);
  const wire = new BankWire(url, {
    socketsMax: Math.max(config.clients, OPEN_CONCURRENCY),
    timeoutMs: config.callTimeoutMs,
  });
  try {
    out(`target: ${url}`);
    await runBench(config, wire, owners, observedCluster(config, cluster));
  } finally {
    wire.close();
    if (cluster !== undefined) {
      await cluster.stop(config.keep);
      if (config.keep)
        out(
          `cluster data and log kept in ${cluster.dir}${cluster.pgSchema === undefined ? '' : `, PostgreSQL schema ${cluster.pgSchema}`}`,
        );
      else rmSync(cluster.dir, { recursive: true, force: true });
    }
  }
}

const argv = process.argv.slice(2);
(argv.includes('--observability') ? benchObservability(argv.filter((a) => a !== '--observability')) : main()).catch(
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
