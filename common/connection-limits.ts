import { readFileSync } from 'node:fs';
import { Env, intSetting } from './settings';

/**
 * The limits every network-facing server puts on its client connections (enforced by
 * common/connection-guard.ts), parsed once at start from `<prefix>CONNECTIONS_MAX`,
 * `<prefix>CONNECTIONS_PER_ADDRESS_MAX`, `<prefix>HEADERS_TIMEOUT_MS`, `<prefix>BODY_TIMEOUT_MS`
 * and `<prefix>KEEP_ALIVE_MS`.
 */
export interface ConnectionLimits {
  /** Open client connections at most; past it the longest-idle one is closed, else the new one refused. */
  readonly connectionsMax: number;
  /** The same, per remote address. */
  readonly connectionsPerAddressMax: number;
  /** From a connection's opening, or from its last response, to its next request's complete headers. */
  readonly headersTimeoutMs: number;
  /** From a request's complete headers to the last byte of its body. */
  readonly bodyTimeoutMs: number;
  /** A kept-alive connection that sends nothing is closed after this (at most headersTimeoutMs / 2). */
  readonly keepAliveMs: number;
}

/**
 * The SOAP edge's defaults (business and data servers, BANK_CONNECTIONS_MAX and friends). Their
 * peers are balancers and business servers, each with a bounded socket pool, so a few hundred
 * per address is plenty.
 */
export const SOAP_CONNECTION_DEFAULTS: ConnectionLimits = Object.freeze({
  connectionsMax: 1024,
  connectionsPerAddressMax: 512,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  // Above the 4 s after which common/http-lite.ts drops an idle socket (business → data,
  // balancer → business), so that client closes first.
  keepAliveMs: 5_000,
});

export function connectionLimitsSettings(env: Env, prefix: string, defaults: ConnectionLimits): ConnectionLimits {
  const connectionsMax = intSetting(env, `${prefix}CONNECTIONS_MAX`, defaults.connectionsMax, 1, 1_000_000);
  const headersTimeoutMs = intSetting(env, `${prefix}HEADERS_TIMEOUT_MS`, defaults.headersTimeoutMs, 100, 600_000);
  const keepAliveMsMax = Math.floor(headersTimeoutMs / 2);
  return Object.freeze({
    connectionsMax,
    connectionsPerAddressMax: intSetting(
      env,
      `${prefix}CONNECTIONS_PER_ADDRESS_MAX`,
      Math.min(defaults.connectionsPerAddressMax, connectionsMax),
      1,
      connectionsMax,
    ),
    headersTimeoutMs,
    bodyTimeoutMs: intSetting(env, `${prefix}BODY_TIMEOUT_MS`, defaults.bodyTimeoutMs, 100, 600_000),
    // The headers deadline counts from the last response too; a keep-alive of at most half of
    // it leaves any request that starts on a kept-alive connection at least half for its headers.
    keepAliveMs: intSetting(
      env,
      `${prefix}KEEP_ALIVE_MS`,
      Math.min(defaults.keepAliveMs, keepAliveMsMax),
      Math.min(100, keepAliveMsMax),
      keepAliveMsMax,
    ),
  });
}

/**
 * Refuses at start a connection bound the process could not honour: each connection is a
 * file descriptor, and running out of them (EMFILE) would refuse everyone instead of the
 * excess. `reservedDescriptors` covers what the process opens besides client connections
 * (sockets to the next tier, files). Linux only (/proc); elsewhere nothing is checked.
 */
export function checkDescriptorBudget(
  limits: ConnectionLimits,
  reservedDescriptors: number,
  settingName: string,
): void {
  const available = openFilesLimit();
  if (available === undefined) return;
  const needed = limits.connectionsMax + reservedDescriptors;
  if (needed > available) {
    throw new Error(
      `${settingName} (${limits.connectionsMax}) plus ${reservedDescriptors} other descriptors needs ${needed} ` +
        `open files, but this process may open ${available} (ulimit -n): raise the limit or lower ${settingName}`,
    );
  }
}

/** The soft RLIMIT_NOFILE of this process (node raises it to the hard limit at start). */
function openFilesLimit(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (match === null || match[1] === 'unlimited') return undefined;
  return Number(match[1]);
}
