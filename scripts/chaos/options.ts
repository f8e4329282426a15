import { Env, intSetting, optionalStringSetting, withFlags } from '../../common/settings';
import { NET_NEMESES } from './hosts/net-nemesis';
import { PROCESS_NEMESES } from './nemesis';

export const ALL_NEMESES = [...PROCESS_NEMESES, ...NET_NEMESES] as const;
export type NemesisName = (typeof ALL_NEMESES)[number];

/**
 * Options of `npm run chaos`, parsed once. Every bound is explicit: run length, clients, tries,
 * the nemesis period and pause length, the recovery wait.
 */
export interface ChaosOptions {
  readonly seconds: number;
  readonly clients: number;
  readonly accounts: number;
  readonly owners: number;
  readonly seed: number;
  readonly nemeses: readonly NemesisName[];
  readonly everyMs: number;
  readonly pauseMs: number;
  readonly triesMax: number;
  readonly attemptTimeoutMs: number;
  readonly recoverMsMax: number;
  readonly businessCount: number;
  readonly databaseUrl: string | undefined;
  readonly pgStopCommand: string | undefined;
  readonly pgStartCommand: string | undefined;
  readonly reportDir: string | undefined;
  readonly keep: boolean;
  readonly help: boolean;
  /** Each tier in a network namespace of its own (root only). */
  readonly hosts: boolean;
  /** Internal: the inner run of hosts mode, with the topology file the outer run made. */
  readonly hostsInnerFile: string | undefined;
  /** Remove namespaces left by an earlier, killed run, and exit. */
  readonly hostsCleanup: boolean;
  readonly lossPercent: number;
  readonly latencyMs: number;
  readonly skewSeconds: number;
  /** What the fresh cluster inherits (PATH, tier limits, …). */
  readonly childEnv: Readonly<Record<string, string>>;
}

export const USAGE = `npm run chaos -- [options]
  --seconds N           workload length (default 20)
  --clients N           concurrent clients, 1..256 (default 16)
  --accounts N          accounts opened for the run (default 64)
  --seed N              seed of the workload and the nemesis order (default: random, printed)
  --nemesis a,b,...     ${PROCESS_NEMESES.join(', ')}, or none (default kill-business,pause-data)
  --every 5s            time between nemeses (default 5s; ms or s)
  --pause 2s            length of a pause / PostgreSQL outage (default 2s)
  --tries N             attempts per request, same request-id (default 8)
  --timeout 5s          one attempt's bound (default 5s)
  --business-count N    business servers (default 3)
  --database-url URL    PostgreSQL instead of SQLite
  --pg-stop-cmd CMD     shell command that stops PostgreSQL (for restart-pg)
  --pg-start-cmd CMD    shell command that starts it again
  --report DIR          write history.jsonl, ledger.json, verdict.json, report.html there
  --keep                keep the cluster's temp dir (logs)
  --hosts               each tier in its own network namespace (root; SQLite only); network
                        nemeses: ${NET_NEMESES.join(', ')}
  --loss 20             loss-data: percent of packets dropped (default 20)
  --latency 200ms       latency-data: added delay (default 200ms; needs the kernel's sch_netem)
  --skew 5s             skew-data: clock offset of the restarted data server (default 5s)
  --hosts-cleanup       remove namespaces an earlier killed run left behind, then exit
Exit code: 0 valid, 1 the checker found anomalies, 2 bad options or the run could not be made,
3 hosts mode cannot run here (not root, no namespaces).`;

const FLAGS: Readonly<Record<string, string>> = {
  seconds: 'CHAOS_SECONDS',
  clients: 'CHAOS_CLIENTS',
  accounts: 'CHAOS_ACCOUNTS',
  seed: 'CHAOS_SEED',
  nemesis: 'CHAOS_NEMESIS',
  every: 'CHAOS_EVERY',
  pause: 'CHAOS_PAUSE',
  tries: 'CHAOS_TRIES',
  timeout: 'CHAOS_TIMEOUT',
  'business-count': 'BANK_BUSINESS_COUNT',
  'database-url': 'DATABASE_URL',
  'pg-stop-cmd': 'CHAOS_PG_STOP_CMD',
  'pg-start-cmd': 'CHAOS_PG_START_CMD',
  report: 'CHAOS_REPORT_DIR',
  owners: 'CHAOS_OWNERS',
  'hosts-inner': 'CHAOS_HOSTS_INNER',
  loss: 'CHAOS_LOSS_PERCENT',
  latency: 'CHAOS_LATENCY',
  skew: 'CHAOS_SKEW',
};

/** "5s", "1500ms" or "1500" (ms) to milliseconds, within [minMs, maxMs]. */
export function durationMs(text: string, name: string, minMs: number, maxMs: number): number {
  const m = /^(\d{1,7})(ms|s)?$/.exec(text.trim());
  if (m === null) throw new Error(`${name} must be a duration like 5s or 500ms, got ${JSON.stringify(text)}`);
  const value = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  if (value < minMs || value > maxMs) throw new Error(`${name} must be within ${minMs}..${maxMs} ms, got ${value}`);
  return value;
}

function nemesesOf(text: string, hosts: boolean): NemesisName[] {
  if (text === 'none') return [];
  return text
    .split(',')
    .map((n) => n.trim())
    .map((n) => {
      if (!(ALL_NEMESES as readonly string[]).includes(n))
        throw new Error(`unknown nemesis ${JSON.stringify(n)}; known: ${ALL_NEMESES.join(', ')}`);
      if (!hosts && (NET_NEMESES as readonly string[]).includes(n))
        throw new Error(`nemesis ${n} needs --hosts (tiers in network namespaces)`);
      return n as NemesisName;
    });
}

export function loadChaosOptions(env: Env, argv: readonly string[]): ChaosOptions {
  const switches = new Set(['--keep', '--help', '-h', '--hosts', '--hosts-cleanup']);
  const e = withFlags(
    env,
    argv.filter((a) => !switches.has(a)),
    FLAGS,
  );
  const hostsInnerFile = optionalStringSetting(e, 'CHAOS_HOSTS_INNER');
  const hosts = argv.includes('--hosts') || hostsInnerFile !== undefined;
  const nemeses = nemesesOf(optionalStringSetting(e, 'CHAOS_NEMESIS') ?? 'kill-business,pause-data', hosts);
  const databaseUrl = optionalStringSetting(e, 'DATABASE_URL');
  if (hosts && databaseUrl !== undefined)
    throw new Error('hosts mode runs over SQLite (PostgreSQL would need a namespace of its own: not built yet)');
  const pgStopCommand = optionalStringSetting(e, 'CHAOS_PG_STOP_CMD');
  const pgStartCommand = optionalStringSetting(e, 'CHAOS_PG_START_CMD');
  if (
    nemeses.includes('restart-pg') &&
    (databaseUrl === undefined || pgStopCommand === undefined || pgStartCommand === undefined)
  ) {
    throw new Error('restart-pg needs --database-url, --pg-stop-cmd and --pg-start-cmd');
  }
  const seedText = optionalStringSetting(e, 'CHAOS_SEED');
  return Object.freeze({
    seconds: intSetting(e, 'CHAOS_SECONDS', 20, 1, 3600),
    clients: intSetting(e, 'CHAOS_CLIENTS', 16, 1, 256),
    accounts: intSetting(e, 'CHAOS_ACCOUNTS', 64, 2, 10_000),
    owners: intSetting(e, 'CHAOS_OWNERS', 8, 1, 256),
    seed: seedText === undefined ? Math.floor(Math.random() * 2 ** 31) : intSetting(e, 'CHAOS_SEED', 0, 0, 2 ** 31 - 1),
    nemeses,
    everyMs: durationMs(optionalStringSetting(e, 'CHAOS_EVERY') ?? '5s', '--every', 500, 3_600_000),
    pauseMs: durationMs(optionalStringSetting(e, 'CHAOS_PAUSE') ?? '2s', '--pause', 100, 600_000),
    triesMax: intSetting(e, 'CHAOS_TRIES', 8, 1, 100),
    attemptTimeoutMs: durationMs(optionalStringSetting(e, 'CHAOS_TIMEOUT') ?? '5s', '--timeout', 100, 600_000),
    recoverMsMax: 30_000,
    businessCount: intSetting(e, 'BANK_BUSINESS_COUNT', 3, 1, 32),
    databaseUrl,
    pgStopCommand,
    pgStartCommand,
    reportDir: optionalStringSetting(e, 'CHAOS_REPORT_DIR'),
    keep: argv.includes('--keep'),
    help: argv.includes('--help') || argv.includes('-h'),
    hosts,
    hostsInnerFile,
    hostsCleanup: argv.includes('--hosts-cleanup'),
    lossPercent: intSetting(e, 'CHAOS_LOSS_PERCENT', 20, 1, 100),
    latencyMs: durationMs(optionalStringSetting(e, 'CHAOS_LATENCY') ?? '200ms', '--latency', 1, 60_000),
    skewSeconds: durationMs(optionalStringSetting(e, 'CHAOS_SKEW') ?? '5s', '--skew', 1000, 3_600_000) / 1000,
    childEnv: Object.freeze(
      Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined)),
    ),
  });
}
