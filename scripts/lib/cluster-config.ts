import { parsePlacement, PlacementMap } from './placement';
import { resolve } from 'node:path';
import { LOG_LEVELS } from '../../common/logger';
import { Env, intSetting, oneOfSetting, optionalStringSetting, stringSetting, withFlags } from '../../common/settings';

/**
 * Configuration of `npm start` (scripts/cluster.ts), parsed once. Tier settings that are not
 * listed here (limits, timeouts) pass through the environment to the children unchanged.
 */
export interface ClusterConfig {
  readonly host: string;
  readonly businessCount: number;
  /** Data servers (over one PostgreSQL; SQLite allows 1), named data, data2, … */
  readonly dataServers: number;
  /** One port per data server: consecutive from the data port; 0 = any free ports. */
  readonly dataPorts: readonly number[];
  /** One port per business server; 0 = any free port (kept on a restart). */
  readonly businessPorts: readonly number[];
  readonly balancerPort: number;
  /** The console (control plane); 0 = any free port. */
  readonly consolePort: number;
  /** Dev mode: the console may stop, pause and restart business servers (through us). */
  readonly devMode: boolean;
  readonly publicUrl: string | undefined;
  /** Fault-injection rules for every business server (business/fault-rules.ts); undefined: off. */
  readonly faultsFile: string | undefined;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** Restart a child that died unexpectedly (same port), at most restartsMax times per window. */
  readonly restart: boolean;
  readonly restartsMax: number;
  readonly restartWindowMs: number;
  readonly restartDelayMs: number;
  readonly readyTimeoutMs: number;
  /** SIGTERM, then SIGKILL after this. */
  readonly stopGraceMs: number;
  readonly demoClientIds: readonly string[];
  /** Opening balance of each demo account, decimal text. */
  readonly demoDeposit: string;
  /** Everything else the children inherit (PATH, tier limits, …). */
  readonly childEnv: Readonly<Record<string, string>>;
  /** Hosts mode of the chaos tool: each child in a network namespace of its own (scripts/lib/placement.ts). */
  readonly placement: PlacementMap;
}

export const BUSINESS_COUNT_MAX = 32;
export const DATA_SERVERS_MAX = 16;

export const CLUSTER_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  host: 'BANK_HOST',
  'business-count': 'BANK_BUSINESS_COUNT',
  'data-port': 'BANK_DATA_PORT',
  'data-servers': 'BANK_DATA_SERVERS',
  'business-ports': 'BANK_BUSINESS_PORTS',
  'balancer-port': 'BANK_BALANCER_PORT',
  'public-url': 'BANK_PUBLIC_URL',
  'data-dir': 'BANK_DATA_DIR',
  'database-url': 'DATABASE_URL',
  'log-level': 'BANK_LOG_LEVEL',
  restart: 'BANK_CLUSTER_RESTART',
  'console-port': 'BANK_CONSOLE_PORT',
  'dev-mode': 'BANK_DEV_MODE',
  'demo-clients': 'BANK_DEMO_CLIENTS',
  'demo-deposit': 'BANK_DEMO_DEPOSIT',
  faults: 'BANK_FAULTS_FILE',
});

/** Variables the launcher sets per child; a value inherited from our own env must not leak. */
const PER_CHILD = [
  'BANK_PORT',
  'BANK_BUSINESS_ID',
  'BANK_BUSINESS_TOKEN',
  'BANK_BUSINESS_URLS',
  'BANK_DATA_URL',
  'BANK_DATA_URLS',
  'BANK_BUSINESS_CREDENTIALS_FILE',
  'BANK_CLIENT_CREDENTIALS_FILE',
  'BANK_ADMIN_CREDENTIALS_FILE',
  'BANK_PUBLIC_URL',
  'BANK_CLUSTER_PLACEMENT',
  'BANK_FAULTS_FILE',
  'BANK_CONSOLE_PORT',
  'BANK_DEV_MODE',
  'BANK_CONSOLE_BALANCER_URL',
  'BANK_CONSOLE_BUSINESS_URLS',
  'BANK_CONSOLE_DATA_URLS',
  'BANK_ADMIN_TOKEN_FILE',
];

function portList(text: string, count: number): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 1 && parts[0] === '0') return Array.from({ length: count }, () => 0);
  if (parts.length !== count)
    throw new Error(`BANK_BUSINESS_PORTS must list ${count} ports (or be 0), got ${JSON.stringify(text)}`);
  return parts.map((p) => {
    const port = /^[0-9]{1,5}$/.test(p) ? Number(p) : -1;
    if (port < 0 || port > 65535) throw new Error(`BANK_BUSINESS_PORTS: not a port: ${JSON.stringify(p)}`);
    return port;
  });
}

/** Child names of the data servers: data, data2, data3, … (placement keys, cluster.json pids). */
export function dataServerName(i: number): string {
  return i === 0 ? 'data' : `data${i + 1}`;
}

function dataPortList(e: Env, databaseUrl: string | undefined): number[] {
  const count = intSetting(e, 'BANK_DATA_SERVERS', 1, 1, DATA_SERVERS_MAX);
  // Several data servers share their state through the database; an SQLite file has one owner.
  if (count > 1 && databaseUrl === undefined)
    throw new Error(
      `BANK_DATA_SERVERS=${count} needs DATABASE_URL (--database-url postgres://…): SQLite allows one data server`,
    );
  const first = intSetting(e, 'BANK_DATA_PORT', 8090, 0, 65535);
  if (first !== 0 && first + count - 1 > 65535)
    throw new Error(`BANK_DATA_PORT ${first} + ${count} data servers passes port 65535`);
  return Array.from({ length: count }, (_v, i) => (first === 0 ? 0 : first + i));
}

export function loadClusterConfig(env: Env, argv: readonly string[]): ClusterConfig {
  const e = withFlags(env, argv, CLUSTER_FLAGS);
  const databaseUrl = optionalStringSetting(e, 'DATABASE_URL');
  const dataPorts = dataPortList(e, databaseUrl);
  const businessCount = intSetting(e, 'BANK_BUSINESS_COUNT', 3, 1, BUSINESS_COUNT_MAX);
  const portsText = optionalStringSetting(e, 'BANK_BUSINESS_PORTS');
  const businessPorts =
    portsText === undefined
      ? Array.from({ length: businessCount }, (_v, i) => 8081 + i)
      : portList(portsText, businessCount);
  const demoClientIds = stringSetting(e, 'BANK_DEMO_CLIENTS', 'alice,bob')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (demoClientIds.length === 0) throw new Error('BANK_DEMO_CLIENTS must name at least one client');
  const demoDeposit = stringSetting(e, 'BANK_DEMO_DEPOSIT', '1000.00');
  if (!/^(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$/.test(demoDeposit))
    throw new Error(`BANK_DEMO_DEPOSIT must be a decimal amount, got ${demoDeposit}`);
  const faultsText = optionalStringSetting(e, 'BANK_FAULTS_FILE');
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !PER_CHILD.includes(k)) childEnv[k] = v;
  return Object.freeze({
    host: stringSetting(e, 'BANK_HOST', '127.0.0.1'),
    businessCount,
    dataServers: dataPorts.length,
    dataPorts: Object.freeze(dataPorts),
    businessPorts: Object.freeze(businessPorts),
    balancerPort: intSetting(e, 'BANK_BALANCER_PORT', 8080, 0, 65535),
    consolePort: intSetting(e, 'BANK_CONSOLE_PORT', 8070, 0, 65535),
    devMode: oneOfSetting(e, 'BANK_DEV_MODE', 'off', ['on', 'off'] as const) === 'on',
    publicUrl: optionalStringSetting(e, 'BANK_PUBLIC_URL'),
    faultsFile: faultsText === undefined ? undefined : resolve(faultsText),
    dataDir: resolve(stringSetting(e, 'BANK_DATA_DIR', 'var')),
    databaseUrl,
    logLevel: oneOfSetting(e, 'BANK_LOG_LEVEL', 'info', LOG_LEVELS),
    restart: oneOfSetting(e, 'BANK_CLUSTER_RESTART', 'on', ['on', 'off'] as const) === 'on',
    restartsMax: intSetting(e, 'BANK_CLUSTER_RESTARTS_MAX', 5, 0, 1000),
    restartWindowMs: 60_000,
    restartDelayMs: intSetting(e, 'BANK_CLUSTER_RESTART_DELAY_MS', 1000, 0, 60_000),
    readyTimeoutMs: intSetting(e, 'BANK_CLUSTER_READY_TIMEOUT_MS', 30_000, 1000, 600_000),
    stopGraceMs: intSetting(e, 'BANK_CLUSTER_STOP_GRACE_MS', 10_000, 100, 600_000),
    demoClientIds: Object.freeze(demoClientIds),
    demoDeposit,
    childEnv: Object.freeze(childEnv),
    placement: parsePlacement(optionalStringSetting(e, 'BANK_CLUSTER_PLACEMENT')),
  });
}
