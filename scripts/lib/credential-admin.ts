import { join } from 'node:path';
import { hashToken, newToken, PrincipalRecord } from '../../common/credentials';
import {
  BUSINESS_CREDENTIALS_FILE,
  CLIENT_CREDENTIALS_FILE,
  readDemoCredentials,
  readPrincipals,
  writeDemoCredentials,
  writePrincipals,
} from './cluster-credentials';

/**
 * What `npm run admin` does to the credentials of a cluster's data dir: each change is a new
 * random token whose hash replaces (or joins, or leaves) the hashed file, written atomically
 * (temp + rename); the servers re-read the file within their reload interval (2 s). A demo
 * client's plaintext token in demo-credentials.json is kept in step, so `npm start` keeps
 * working. Only the returned token is ever in plaintext: the caller prints it once.
 */
export class AdminCommandError extends Error {}

export interface ClientChange {
  readonly token?: string;
  /** The client is one of the demo clients (demo-credentials.json was updated too). */
  readonly demo: boolean;
}

function principalsOf(path: string): PrincipalRecord[] {
  const principals = readPrincipals(path);
  if (principals === undefined)
    throw new AdminCommandError(`${path} does not exist (is this the cluster's --data-dir?)`);
  return principals;
}

function replaceDemoToken(dataDir: string, clientId: string, token: string | undefined): boolean {
  const demo = readDemoCredentials(dataDir);
  if (demo === undefined || !demo.clients.some((c) => c.clientId === clientId)) return false;
  const clients =
    token === undefined
      ? demo.clients.filter((c) => c.clientId !== clientId)
      : demo.clients.map((c) => (c.clientId === clientId ? { ...c, authToken: token } : c));
  writeDemoCredentials(dataDir, { ...demo, clients });
  return true;
}

export function addClient(dataDir: string, clientId: string): ClientChange {
  const path = join(dataDir, CLIENT_CREDENTIALS_FILE);
  const principals = principalsOf(path);
  if (principals.some((p) => p.id === clientId))
    throw new AdminCommandError(`client ${clientId} exists already (client rotate ${clientId} gives it a new token)`);
  const token = newToken();
  writePrincipals(path, [...principals, { id: clientId, tokenSha256: hashToken(token) }]);
  return { token, demo: false };
}

/** New token for an existing principal of a hashed file; the old one stops working. */
function rotate(path: string, id: string, what: string): string {
  const principals = principalsOf(path);
  if (!principals.some((p) => p.id === id)) throw new AdminCommandError(`no ${what} ${id} in ${path}`);
  const token = newToken();
  writePrincipals(
    path,
    principals.map((p) => (p.id === id ? { id, tokenSha256: hashToken(token) } : p)),
  );
  return token;
}

export function rotateClient(dataDir: string, clientId: string): ClientChange {
  const token = rotate(join(dataDir, CLIENT_CREDENTIALS_FILE), clientId, 'client');
  return { token, demo: replaceDemoToken(dataDir, clientId, token) };
}

export function removeClient(dataDir: string, clientId: string): ClientChange {
  const path = join(dataDir, CLIENT_CREDENTIALS_FILE);
  const principals = principalsOf(path);
  if (!principals.some((p) => p.id === clientId)) throw new AdminCommandError(`no client ${clientId} in ${path}`);
  writePrincipals(
    path,
    principals.filter((p) => p.id !== clientId),
  );
  return { demo: replaceDemoToken(dataDir, clientId, undefined) };
}

export function rotateBusiness(dataDir: string, businessId: string): string {
  return rotate(join(dataDir, BUSINESS_CREDENTIALS_FILE), businessId, 'business server');
}
