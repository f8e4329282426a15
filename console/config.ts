import { join, resolve } from 'node:path';
import { ADMIN_CREDENTIALS_ENV, ADMIN_CREDENTIALS_FLAG, adminCredentialsSetting } from '../common/admin-auth';
import { LOG_LEVELS } from '../common/logger';
import { Env, intSetting, oneOfSetting, stringSetting, withFlags } from '../common/settings';
import { itemAt } from '../common/defined';

/**
 * The console's configuration, parsed once at start into a frozen object; nothing else in
 * console/ reads process.env. It names the processes to watch (their service URLs; /metrics
 * and /admin/* are found on the same origin), the operator's admin token (plaintext, to scrape
 * them; its hash, to check who calls the console), and every limit of the control plane.
 */
export type Tier = 'balancer' | 'business' | 'data';

export interface Target {
  readonly name: string;
  readonly tier: Tier;
  /** The service URL (…/bank, …/data); admin routes are on its origin. */
  readonly url: string;
}

export interface ConsoleConfig {
  readonly host: string;
  readonly port: number;
  readonly targets: readonly Target[];
  /** `{"adminToken": "…"}` (admin-credentials.json): the console scrapes the tiers with it. */
  readonly adminTokenFile: string;
  /** The token's hash file (common/admin-auth.ts): who may use the console and /admin. */
  readonly adminCredentialsFile: string | undefined;
  /** Stop / pause / restart of business servers through the launcher (only when it started us). */
  readonly devMode: boolean;
  readonly pollMs: number;
  readonly scrapeTimeoutMs: number;
  /** A trace asks every process once; an operator waits longer for it than a poll does. */
  readonly traceTimeoutMs: number;
  /** Points kept for the charts (pollMs apart). */
  readonly historyPoints: number;
  readonly sessionsMax: number;
  readonly sessionMs: number;
  readonly sseClientsMax: number;
  readonly bodyBytesMax: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
}

export const TARGETS_MAX = 66;

export const CONSOLE_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  host: 'BANK_HOST',
  port: 'BANK_CONSOLE_PORT',
  'balancer-url': 'BANK_CONSOLE_BALANCER_URL',
  'business-urls': 'BANK_CONSOLE_BUSINESS_URLS',
  'data-urls': 'BANK_CONSOLE_DATA_URLS',
  'admin-token-file': 'BANK_ADMIN_TOKEN_FILE',
  [ADMIN_CREDENTIALS_FLAG]: ADMIN_CREDENTIALS_ENV,
  'data-dir': 'BANK_DATA_DIR',
  'log-level': 'BANK_LOG_LEVEL',
});

function urlList(env: Env, name: string, fallback: string): string[] {
  return stringSetting(env, name, fallback)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((text) => {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new Error(`${name}: not a URL: ${JSON.stringify(text)}`);
      }
      if (url.protocol !== 'http:') throw new Error(`${name}: only http:// URLs, got ${text}`);
      return url.toString();
    });
}

export function loadConsoleConfig(env: Env, argv: readonly string[], launchedWithIpc: boolean): ConsoleConfig {
  const e = withFlags(env, argv, CONSOLE_FLAGS);
  const balancer = urlList(e, 'BANK_CONSOLE_BALANCER_URL', 'http://127.0.0.1:8080/bank');
  if (balancer.length !== 1) throw new Error('BANK_CONSOLE_BALANCER_URL names one balancer');
  const business = urlList(
    e,
    'BANK_CONSOLE_BUSINESS_URLS',
    'http://127.0.0.1:8081/bank,http://127.0.0.1:8082/bank,http://127.0.0.1:8083/bank',
  );
  const data = urlList(e, 'BANK_CONSOLE_DATA_URLS', 'http://127.0.0.1:8090/data');
  const targets: Target[] = [
    { name: 'balancer', tier: 'balancer', url: itemAt(balancer, 0) },
    ...business.map((url, i): Target => ({ name: `b${i + 1}`, tier: 'business', url })),
    ...data.map((url, i): Target => ({ name: i === 0 ? 'data' : `data${i + 1}`, tier: 'data', url })),
  ];
  if (targets.length > TARGETS_MAX) throw new Error(`at most ${TARGETS_MAX} processes can be watched`);
  const devMode = oneOfSetting(e, 'BANK_DEV_MODE', 'off', ['on', 'off'] as const) === 'on';
  if (devMode && !launchedWithIpc)
    throw new Error('BANK_DEV_MODE=on needs the launcher (npm start): it is what stops and restarts servers');
  const dataDir = resolve(stringSetting(e, 'BANK_DATA_DIR', 'var'));
  return Object.freeze({
    host: stringSetting(e, 'BANK_HOST', '127.0.0.1'),
    port: intSetting(e, 'BANK_CONSOLE_PORT', 8070, 0, 65535),
    targets: Object.freeze(targets),
    adminTokenFile: stringSetting(e, 'BANK_ADMIN_TOKEN_FILE', join(dataDir, 'admin-credentials.json')),
    adminCredentialsFile: adminCredentialsSetting(e),
    devMode,
    pollMs: intSetting(e, 'BANK_CONSOLE_POLL_MS', 1000, 100, 60_000),
    scrapeTimeoutMs: intSetting(e, 'BANK_CONSOLE_SCRAPE_TIMEOUT_MS', 800, 50, 60_000),
    traceTimeoutMs: intSetting(e, 'BANK_CONSOLE_TRACE_TIMEOUT_MS', 5000, 100, 60_000),
    historyPoints: intSetting(e, 'BANK_CONSOLE_HISTORY_POINTS', 300, 10, 10_000),
    sessionsMax: intSetting(e, 'BANK_CONSOLE_SESSIONS_MAX', 64, 1, 10_000),
    sessionMs: intSetting(e, 'BANK_CONSOLE_SESSION_MS', 12 * 3_600_000, 60_000, 30 * 86_400_000),
    sseClientsMax: intSetting(e, 'BANK_CONSOLE_SSE_CLIENTS_MAX', 32, 1, 1000),
    bodyBytesMax: intSetting(e, 'BANK_CONSOLE_BODY_BYTES_MAX', 64 * 1024, 1024, 1024 * 1024),
    logLevel: oneOfSetting(e, 'BANK_LOG_LEVEL', 'info', LOG_LEVELS),
  });
}
