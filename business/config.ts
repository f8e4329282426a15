import { join } from 'node:path';
import { ADMIN_CREDENTIALS_ENV, ADMIN_CREDENTIALS_FLAG, adminCredentialsSetting } from '../common/admin-auth';
import {
  checkDescriptorBudget,
  ConnectionLimits,
  connectionLimitsSettings,
  SOAP_CONNECTION_DEFAULTS,
} from '../common/connection-limits';
import { DATA_BATCH_CALLS_MAX, PRINCIPAL_ID_PATTERN } from '../common/contract';
import { LOG_LEVELS } from '../common/logger';
import { amountMaxSetting } from '../common/amount-max';
import type { Cents } from '../common/money';
import { RING_ENTRIES_DEFAULT, RING_ENTRIES_MAX, TRACE_RING_ENV } from '../common/trace-ring';
import { Env, intSetting, oneOfSetting, optionalStringSetting, stringSetting, withFlags } from '../common/settings';

/**
 * The business server's configuration, parsed once at start into a frozen object. Nothing else
 * in business/ reads process.env. Every queue, wait, retry and body has its limit here.
 */
export interface BusinessConfig {
  readonly host: string;
  readonly port: number;
  /** This server's identity towards the data tier (business-id header block). */
  readonly businessId: string;
  /** This server's secret towards the data tier; env only (a flag would show in `ps`). */
  readonly businessToken: string;
  /** The data servers' /data URLs (BANK_DATA_URLS, or the one BANK_DATA_URL): calls spread over them, fail over among them. */
  readonly dataUrls: readonly string[];
  /** With several data servers: how often each one's /health is checked, and that check's timeout. */
  readonly dataHealthIntervalMs: number;
  readonly dataHealthTimeoutMs: number;
  readonly clientCredentialsFile: string;
  /** Hash of the operator's admin token (common/admin-auth.ts); undefined = no admin. */
  readonly adminCredentialsFile: string | undefined;
  /** How often the data tier's acceptance of our credentials is checked (data-tier-check.ts). */
  readonly dataCheckIntervalMs: number;
  /** How often at most the client credentials file's mtime is checked for a reload. */
  readonly credentialsReloadMs: number;
  readonly amountCentsMax: Cents;
  /** Requests per account inside this process (running + waiting) before ACCOUNT_LOCKED. */
  readonly accountQueueLengthMax: number;
  /** How long a request may wait in this process's per-account queue before ACCOUNT_LOCKED. */
  readonly accountQueueWaitMs: number;
  /** Places one client may hold in one account's queue (and the places kept for the owner). */
  readonly accountQueuePerClientMax: number;
  /** Token bucket per client in this process: sustained requests per second … */
  readonly clientRatePerS: number;
  /** … and the most it may send at once after being idle. */
  readonly clientBurst: number;
  /** Clients whose buckets are kept (least recently used out). */
  readonly rateClientsMax: number;
  /** Accounts one client may own; enforced in the data tier's CreateAccount transaction. */
  readonly accountsPerClientMax: number;
  /** How long the data tier may queue our Lock behind other holders (Lock waitMs). */
  readonly lockWaitMs: number;
  /** Every client request is answered within this time (below the balancer's attempt timeout). */
  readonly requestDeadlineMs: number;
  /** Lease we ask for; undefined = the data tier's default. */
  readonly lockLeaseMs: number | undefined;
  /** Deadline of one data-tier call, connection included (must exceed lockWaitMs). */
  readonly dataCallTimeoutMs: number;
  /** Keep-alive sockets to each data server, at most. */
  readonly dataSocketsMax: number;
  readonly dataResponseBytesMax: number;
  /** Data-tier calls in flight (on sockets or waiting for one) before SERVICE_UNAVAILABLE. */
  readonly dataCallsInFlightMax: number;
  /** Lock / Update / Unlock calls of one moment to one data server sent as one Batch, at most (1: never batch). */
  readonly dataBatchCallsMax: number;
  /** Batches out to one data server at once (business/data-batcher.ts). */
  readonly dataBatchesInFlightMax: number;
  /** Extra Lock+Update rounds after LOCK_EXPIRED / STALE_FENCING_TOKEN / LOCK_NOT_HELD. */
  readonly updateRetriesMax: number;
  /** accountId → ownerId entries kept (owners never change, so entries never go stale). */
  readonly ownerCacheEntriesMax: number;
  readonly bodyBytesMax: number;
  /** Client connections (the balancer's, in a cluster): bounds and deadlines, BANK_CONNECTIONS_MAX and friends. */
  readonly connections: ConnectionLimits;
  /** How long a SIGTERM waits for requests in flight before closing anyway. */
  readonly shutdownDrainMs: number;
  /** Recent operations kept for the console's traces (common/trace-ring.ts: bounded memory). */
  readonly traceRingEntries: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly logFile: string | undefined;
  /** Fault-injection rules (business/fault-rules.ts); undefined: injection off. */
  readonly faultsFile: string | undefined;
  /** How often the rules file is checked for a change. */
  readonly faultsReloadMs: number;
}

export const BUSINESS_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  host: 'BANK_HOST',
  port: 'BANK_PORT',
  'business-id': 'BANK_BUSINESS_ID',
  'data-url': 'BANK_DATA_URL',
  'data-urls': 'BANK_DATA_URLS',
  'client-credentials-file': 'BANK_CLIENT_CREDENTIALS_FILE',
  [ADMIN_CREDENTIALS_FLAG]: ADMIN_CREDENTIALS_ENV,
  'data-dir': 'BANK_DATA_DIR',
  'amount-max': 'BANK_AMOUNT_MAX',
  'queue-length-max': 'BANK_ACCOUNT_QUEUE_LENGTH_MAX',
  'queue-wait-ms': 'BANK_ACCOUNT_QUEUE_WAIT_MS',
  'queue-per-client-max': 'BANK_ACCOUNT_QUEUE_PER_CLIENT_MAX',
  'client-rate-per-s': 'BANK_CLIENT_RATE_PER_S',
  'client-burst': 'BANK_CLIENT_BURST',
  'accounts-per-client-max': 'BANK_ACCOUNTS_PER_CLIENT_MAX',
  'lock-wait-ms': 'BANK_LOCK_WAIT_MS',
  'lock-lease-ms': 'BANK_LOCK_LEASE_MS',
  'data-timeout-ms': 'BANK_DATA_CALL_TIMEOUT_MS',
  'request-deadline-ms': 'BANK_REQUEST_DEADLINE_MS',
  'data-sockets-max': 'BANK_DATA_SOCKETS_MAX',
  'update-retries-max': 'BANK_UPDATE_RETRIES_MAX',
  'log-level': 'BANK_LOG_LEVEL',
  'log-file': 'BANK_LOG_FILE',
  faults: 'BANK_FAULTS_FILE',
});

/** Descriptors besides client connections and data-tier sockets: files, health checks, slack. */
const DESCRIPTORS_RESERVED = 64;

function urlSetting(env: Env, name: string, fallback: string): string {
  const text = stringSetting(env, name, fallback);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${name} must be a URL, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:') throw new Error(`${name} must be an http:// URL, got ${JSON.stringify(text)}`);
  return url.toString();
}

export const DATA_URLS_MAX = 16;
/** Batching of data-tier calls (business/data-batcher.ts; measured: business/README.md). */
export const DATA_BATCH_DEFAULTS = Object.freeze({ callsMax: 32, batchesInFlightMax: 2 });

/** BANK_DATA_URLS (comma-separated) or BANK_DATA_URL (one), not both. */
function dataUrlsSetting(env: Env): string[] {
  const list = optionalStringSetting(env, 'BANK_DATA_URLS');
  if (list === undefined) return [urlSetting(env, 'BANK_DATA_URL', 'http://127.0.0.1:8090/data')];
  if (optionalStringSetting(env, 'BANK_DATA_URL') !== undefined)
    throw new Error('set BANK_DATA_URLS or BANK_DATA_URL, not both');
  const urls = list
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '')
    .map((u) => urlSetting({ BANK_DATA_URLS: u }, 'BANK_DATA_URLS', u));
  if (urls.length === 0 || urls.length > DATA_URLS_MAX)
    throw new Error(`BANK_DATA_URLS must list 1..${DATA_URLS_MAX} URLs, got ${urls.length}`);
  if (new Set(urls).size !== urls.length) throw new Error('BANK_DATA_URLS lists a URL twice');
  return urls;
}

/** The waits, each bounded by the next: a lock wait < a data call < the request's deadline > a queue wait. */
function waitSettings(
  merged: Env,
): Pick<BusinessConfig, 'lockWaitMs' | 'dataCallTimeoutMs' | 'requestDeadlineMs' | 'accountQueueWaitMs'> {
  const lockWaitMs = intSetting(merged, 'BANK_LOCK_WAIT_MS', 1000, 0, 60_000);
  const dataCallTimeoutMs = intSetting(merged, 'BANK_DATA_CALL_TIMEOUT_MS', 5000, 100, 120_000);
  if (dataCallTimeoutMs <= lockWaitMs) {
    throw new Error(`BANK_DATA_CALL_TIMEOUT_MS (${dataCallTimeoutMs}) must exceed BANK_LOCK_WAIT_MS (${lockWaitMs})`);
  }
  const requestDeadlineMs = intSetting(merged, 'BANK_REQUEST_DEADLINE_MS', 8000, 100, 600_000);
  if (requestDeadlineMs <= lockWaitMs) {
    throw new Error(`BANK_REQUEST_DEADLINE_MS (${requestDeadlineMs}) must exceed BANK_LOCK_WAIT_MS (${lockWaitMs})`);
  }
  const accountQueueWaitMs = intSetting(merged, 'BANK_ACCOUNT_QUEUE_WAIT_MS', 2000, 1, 60_000);
  if (accountQueueWaitMs >= requestDeadlineMs) {
    throw new Error(
      `BANK_ACCOUNT_QUEUE_WAIT_MS (${accountQueueWaitMs}) must be below BANK_REQUEST_DEADLINE_MS (${requestDeadlineMs})`,
    );
  }
  return { lockWaitMs, dataCallTimeoutMs, requestDeadlineMs, accountQueueWaitMs };
}

/** Each account's queue, and one client's share of it (below the length: the owner's places are kept). */
function queueSettings(merged: Env): Pick<BusinessConfig, 'accountQueueLengthMax' | 'accountQueuePerClientMax'> {
  const accountQueueLengthMax = intSetting(merged, 'BANK_ACCOUNT_QUEUE_LENGTH_MAX', 64, 2, 100_000);
  const accountQueuePerClientMax = intSetting(merged, 'BANK_ACCOUNT_QUEUE_PER_CLIENT_MAX', 8, 1, 100_000);
  if (accountQueuePerClientMax >= accountQueueLengthMax) {
    throw new Error(
      `BANK_ACCOUNT_QUEUE_PER_CLIENT_MAX (${accountQueuePerClientMax}) must be below BANK_ACCOUNT_QUEUE_LENGTH_MAX (${accountQueueLengthMax}): the owner's places are kept out of the others' share`,
    );
  }
  return { accountQueueLengthMax, accountQueuePerClientMax };
}

/** Who this business server is towards the data tier: its id and its secret (required). */
function identitySettings(merged: Env): Pick<BusinessConfig, 'businessId' | 'businessToken'> {
  const businessId = stringSetting(merged, 'BANK_BUSINESS_ID', 'b1');
  if (!PRINCIPAL_ID_PATTERN.test(businessId))
    throw new Error(`BANK_BUSINESS_ID must match ${PRINCIPAL_ID_PATTERN.source}`);
  const businessToken = optionalStringSetting(merged, 'BANK_BUSINESS_TOKEN');
  if (businessToken === undefined) {
    throw new Error('BANK_BUSINESS_TOKEN is required: the secret of this business server towards the data tier');
  }
  return { businessId, businessToken };
}

/** How the data tier is called: sockets, answer size, calls and batches in flight, retries. */
function dataCallSettings(
  merged: Env,
): Pick<
  BusinessConfig,
  | 'dataSocketsMax'
  | 'dataResponseBytesMax'
  | 'dataCallsInFlightMax'
  | 'dataBatchCallsMax'
  | 'dataBatchesInFlightMax'
  | 'updateRetriesMax'
> {
  return {
    dataSocketsMax: intSetting(merged, 'BANK_DATA_SOCKETS_MAX', 64, 1, 4096),
    dataResponseBytesMax: intSetting(merged, 'BANK_DATA_RESPONSE_BYTES_MAX', 4 * 1024 * 1024, 4096, 256 * 1024 * 1024),
    dataCallsInFlightMax: intSetting(merged, 'BANK_DATA_CALLS_IN_FLIGHT_MAX', 1024, 1, 100_000),
    dataBatchCallsMax: intSetting(
      merged,
      'BANK_DATA_BATCH_CALLS_MAX',
      DATA_BATCH_DEFAULTS.callsMax,
      1,
      DATA_BATCH_CALLS_MAX,
    ),
    dataBatchesInFlightMax: intSetting(
      merged,
      'BANK_DATA_BATCHES_IN_FLIGHT_MAX',
      DATA_BATCH_DEFAULTS.batchesInFlightMax,
      1,
      4096,
    ),
    updateRetriesMax: intSetting(merged, 'BANK_UPDATE_RETRIES_MAX', 2, 0, 10),
  };
}

export function loadBusinessConfig(env: Env, argv: readonly string[]): BusinessConfig {
  const merged = withFlags(env, argv, BUSINESS_FLAGS);
  const identity = identitySettings(merged);
  const dataDir = stringSetting(merged, 'BANK_DATA_DIR', 'var');
  const { lockWaitMs, dataCallTimeoutMs, requestDeadlineMs, accountQueueWaitMs } = waitSettings(merged);
  const { accountQueueLengthMax, accountQueuePerClientMax } = queueSettings(merged);
  const leaseText = optionalStringSetting(merged, 'BANK_LOCK_LEASE_MS');
  const config: BusinessConfig = Object.freeze({
    host: stringSetting(merged, 'BANK_HOST', '127.0.0.1'),
    port: intSetting(merged, 'BANK_PORT', 8081, 0, 65_535),
    ...identity,
    dataUrls: Object.freeze(dataUrlsSetting(merged)),
    dataHealthIntervalMs: intSetting(merged, 'BANK_DATA_HEALTH_INTERVAL_MS', 250, 50, 60_000),
    dataHealthTimeoutMs: intSetting(merged, 'BANK_DATA_HEALTH_TIMEOUT_MS', 500, 50, 60_000),
    clientCredentialsFile: stringSetting(
      merged,
      'BANK_CLIENT_CREDENTIALS_FILE',
      join(dataDir, 'client-credentials.json'),
    ),
    adminCredentialsFile: adminCredentialsSetting(merged),
    dataCheckIntervalMs: intSetting(merged, 'BANK_DATA_CHECK_INTERVAL_MS', 10_000, 50, 3_600_000),
    credentialsReloadMs: intSetting(merged, 'BANK_CREDENTIALS_RELOAD_MS', 2000, 100, 3_600_000),
    amountCentsMax: amountMaxSetting(merged),
    accountQueueLengthMax,
    accountQueueWaitMs,
    accountQueuePerClientMax,
    clientRatePerS: intSetting(merged, 'BANK_CLIENT_RATE_PER_S', 50, 1, 1_000_000),
    clientBurst: intSetting(merged, 'BANK_CLIENT_BURST', 100, 1, 1_000_000),
    rateClientsMax: intSetting(merged, 'BANK_RATE_CLIENTS_MAX', 100_000, 1, 10_000_000),
    accountsPerClientMax: intSetting(merged, 'BANK_ACCOUNTS_PER_CLIENT_MAX', 100, 1, 1_000_000_000),
    lockWaitMs,
    requestDeadlineMs,
    lockLeaseMs: leaseText === undefined ? undefined : intSetting(merged, 'BANK_LOCK_LEASE_MS', 0, 100, 600_000),
    dataCallTimeoutMs,
    ...dataCallSettings(merged),
    ownerCacheEntriesMax: intSetting(merged, 'BANK_OWNER_CACHE_ENTRIES_MAX', 100_000, 1, 10_000_000),
    bodyBytesMax: intSetting(merged, 'BANK_BODY_BYTES_MAX', 64 * 1024, 1024, 16 * 1024 * 1024),
    connections: connectionLimitsSettings(merged, 'BANK_', SOAP_CONNECTION_DEFAULTS),
    shutdownDrainMs: intSetting(merged, 'BANK_SHUTDOWN_DRAIN_MS', 10_000, 0, 120_000),
    traceRingEntries: intSetting(merged, TRACE_RING_ENV, RING_ENTRIES_DEFAULT, 1, RING_ENTRIES_MAX),
    logLevel: oneOfSetting(merged, 'BANK_LOG_LEVEL', 'info', LOG_LEVELS),
    logFile: optionalStringSetting(merged, 'BANK_LOG_FILE'),
    faultsFile: optionalStringSetting(merged, 'BANK_FAULTS_FILE'),
    faultsReloadMs: intSetting(merged, 'BANK_FAULTS_RELOAD_MS', 1000, 50, 60_000),
  });
  // Besides client connections: the data-tier sockets, the credentials files, slack.
  checkDescriptorBudget(
    config.connections,
    config.dataSocketsMax * config.dataUrls.length + DESCRIPTORS_RESERVED,
    'BANK_CONNECTIONS_MAX',
  );
  return config;
}
