import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_PRINCIPAL_ID } from '../../common/admin-auth';
import { CredentialFile, CredentialStore, hashToken, newToken, PrincipalRecord } from '../../common/credentials';
import { defined } from '../../common/defined';

/**
 * The secrets of a local cluster, kept in its data directory:
 * - business-credentials.json: hashes of the business servers' tokens (read by the data
 *   server). Fresh tokens on every start: the plaintext lives only in each child's env.
 * - client-credentials.json: hashes of the demo clients' tokens (read by business servers).
 * - demo-credentials.json (mode 0600): the demo clients' plaintext tokens and accounts, so a
 *   new user can call the bank at once. Kept across starts.
 * - admin-credentials.json (mode 0600): `{"adminToken": "…"}`, the operator's bearer token for
 *   /health details, /metrics and the console; made on the first start, kept after.
 * - admin-hash.json: its hash, the file every server is given (common/admin-auth.ts).
 */
export const BUSINESS_CREDENTIALS_FILE = 'business-credentials.json';
export const CLIENT_CREDENTIALS_FILE = 'client-credentials.json';
export const DEMO_CREDENTIALS_FILE = 'demo-credentials.json';
export const ADMIN_CREDENTIALS_FILE = 'admin-credentials.json';
export const ADMIN_HASH_FILE = 'admin-hash.json';

export interface DemoClient {
  readonly clientId: string;
  readonly authToken: string;
  readonly accounts: readonly string[];
}

export interface DemoCredentials {
  readonly url: string;
  /** The ops console (control plane), for the holder of the admin token. */
  readonly consoleUrl?: string;
  readonly clients: readonly DemoClient[];
}

/** Write a file atomically (temp + rename) with the given mode. */
export function writeFileAtomic(path: string, text: string, mode: number): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode });
  chmodSync(temp, mode);
  renameSync(temp, path);
}

function credentialFileText(tokens: ReadonlyMap<string, string>): string {
  const file: CredentialFile = {
    principals: [...tokens].map(([id, token]) => ({ id, tokenSha256: hashToken(token) })),
  };
  return JSON.stringify(file, null, 2) + '\n';
}

/** Fresh tokens for these business ids; the hashes go to the file, the tokens are returned. */
export function writeBusinessCredentials(
  dataDir: string,
  businessIds: readonly string[],
): { file: string; tokens: ReadonlyMap<string, string> } {
  const tokens = new Map(businessIds.map((id) => [id, newToken()] as const));
  const file = join(dataDir, BUSINESS_CREDENTIALS_FILE);
  writeFileAtomic(file, credentialFileText(tokens), 0o600);
  return { file, tokens };
}

/** Fresh tokens for these clients, hashes written to a client credentials file. */
export function writeClientCredentials(file: string, tokens: ReadonlyMap<string, string>): void {
  writeFileAtomic(file, credentialFileText(tokens), 0o600);
}

export function readDemoCredentials(dataDir: string): DemoCredentials | undefined {
  const path = join(dataDir, DEMO_CREDENTIALS_FILE);
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { clients?: unknown; url?: unknown };
  if (!Array.isArray(parsed.clients) || typeof parsed.url !== 'string')
    throw new Error(`${path}: not a demo credentials file`);
  for (const c of parsed.clients as unknown[]) {
    const entry = c as { clientId?: unknown; authToken?: unknown; accounts?: unknown } | null;
    if (typeof entry?.clientId !== 'string' || typeof entry.authToken !== 'string' || !Array.isArray(entry.accounts)) {
      throw new Error(`${path}: a client entry lacks clientId, authToken or accounts`);
    }
  }
  return parsed as DemoCredentials;
}

export function writeDemoCredentials(dataDir: string, demo: DemoCredentials): string {
  const path = join(dataDir, DEMO_CREDENTIALS_FILE);
  writeFileAtomic(path, JSON.stringify(demo, null, 2) + '\n', 0o600);
  return path;
}

/** The principals of a credentials file (hashes), or undefined when there is no file. */
export function readPrincipals(path: string): PrincipalRecord[] | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { principals?: unknown };
  if (!Array.isArray(parsed.principals)) throw new Error(`${path}: expected {"principals": [...]}`);
  return [...(parsed.principals as PrincipalRecord[])];
}

/** Validated (ids, hashes, no repeats) and written atomically: servers re-read it on change. */
export function writePrincipals(path: string, principals: readonly PrincipalRecord[]): void {
  const file: CredentialFile = { principals };
  new CredentialStore(file);
  writeFileAtomic(path, JSON.stringify(file, null, 2) + '\n', 0o600);
}

/** The demo credentials disagree with the client credentials file: one line, with the fix. */
export class StaleDemoCredentialsError extends Error {}

function staleError(dataDir: string, clientId: string, why: string, fix: string): StaleDemoCredentialsError {
  return new StaleDemoCredentialsError(`${join(dataDir, DEMO_CREDENTIALS_FILE)} is stale: ${why}; fix: ${fix}`);
}

/**
 * The demo clients' tokens: kept from an existing demo-credentials.json when the client
 * credentials file still holds their hashes, fresh for any configured client it lacks. Other
 * clients in the file (added with `npm run admin`) are kept. The file is rewritten only when
 * something changed. A demo token that no longer matches the file (rotated by hand) is refused
 * with the fix, rather than failing later with AUTHENTICATION_FAILED.
 */
export function demoClientTokens(
  dataDir: string,
  clientIds: readonly string[],
): { file: string; tokens: ReadonlyMap<string, string>; previous: DemoCredentials | undefined } {
  const file = join(dataDir, CLIENT_CREDENTIALS_FILE);
  const existing = readPrincipals(file);
  const previous = existing === undefined ? undefined : readDemoCredentials(dataDir);
  const principals = [...(existing ?? [])];
  const tokens = new Map<string, string>();
  for (const id of clientIds) {
    const demoToken = previous?.clients.find((c) => c.clientId === id)?.authToken;
    const record = principals.find((p) => p.id === id);
    if (record !== undefined && demoToken === undefined) {
      throw staleError(
        dataDir,
        id,
        `client ${id} has a token in ${CLIENT_CREDENTIALS_FILE} that the demo file does not know`,
        `leave ${id} out of BANK_DEMO_CLIENTS, or remove it first (npm run admin -- client remove ${id})`,
      );
    }
    if (record !== undefined && record.tokenSha256 !== hashToken(defined(demoToken, `the demo token of ${id}`))) {
      throw staleError(
        dataDir,
        id,
        `${id}'s token there is not the one in ${CLIENT_CREDENTIALS_FILE} (rotated by hand?)`,
        `npm run admin -- client rotate ${id} (writes a new token to both files)`,
      );
    }
    const token = demoToken ?? newToken();
    tokens.set(id, token);
    if (record === undefined) principals.push({ id, tokenSha256: hashToken(token) });
  }
  if (existing === undefined || principals.length !== existing.length) writePrincipals(file, principals);
  return { file, tokens, previous };
}

/** The operator's admin token from admin-credentials.json, or undefined if there is none. */
export function readAdminToken(dataDir: string): string | undefined {
  const path = join(dataDir, ADMIN_CREDENTIALS_FILE);
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { adminToken?: unknown };
  if (typeof parsed.adminToken !== 'string' || parsed.adminToken === '')
    throw new Error(`${path}: expected {"adminToken": "…"}`);
  return parsed.adminToken;
}

/**
 * The admin token: kept from admin-credentials.json, else made fresh and written there (0600).
 * The hash file is (re)written only when it does not hold this token's hash, so a start never
 * rewrites a file the running servers read for no reason.
 */
export function ensureAdminCredentials(dataDir: string): { token: string; hashFile: string; created: boolean } {
  const existing = readAdminToken(dataDir);
  const token = existing ?? newToken();
  if (existing === undefined) {
    writeFileAtomic(
      join(dataDir, ADMIN_CREDENTIALS_FILE),
      JSON.stringify({ adminToken: token }, null, 2) + '\n',
      0o600,
    );
  }
  const hashFile = join(dataDir, ADMIN_HASH_FILE);
  let current = false;
  try {
    current = CredentialStore.fromFile(hashFile).verify(ADMIN_PRINCIPAL_ID, token);
  } catch {
    current = false;
  }
  if (!current) writeFileAtomic(hashFile, credentialFileText(new Map([[ADMIN_PRINCIPAL_ID, token]])), 0o600);
  return { token, hashFile, created: existing === undefined };
}
