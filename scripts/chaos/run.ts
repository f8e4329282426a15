import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatCents } from '../../common/money';
import { BankWire, Caller, leafText } from '../lib/bank-wire';
import { BenchCluster, startBenchCluster } from '../lib/bench-cluster';
import { wholeStatement } from './bank-calls';
import { check, Verdict } from './checker';
import { History, NemesisRecord, OpRecord } from './history';
import { Ledger, LedgerAccount } from './ledger';
import { NET_NEMESES, NetNemesis, strikeNet } from './hosts/net-nemesis';
import { Topology } from './hosts/topology';
import { NemesisContext, ProcessNemesis, runSchedule, strike } from './nemesis';
import { ChaosOptions, NemesisName } from './options';
import { SeededRandom } from '../../common/seeded-random';
import { availability, Availability } from './timeline';
import { ChaosAccount, runRequest, runWorkload } from './workload';
import { defined, itemAt } from '../../common/defined';

/**
 * One chaos run, start to verdict: a fresh cluster, its own accounts, the workload with the
 * nemesis schedule beside it, recovery, the replay of every indeterminate request (same
 * request-id), the ledger read back through the service, and the checker.
 */
export const OPENING_CENTS = 10_000; // 100.00 per account
const AMOUNT_CENTS_MAX = 2_000;
/** GetStatement's largest page (bank.wsdl StatementLimit). */
const STATEMENT_PAGE_LIMIT = 1000;
/** Entries read per account at most: past it the checker says it cannot judge the account. */
const STATEMENT_ENTRIES_MAX = 1_000_000;
const REPLAY_TRIES = 10;
const READ_CONCURRENCY = 8;

export interface RunResult {
  readonly history: History;
  readonly ledger: Ledger;
  readonly verdict: Verdict;
  readonly availability: readonly Availability[];
  readonly clusterDir: string;
}

async function openAccounts(
  wire: BankWire,
  owners: readonly Caller[],
  count: number,
  runTag: string,
): Promise<ChaosAccount[]> {
  const accounts: ChaosAccount[] = [];
  for (let i = 0; i < count; i++) {
    const owner = itemAt(owners, i % owners.length);
    const raw = await wire.ok(
      'OpenAccount',
      [['initialDeposit', formatCents(OPENING_CENTS)]],
      owner,
      `${runTag}-open-${i}`,
    );
    const accountId = leafText(raw, 'accountId');
    if (accountId === undefined) throw new Error('OpenAccount answered without accountId');
    accounts.push({ accountId, owner });
  }
  return accounts;
}

/** Waits until the bank answers a GetBalance again (every fault cleared), within a bound. */
async function awaitRecovery(wire: BankWire, account: ChaosAccount, boundMs: number): Promise<void> {
  const deadline = performance.now() + boundMs;
  for (;;) {
    const r = await wire.call('GetBalance', [['accountId', account.accountId]], account.owner).catch(() => undefined);
    if (r !== undefined && r.httpStatus === 200) return;
    if (performance.now() > deadline) throw new Error(`the bank did not recover within ${boundMs} ms`);
    await sleep(200);
  }
}

async function replayIndeterminate(
  wire: BankWire,
  ops: OpRecord[],
  accounts: readonly ChaosAccount[],
  options: ChaosOptions,
  clock: () => number,
): Promise<OpRecord[]> {
  const owners = new Map(accounts.map((a) => [a.owner.clientId, a.owner]));
  const rng = new SeededRandom(options.seed ^ 0x5eed);
  const policy = { triesMax: REPLAY_TRIES, backoffMsBase: 100, backoffMsMax: 2000 };
  return Promise.all(
    ops.map(async (op) => {
      if (op.outcome.kind !== 'indeterminate') return op;
      const { attempts, outcome } = await runRequest(
        wire,
        defined(owners.get(op.clientId), `the owner ${op.clientId}`),
        op,
        op.requestId,
        policy,
        rng,
        clock,
        'replay',
      );
      return { ...op, attempts: [...op.attempts, ...attempts], resolved: outcome };
    }),
  );
}

async function readLedger(wire: BankWire, accounts: readonly ChaosAccount[]): Promise<Ledger> {
  const out: LedgerAccount[] = new Array<LedgerAccount>(accounts.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: READ_CONCURRENCY }, async () => {
      while (next < accounts.length) {
        const i = next++;
        const a = itemAt(accounts, i);
        const s = await wholeStatement(wire, a.owner, a.accountId, STATEMENT_PAGE_LIMIT, STATEMENT_ENTRIES_MAX);
        out[i] = {
          accountId: a.accountId,
          ownerId: a.owner.clientId,
          openingCents: OPENING_CENTS,
          balanceCents: s.balanceCents,
          entries: [...s.entries].reverse(),
          complete: s.complete,
        };
      }
    }),
  );
  return { accounts: out };
}

/** Hosts mode: the namespaces made by the outer run, and the data server's libfaketime file. */
export interface HostsSetup {
  readonly topology: Topology;
  readonly skewFile: string;
}

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

/** BANK_CLUSTER_PLACEMENT for the launcher: every tier in its namespace; the data server's clock settable. */
function placementOf(hosts: HostsSetup): string {
  const placement: Record<string, unknown> = {};
  for (const h of hosts.topology.hosts) {
    if (h.name === 'client') continue;
    const env =
      h.name === 'data'
        ? { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: hosts.skewFile, FAKETIME_DONT_FAKE_MONOTONIC: '1' }
        : {};
    placement[h.name] = { netns: h.netns, host: h.address, env };
  }
  return JSON.stringify(placement);
}

export async function startChaosCluster(options: ChaosOptions, hosts?: HostsSetup): Promise<BenchCluster> {
  // The supervisor must bring every killed process back, however often the nemesis strikes.
  const env: Record<string, string> = {
    ...options.childEnv,
    BANK_CLUSTER_RESTARTS_MAX: '1000',
    BANK_CLUSTER_RESTART_DELAY_MS: '300',
  };
  if (hosts !== undefined) env.BANK_CLUSTER_PLACEMENT = placementOf(hosts);
  return startBenchCluster({
    businessCount: options.businessCount,
    clients: options.clients + READ_CONCURRENCY,
    owners: options.owners,
    ownerPrefix: 'chaos',
    logLevel: 'warn',
    databaseUrl: options.databaseUrl,
    env,
  });
}

function striker(
  options: ChaosOptions,
  ctx: NemesisContext,
  hosts: HostsSetup | undefined,
): (name: NemesisName) => Promise<NemesisRecord> {
  return (name) => {
    if (!(NET_NEMESES as readonly string[]).includes(name)) return strike(ctx, name as ProcessNemesis);
    if (hosts === undefined) throw new Error(`${name} needs hosts mode`);
    return strikeNet(
      {
        topology: hosts.topology,
        clusterDir: ctx.clusterDir,
        rng: ctx.rng,
        windowMs: options.pauseMs,
        lossPercent: options.lossPercent,
        latencyMs: options.latencyMs,
        skewSeconds: options.skewSeconds,
        skewFile: hosts.skewFile,
        recoverMsMax: options.recoverMsMax,
        clock: ctx.clock,
      },
      name as NetNemesis,
    );
  };
}

export async function runChaos(
  options: ChaosOptions,
  cluster: BenchCluster,
  log: (line: string) => void,
  hosts?: HostsSetup,
): Promise<RunResult> {
  const wire = new BankWire(cluster.url, {
    socketsMax: options.clients + READ_CONCURRENCY,
    timeoutMs: options.attemptTimeoutMs,
  });
  try {
    const runTag = `c${options.seed.toString(36)}${Date.now().toString(36)}`;
    const owners = cluster.demo.clients.map((c) => ({ clientId: c.clientId, authToken: c.authToken }));
    const accounts = await openAccounts(wire, owners, options.accounts, runTag);
    log(
      `opened ${accounts.length} accounts of ${formatCents(OPENING_CENTS)}; ${options.clients} clients for ${options.seconds} s; nemeses: ${options.nemeses.join(', ') || 'none'} every ${options.everyMs} ms; seed ${options.seed}`,
    );
    const t0 = performance.now();
    const clock = (): number => performance.now() - t0;
    const { schedule, nemeses } = startNemeses(options, cluster, clock, log, hosts);
    const workload = {
      clients: options.clients,
      seconds: options.seconds,
      triesMax: options.triesMax,
      backoffMsBase: 50,
      backoffMsMax: 1000,
      amountCentsMax: AMOUNT_CENTS_MAX,
      runTag,
    };
    const ran = await runWorkload(wire, accounts, workload, options.seed, clock, () => undefined);
    await schedule;
    await awaitRecovery(wire, itemAt(accounts, 0), options.recoverMsMax);
    const ops = await replayIndeterminate(wire, ran, accounts, options, clock);
    const ledger = await readLedger(wire, accounts);
    const history: History = {
      run: {
        type: 'run',
        seed: options.seed,
        startedAt: new Date().toISOString(),
        options: { ...options, childEnv: undefined },
      },
      ops,
      nemeses,
    };
    return {
      history,
      ledger,
      verdict: check(history, ledger),
      availability: nemeses.map((n) => availability(history, n)),
      clusterDir: cluster.dir,
    };
  } finally {
    wire.close();
  }
}

/** The nemeses' schedule, started: each strike is logged and recorded as it ends. */
function startNemeses(
  options: ChaosOptions,
  cluster: BenchCluster,
  clock: () => number,
  log: (line: string) => void,
  hosts: HostsSetup | undefined,
): { schedule: Promise<NemesisRecord[]>; nemeses: NemesisRecord[] } {
  const nemeses: NemesisRecord[] = [];
  const ctx: NemesisContext = {
    clusterDir: cluster.dir,
    rng: new SeededRandom(options.seed ^ 0x4e4d),
    pauseMs: options.pauseMs,
    recoverMsMax: options.recoverMsMax,
    pgStopCommand: options.pgStopCommand,
    pgStartCommand: options.pgStartCommand,
    clock,
  };
  const schedule = runSchedule(
    ctx,
    options.nemeses,
    options.everyMs,
    options.seconds * 1000,
    striker(options, ctx, hosts),
    (r) => {
      nemeses.push(r);
      log(
        `nemesis ${r.name} ${r.target} at ${(r.startMs / 1000).toFixed(1)} s for ${((r.endMs - r.startMs) / 1000).toFixed(1)} s${r.error === undefined ? '' : ` — ERROR ${r.error}`}`,
      );
    },
  );
  return { schedule, nemeses };
}
