import { Env, intSetting, optionalStringSetting, withFlags } from '../../common/settings';
import { PROCESS_NEMESES, ProcessNemesis } from './nemesis';

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
  readonly nemeses: readonly ProcessNemesis[];
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
Exit code: 0 valid, 1 the checker found anomalies, 2 bad options or the run could not be made.`;

const FLAGS: Readonly<Record<string, string>> = {
  seconds: 'CHAOS_SECONDS', clients: 'CHAOS_CLIENTS', accounts: 'CHAOS_ACCOUNTS', seed: 'CHAOS_SEED',
  nemesis: 'CHAOS_NEMESIS', every: 'CHAOS_EVERY', pause: 'CHAOS_PAUSE', tries: 'CHAOS_TRIES',
  timeout: 'CHAOS_TIMEOUT', 'business-count': 'BANK_BUSINESS_COUNT', 'database-url': 'DATABASE_URL',
  'pg-stop-cmd': 'CHAOS_PG_STOP_CMD', 'pg-start-cmd': 'CHAOS_PG_START_CMD', report: 'CHAOS_REPORT_DIR',
  owners: 'CHAOS_OWNERS',
};

/** "5s", "1500ms" or "1500" (ms) to milliseconds, within [minMs, maxMs]. */
export function durationMs(text: string, name: string, minMs: number, maxMs: number): number {
  const m = /^(\d{1,7})(ms|s)?$/.exec(text.trim());
  if (m === null) throw new Error(`${name} must be a duration like 5s or 500ms, got ${JSON.stringify(text)}`);
  const value = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  if (value < minMs || value > maxMs) throw new Error(`${name} must be within ${minMs}..${maxMs} ms, got ${value}`);
  return value;
}

function nemesesOf(text: string): ProcessNemesis[] {
  if (text === 'none') return [];
  return text.split(',').map((n) => n.trim()).map((n) => {
    if (!(PROCESS_NEMESES as readonly string[]).includes(n)) throw new Error(`unknown nemesis ${JSON.stringify(n)}; known: ${PROCESS_NEMESES.join(', ')}`);
    return n as ProcessNemesis;
  });
}

export function loadChaosOptions(env: Env, argv: readonly string[]): ChaosOptions {
  const switches = new Set(['--keep', '--help', '-h']);
  const e = withFlags(env, argv.filter((a) => !switches.has(a)), FLAGS);
  const nemeses = nemesesOf(optionalStringSetting(e, 'CHAOS_NEMESIS') ?? 'kill-business,pause-data');
  const databaseUrl = optionalStringSetting(e, 'DATABASE_URL');
  const pgStopCommand = optionalStringSetting(e, 'CHAOS_PG_STOP_CMD');
  const pgStartCommand = optionalStringSetting(e, 'CHAOS_PG_START_CMD');
  if (nemeses.includes('restart-pg') && (databaseUrl === undefined || pgStopCommand === undefined || pgStartCommand === undefined)) {
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
    databaseUrl, pgStopCommand, pgStartCommand,
    reportDir: optionalStringSetting(e, 'CHAOS_REPORT_DIR'),
    keep: argv.includes('--keep'),
    help: argv.includes('--help') || argv.includes('-h'),
    childEnv: Object.freeze(Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined))),
  });
}
