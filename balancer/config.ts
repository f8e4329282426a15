import { join } from 'node:path';
import { ADMIN_CREDENTIALS_ENV, ADMIN_CREDENTIALS_FLAG, adminCredentialsSetting } from '../common/admin-auth';
import { checkDescriptorBudget, ConnectionLimits, connectionLimitsSettings } from '../common/connection-limits';
import { amountMaxSetting } from '../common/amount-max';
import { LOG_LEVELS } from '../common/logger';
import type { Cents } from '../common/money';
import { RING_ENTRIES_DEFAULT, RING_ENTRIES_MAX, TRACE_RING_ENV } from '../common/trace-ring';
import { Env, intSetting, oneOfSetting, optionalStringSetting, stringSetting, withFlags } from '../common/settings';

/**
 * The balancer's configuration, parsed once at start from the environment and flags into a
 * frozen object. Nothing else in balancer/ reads process.env. Every limit lives here.
 */
export interface BalancerConfig {
  readonly host: string;
  /** 0 = any free port (tests); the ready line tells the real one. */
  readonly port: number;
  /** The URL callers should use, written into the WSDL's soap:address; undefined = http://host:port/bank. */
  readonly publicUrl: string | undefined;
  /** The business servers' /bank URLs. */
  readonly backendUrls: readonly string[];
  readonly wsdlPath: string;
  /** BANK_AMOUNT_MAX: stated in the served WSDL; set it as on the business servers (npm start does). */
  readonly amountCentsMax: Cents;
  /** Hash of the operator's admin token (common/admin-auth.ts); undefined = no admin. */
  readonly adminCredentialsFile: string | undefined;
  /** A request body larger than this (as sent, before any inflation) is refused with 413. */
  readonly bodyBytesMax: number;
  /**
   * A business server's answer is read whole before it is relayed; one larger than this (its
   * body as sent) is not relayed: the client gets INTERNAL_ERROR. Memory held at worst:
   * inFlightMax × this.
   */
  readonly responseBytesMax: number;
  /** Requests being served at once; past it, SERVICE_UNAVAILABLE at once. */
  readonly inFlightMax: number;
  /** Extra attempts on another backend after a connection failure or a timeout. */
  readonly retriesMax: number;
  /** One attempt gets this long for the backend's response headers. */
  readonly attemptTimeoutMs: number;
  /** All attempts of one request together end within this. */
  readonly requestDeadlineMs: number;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  /** Consecutive failed health checks that mark a backend down. */
  readonly healthFailuresMax: number;
  /** A backend that refused, reset or timed out a request is skipped this long. */
  readonly passiveDownMs: number;
  /** Keep-alive sockets to one backend; further requests wait for one (common/http-lite.ts). */
  readonly socketsPerBackendMax: number;
  /** Client side: connection bounds and the headers/body deadlines (BANK_LB_CLIENT_*). */
  readonly clientConnections: ConnectionLimits;
  /** Recent operations kept for the console's traces (common/trace-ring.ts: bounded memory). */
  readonly traceRingEntries: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly logFile: string | undefined;
}

export const DEFAULT_BACKEND_URLS = 'http://127.0.0.1:8081/bank,http://127.0.0.1:8082/bank,http://127.0.0.1:8083/bank';
export const BACKENDS_MAX = 64;
/**
 * The largest legal answer is a GetStatement at its 1,000 entries with every field at its
 * widest: 412,295 bytes (computed from bank.wsdl with the business servers' own writer,
 * test/balancer-proxy.test.ts). 1 MiB leaves room for that with a margin of 2.5.
 */
export const RESPONSE_BYTES_MAX_DEFAULT = 1024 * 1024;

export const BALANCER_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  host: 'BANK_HOST',
  port: 'BANK_PORT',
  'public-url': 'BANK_PUBLIC_URL',
  'amount-max': 'BANK_AMOUNT_MAX',
  'business-urls': 'BANK_BUSINESS_URLS',
  [ADMIN_CREDENTIALS_FLAG]: ADMIN_CREDENTIALS_ENV,
  'log-level': 'BANK_LOG_LEVEL',
  'log-file': 'BANK_LOG_FILE',
});

/**
 * Backends are reached over plain HTTP (a private network or a TLS sidecar); the public URL is
 * only written into the served WSDL, and is https:// when TLS is terminated in front of us.
 */
function parseHttpUrl(name: string, text: string, protocols: readonly string[] = ['http:']): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${name}: not a URL: ${JSON.stringify(text)}`);
  }
  if (!protocols.includes(url.protocol))
    throw new Error(
      `${name}: only ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URLs are supported, got ${text}`,
    );
  return url.toString();
}

export function parseBackendUrls(text: string): readonly string[] {
  const urls = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (urls.length === 0) throw new Error('BANK_BUSINESS_URLS must name at least one business server');
  if (urls.length > BACKENDS_MAX) throw new Error(`BANK_BUSINESS_URLS names more than ${BACKENDS_MAX} servers`);
  const parsed = urls.map((u) => parseHttpUrl('BANK_BUSINESS_URLS', u));
  if (new Set(parsed).size !== parsed.length) throw new Error('BANK_BUSINESS_URLS names a server twice');
  return Object.freeze(parsed);
}

export function loadBalancerConfig(env: Env, argv: readonly string[]): BalancerConfig {
  const e = withFlags(env, argv, BALANCER_FLAGS);
  const publicUrlText = optionalStringSetting(e, 'BANK_PUBLIC_URL');
  const attemptTimeoutMs = intSetting(e, 'BANK_LB_ATTEMPT_TIMEOUT_MS', 10_000, 100, 600_000);
  const requestDeadlineMs = intSetting(e, 'BANK_LB_DEADLINE_MS', 25_000, 100, 600_000);
  if (requestDeadlineMs < attemptTimeoutMs)
    throw new Error('BANK_LB_DEADLINE_MS must be at least BANK_LB_ATTEMPT_TIMEOUT_MS');
  const clientConnections = clientConnectionsSetting(e);
  const config: BalancerConfig = Object.freeze({
    host: stringSetting(e, 'BANK_HOST', '127.0.0.1'),
    port: intSetting(e, 'BANK_PORT', 8080, 0, 65535),
    publicUrl:
      publicUrlText === undefined ? undefined : parseHttpUrl('BANK_PUBLIC_URL', publicUrlText, ['http:', 'https:']),
    backendUrls: parseBackendUrls(stringSetting(e, 'BANK_BUSINESS_URLS', DEFAULT_BACKEND_URLS)),
    // dist/balancer/config.js -> <repo>/wsdl/bank.wsdl
    wsdlPath: stringSetting(e, 'BANK_WSDL_PATH', join(__dirname, '..', '..', 'wsdl', 'bank.wsdl')),
    adminCredentialsFile: adminCredentialsSetting(e),
    amountCentsMax: amountMaxSetting(e),
    bodyBytesMax: intSetting(e, 'BANK_LB_BODY_BYTES_MAX', 64 * 1024, 1024, 16 * 1024 * 1024),
    responseBytesMax: intSetting(e, 'BANK_LB_RESPONSE_BYTES_MAX', RESPONSE_BYTES_MAX_DEFAULT, 4096, 256 * 1024 * 1024),
    inFlightMax: intSetting(e, 'BANK_LB_IN_FLIGHT_MAX', 1024, 1, 100_000),
    retriesMax: intSetting(e, 'BANK_LB_RETRIES_MAX', 2, 0, 10),
    attemptTimeoutMs,
    requestDeadlineMs,
    healthIntervalMs: intSetting(e, 'BANK_LB_HEALTH_INTERVAL_MS', 1000, 50, 60_000),
    healthTimeoutMs: intSetting(e, 'BANK_LB_HEALTH_TIMEOUT_MS', 1000, 50, 60_000),
    healthFailuresMax: intSetting(e, 'BANK_LB_HEALTH_FAILURES_MAX', 2, 1, 100),
    passiveDownMs: intSetting(e, 'BANK_LB_PASSIVE_DOWN_MS', 2000, 0, 600_000),
    socketsPerBackendMax: intSetting(e, 'BANK_LB_BACKEND_SOCKETS_MAX', 128, 1, 10_000),
    clientConnections,
    traceRingEntries: intSetting(e, TRACE_RING_ENV, RING_ENTRIES_DEFAULT, 1, RING_ENTRIES_MAX),
    logLevel: oneOfSetting(e, 'BANK_LOG_LEVEL', 'info', LOG_LEVELS),
    logFile: optionalStringSetting(e, 'BANK_LOG_FILE'),
  });
  // Each backend: its keep-alive sockets and one health-check connection.
  checkDescriptorBudget(
    config.clientConnections,
    DESCRIPTORS_RESERVED + config.backendUrls.length * (config.socketsPerBackendMax + 1),
    'BANK_LB_CLIENT_CONNECTIONS_MAX',
  );
  return config;
}

/** What a public-facing proxy ships with; each connection costs a descriptor and up to bodyBytesMax. */
export const CLIENT_CONNECTION_DEFAULTS: ConnectionLimits = Object.freeze({
  connectionsMax: 4096,
  connectionsPerAddressMax: 256,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  keepAliveMs: 5_000,
});
/** Descriptors besides client connections: files, health checks, slack (backend sockets are added). */
const DESCRIPTORS_RESERVED = 64;

function clientConnectionsSetting(e: Env): ConnectionLimits {
  if (e['BANK_LB_CLIENT_REQUEST_TIMEOUT_MS'] !== undefined) {
    throw new Error(
      'BANK_LB_CLIENT_REQUEST_TIMEOUT_MS is gone: use BANK_LB_CLIENT_HEADERS_TIMEOUT_MS and BANK_LB_CLIENT_BODY_TIMEOUT_MS',
    );
  }
  return connectionLimitsSettings(e, 'BANK_LB_CLIENT_', CLIENT_CONNECTION_DEFAULTS);
}
