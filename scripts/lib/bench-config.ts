import { LOG_LEVELS } from '../../common/logger';
import { DATA_SERVERS_MAX } from './cluster-config';
import { Env, intSetting, oneOfSetting, optionalStringSetting, withFlags } from '../../common/settings';

/**
 * Options of `npm run bench` (scripts/bench.ts), parsed once. Without --url it starts a fresh
 * cluster (scripts/cluster.js) in a temp dir; with --url it drives an existing one, using the
 * clients of a demo-credentials.json (--credentials) as account owners.
 */
export interface BenchConfig {
  readonly url: string | undefined;
  readonly credentialsFile: string | undefined;
  readonly accounts: number;
  readonly clients: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly hot: boolean;
  readonly businessCount: number;
  readonly databaseUrl: string | undefined;
  /** Data servers of the fresh cluster (over PostgreSQL; SQLite allows 1). */
  readonly dataServers: number;
  /** Log level of the fresh cluster: per-request info lines cost CPU the bench would measure. */
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** Principals owning the bench accounts in a fresh cluster. */
  readonly owners: number;
  readonly callTimeoutMs: number;
  readonly keep: boolean;
  /** Send the transfers straight to the business servers (round-robin by client), bypassing the balancer. */
  readonly direct: boolean;
  /** Run pgbench (TPC-B-like) on the same PostgreSQL right before the bench and print the ratio. */
  readonly comparePgbench: boolean;
  /** What the fresh cluster inherits (PATH, tier limits, …). */
  readonly childEnv: Readonly<Record<string, string>>;
}

export const HOT_ACCOUNTS = 4;

const FLAGS: Readonly<Record<string, string>> = {
  url: 'BENCH_URL',
  credentials: 'BENCH_CREDENTIALS',
  accounts: 'BENCH_ACCOUNTS',
  clients: 'BENCH_CLIENTS',
  seconds: 'BENCH_SECONDS',
  warmup: 'BENCH_WARMUP_SECONDS',
  'business-count': 'BANK_BUSINESS_COUNT',
  'database-url': 'DATABASE_URL',
  'data-servers': 'BANK_DATA_SERVERS',
  'log-level': 'BENCH_LOG_LEVEL',
  owners: 'BENCH_OWNERS',
  'timeout-ms': 'BENCH_CALL_TIMEOUT_MS',
};

export function loadBenchConfig(env: Env, argv: readonly string[]): BenchConfig {
  // Boolean switches first; the rest are `--name value`.
  const rest = argv.filter((a) => a !== '--hot' && a !== '--keep' && a !== '--direct' && a !== '--compare-pgbench');
  const e = withFlags(env, rest, FLAGS);
  const hot = argv.includes('--hot');
  const url = optionalStringSetting(e, 'BENCH_URL');
  const credentialsFile = optionalStringSetting(e, 'BENCH_CREDENTIALS');
  if (url !== undefined && credentialsFile === undefined)
    throw new Error('--url needs --credentials <demo-credentials.json> (the account owners)');
  const comparePgbench = argv.includes('--compare-pgbench');
  const databaseUrl = optionalStringSetting(e, 'DATABASE_URL');
  if (comparePgbench && databaseUrl === undefined)
    throw new Error('--compare-pgbench needs --database-url postgres://…');
  const dataServers = intSetting(e, 'BANK_DATA_SERVERS', 1, 1, DATA_SERVERS_MAX);
  if (dataServers > 1 && databaseUrl === undefined)
    throw new Error(`--data-servers ${dataServers} needs --database-url postgres://…: SQLite allows one data server`);
  if (dataServers > 1 && url !== undefined) throw new Error('--data-servers applies to a fresh cluster, not to --url');
  return Object.freeze({
    url,
    credentialsFile,
    accounts: hot ? HOT_ACCOUNTS : intSetting(e, 'BENCH_ACCOUNTS', 1000, 2, 100_000),
    clients: intSetting(e, 'BENCH_CLIENTS', 32, 1, 4096),
    seconds: intSetting(e, 'BENCH_SECONDS', 20, 1, 3600),
    warmupSeconds: intSetting(e, 'BENCH_WARMUP_SECONDS', 2, 0, 600),
    hot,
    businessCount: intSetting(e, 'BANK_BUSINESS_COUNT', 3, 1, 32),
    databaseUrl,
    dataServers,
    logLevel: oneOfSetting(e, 'BENCH_LOG_LEVEL', 'warn', LOG_LEVELS),
    owners: intSetting(e, 'BENCH_OWNERS', 8, 1, 1000),
    callTimeoutMs: intSetting(e, 'BENCH_CALL_TIMEOUT_MS', 30_000, 100, 600_000),
    keep: argv.includes('--keep'),
    direct: argv.includes('--direct'),
    comparePgbench,
    childEnv: Object.freeze(
      Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined)),
    ),
  });
}
