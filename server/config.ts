import { join, resolve } from 'node:path';
import { ADMIN_CREDENTIALS_ENV, ADMIN_CREDENTIALS_FLAG, adminCredentialsSetting } from '../common/admin-auth';
import {
  checkDescriptorBudget,
  ConnectionLimits,
  connectionLimitsSettings,
  SOAP_CONNECTION_DEFAULTS,
} from '../common/connection-limits';
import { LOG_LEVELS } from '../common/logger';
import { RING_ENTRIES_DEFAULT, RING_ENTRIES_MAX, TRACE_RING_ENV } from '../common/trace-ring';
import { Env, intSetting, oneOfSetting, optionalStringSetting, stringSetting, withFlags } from '../common/settings';
import { PG_SCHEMA_PATTERN } from './pg-schema-name';

/**
 * The data server's configuration, parsed once at start into a frozen object. Nothing else in
 * server/ reads process.env. Every limit of the data tier is declared here, with its bounds.
 */
export interface DataConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** `${dataDir}/bank.sqlite`, used unless databaseUrl is set. */
  readonly sqliteFilePath: string;
  /** postgres://… switches the store to PostgreSQL. */
  readonly databaseUrl: string | undefined;
  /** PostgreSQL schema holding the tables (created if missing); lets tests and tenants share a database. */
  readonly pgSchema: string;
  readonly pgPoolSize: number;
  /** PostgreSQL group commit (server/pg-batcher.ts): items per bank_batch call, at most. */
  readonly pgBatchItemsMax: number;
  /** bank_batch calls running at once, at most (each holds a pooled connection). */
  readonly pgBatchesInFlightMax: number;
  readonly credentialsFilePath: string;
  /** How often at most the credentials file is checked for a change (then re-read). */
  readonly credentialsReloadMs: number;
  /** Hash of the operator's admin token (common/admin-auth.ts); undefined = no admin. */
  readonly adminCredentialsFilePath: string | undefined;
  readonly leaseMsDefault: number;
  readonly leaseMsMin: number;
  readonly leaseMsMax: number;
  /** A Lock's waitMs above this is cut down to it (waiting less is always safe). */
  readonly lockWaitMsMax: number;
  readonly lockWaitersPerAccountMax: number;
  /**
   * Waiters re-try at least this often: another data server sharing the PostgreSQL database
   * may release a lock without this process hearing of it.
   */
  readonly lockPollMs: number;
  /** Write operations committed together in one SQLite transaction (group commit), at most. */
  readonly groupCommitItemsMax: number;
  /** SQLite writes waiting for a group commit, at most; past it SERVICE_UNAVAILABLE (retryable). */
  readonly groupCommitQueuedMax: number;
  readonly bodyBytesMax: number;
  /** Client connections (business servers'): bounds and deadlines, BANK_CONNECTIONS_MAX and friends. */
  readonly connections: ConnectionLimits;
  /** Recent operations kept for the console's traces (common/trace-ring.ts: bounded memory). */
  readonly traceRingEntries: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly logFilePath: string | undefined;
  /** The process's name in its log lines (`npm start` names a second data server data2, …). */
  readonly logName: string;
}

/** Fixed by data.wsdl (maxOccurs="16"), not configurable. */
export const ACCOUNTS_PER_LOCK_MAX = 16;
/** Postings per Update: the WSDL allows 16, the ledger rules accept 1 or 2. */
export const POSTINGS_PER_UPDATE_MAX = 16;
export const JOURNAL_LIMIT_MAX = 1000;
export const GROUP_COMMIT_QUEUED_MAX_DEFAULT = 10_000;
/** PostgreSQL group commit defaults (measured: server/README.md, Measured over PostgreSQL). */
export const PG_BATCH_DEFAULTS = Object.freeze({ itemsMax: 64, inFlightMax: 2 });
export const JOURNAL_LIMIT_DEFAULT = 100;

export const DATA_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  host: 'BANK_HOST',
  port: 'BANK_PORT',
  'data-dir': 'BANK_DATA_DIR',
  'database-url': 'DATABASE_URL',
  'pg-schema': 'BANK_PG_SCHEMA',
  credentials: 'BANK_BUSINESS_CREDENTIALS_FILE',
  [ADMIN_CREDENTIALS_FLAG]: ADMIN_CREDENTIALS_ENV,
  'log-level': 'BANK_LOG_LEVEL',
  'log-file': 'BANK_LOG_FILE',
});

/** Descriptors besides client connections and the PostgreSQL pool: files, slack. */
const DESCRIPTORS_RESERVED = 64;

const LOG_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

export function loadDataConfig(env: Env, argv: readonly string[]): DataConfig {
  const merged = withFlags(env, argv, DATA_FLAGS);
  const dataDir = resolve(stringSetting(merged, 'BANK_DATA_DIR', 'var'));
  const credentialsFilePath = optionalStringSetting(merged, 'BANK_BUSINESS_CREDENTIALS_FILE');
  if (credentialsFilePath === undefined) {
    throw new Error(
      'BANK_BUSINESS_CREDENTIALS_FILE (or --credentials) is required: the business servers allowed to call the data tier',
    );
  }
  const pgSchema = stringSetting(merged, 'BANK_PG_SCHEMA', 'public');
  if (!PG_SCHEMA_PATTERN.test(pgSchema))
    throw new Error(`BANK_PG_SCHEMA must match ${String(PG_SCHEMA_PATTERN)}, got ${JSON.stringify(pgSchema)}`);
  const logName = stringSetting(merged, 'BANK_LOG_NAME', 'data');
  if (!LOG_NAME_PATTERN.test(logName))
    throw new Error(`BANK_LOG_NAME must match ${String(LOG_NAME_PATTERN)}, got ${JSON.stringify(logName)}`);
  const leaseMsMin = intSetting(merged, 'BANK_LEASE_MS_MIN', 100, 10, 60_000);
  const leaseMsMax = intSetting(merged, 'BANK_LEASE_MS_MAX', 30_000, leaseMsMin, 600_000);
  const leaseMsDefault = intSetting(merged, 'BANK_LEASE_MS_DEFAULT', 1_000, leaseMsMin, leaseMsMax);
  const config: DataConfig = {
    host: stringSetting(merged, 'BANK_HOST', '127.0.0.1'),
    port: intSetting(merged, 'BANK_PORT', 8090, 0, 65_535),
    dataDir,
    sqliteFilePath: join(dataDir, 'bank.sqlite'),
    databaseUrl: optionalStringSetting(merged, 'DATABASE_URL'),
    pgSchema,
    pgPoolSize: intSetting(merged, 'BANK_PG_POOL_SIZE', 10, 1, 100),
    pgBatchItemsMax: intSetting(merged, 'BANK_PG_BATCH_ITEMS_MAX', PG_BATCH_DEFAULTS.itemsMax, 1, 1_000),
    pgBatchesInFlightMax: intSetting(merged, 'BANK_PG_BATCHES_IN_FLIGHT_MAX', PG_BATCH_DEFAULTS.inFlightMax, 1, 100),
    credentialsFilePath: resolve(credentialsFilePath),
    credentialsReloadMs: intSetting(merged, 'BANK_CREDENTIALS_RELOAD_MS', 2000, 100, 3_600_000),
    adminCredentialsFilePath: adminCredentialsSetting(merged),
    leaseMsDefault,
    leaseMsMin,
    leaseMsMax,
    lockWaitMsMax: intSetting(merged, 'BANK_LOCK_WAIT_MS_MAX', 2_000, 0, 60_000),
    lockWaitersPerAccountMax: intSetting(merged, 'BANK_LOCK_WAITERS_PER_ACCOUNT_MAX', 1_000, 1, 100_000),
    lockPollMs: intSetting(merged, 'BANK_LOCK_POLL_MS', 50, 5, 5_000),
    groupCommitItemsMax: intSetting(merged, 'BANK_GROUP_COMMIT_ITEMS_MAX', 512, 1, 10_000),
    groupCommitQueuedMax: intSetting(
      merged,
      'BANK_GROUP_COMMIT_QUEUED_MAX',
      GROUP_COMMIT_QUEUED_MAX_DEFAULT,
      1,
      1_000_000,
    ),
    bodyBytesMax: intSetting(merged, 'BANK_BODY_BYTES_MAX', 64 * 1024, 1024, 16 * 1024 * 1024),
    connections: connectionLimitsSettings(merged, 'BANK_', SOAP_CONNECTION_DEFAULTS),
    traceRingEntries: intSetting(merged, TRACE_RING_ENV, RING_ENTRIES_DEFAULT, 1, RING_ENTRIES_MAX),
    logLevel: oneOfSetting(merged, 'BANK_LOG_LEVEL', 'info', LOG_LEVELS),
    logFilePath: optionalStringSetting(merged, 'BANK_LOG_FILE'),
    logName,
  };
  // Besides client connections: the PostgreSQL pool (or the SQLite file and its WAL), files, slack.
  checkDescriptorBudget(config.connections, config.pgPoolSize + DESCRIPTORS_RESERVED, 'BANK_CONNECTIONS_MAX');
  return Object.freeze(config);
}
