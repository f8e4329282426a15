/**
 * The `bank` CLI's connection settings, resolved once into a frozen object. Precedence:
 * command-line flags, then the environment (BANK_URL, BANK_CLIENT_ID, BANK_AUTH_TOKEN), then a
 * credentials file (`--credentials FILE [--as CLIENT]`, the file `npm start` writes, by default
 * var/demo-credentials.json under BANK_DATA_DIR or ./var when it exists and nothing else names
 * the client). This is the only CLI module that reads process.env.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const URL_DEFAULT = 'http://127.0.0.1:8080/bank';
export const DEMO_CREDENTIALS_FILE = 'demo-credentials.json';
/** A credentials file is small; anything bigger is not one. */
const CREDENTIALS_BYTES_MAX = 1024 * 1024;

export interface GlobalFlags {
  readonly url?: string;
  readonly clientId?: string;
  readonly token?: string;
  readonly credentials?: string;
  readonly as?: string;
  readonly timeoutMs?: number;
  readonly retries?: number;
}

export interface CliConfig {
  readonly url: string;
  readonly clientId: string;
  readonly authToken: string;
  readonly timeoutMs: number | undefined;
  readonly retries: number | undefined;
  /** Where the credentials came from, for error messages. */
  readonly source: string;
}

export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

interface DemoClient {
  readonly clientId: string;
  readonly authToken: string;
  readonly accounts?: readonly unknown[];
}
interface DemoCredentials {
  readonly url?: string;
  readonly clients: readonly DemoClient[];
}

function readCredentials(path: string): DemoCredentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(`cannot read credentials file ${path}: ${(error as Error).message}`);
  }
  if (text.length > CREDENTIALS_BYTES_MAX)
    throw new CliUsageError(`credentials file ${path} is larger than ${CREDENTIALS_BYTES_MAX} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliUsageError(`credentials file ${path} is not JSON: ${(error as Error).message}`);
  }
  const clients = (parsed as { clients?: unknown }).clients;
  if (
    !Array.isArray(clients) ||
    (clients as unknown[]).some((c) => {
      const entry = c as { clientId?: unknown; authToken?: unknown } | null;
      return typeof entry?.clientId !== 'string' || typeof entry.authToken !== 'string';
    })
  ) {
    throw new CliUsageError(`credentials file ${path} has no "clients": [{"clientId", "authToken"}, …]`);
  }
  const url = (parsed as { url?: unknown }).url;
  return { clients: clients as DemoClient[], ...(typeof url === 'string' ? { url } : {}) };
}

function pickClient(file: DemoCredentials, path: string, as: string | undefined): DemoClient {
  const client = as === undefined ? file.clients[0] : file.clients.find((c) => c.clientId === as);
  if (client === undefined) {
    const known = file.clients.map((c) => c.clientId).join(', ') || 'none';
    throw new CliUsageError(
      as === undefined ? `credentials file ${path} lists no clients` : `no client "${as}" in ${path} (known: ${known})`,
    );
  }
  return client;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Resolve flags over env over credentials file. `cwd` is where ./var is looked for.
 * A file named with --credentials (or a client named with --as) beats the environment; a file
 * found on its own (./var/demo-credentials.json) only fills in what nothing else gave.
 */
export function resolveCliConfig(
  flags: GlobalFlags,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): CliConfig {
  const flagId = nonEmpty(flags.clientId);
  const flagToken = nonEmpty(flags.token);
  const envId = nonEmpty(env['BANK_CLIENT_ID']);
  const envToken = nonEmpty(env['BANK_AUTH_TOKEN']);
  const as = nonEmpty(flags.as);
  const explicitPath = nonEmpty(flags.credentials);
  const explicit = explicitPath !== undefined || as !== undefined;

  const givenUrl = nonEmpty(flags.url) ?? nonEmpty(env['BANK_URL']);
  const gap = (flagId ?? envId) === undefined || (flagToken ?? envToken) === undefined || givenUrl === undefined;
  let path = explicitPath;
  if (path === undefined && (explicit || gap)) {
    const demo = join(nonEmpty(env['BANK_DATA_DIR']) ?? join(cwd, 'var'), DEMO_CREDENTIALS_FILE);
    if (existsSync(demo)) path = demo;
    else if (as !== undefined) throw new CliUsageError(`--as ${as} needs --credentials FILE (no ${demo})`);
  }

  let fromFile: DemoClient | undefined;
  let fileUrl: string | undefined;
  if (path !== undefined) {
    const file = readCredentials(path);
    fileUrl = file.url;
    const wanted = as ?? flagId ?? (explicit ? undefined : envId);
    fromFile = explicit
      ? pickClient(file, path, wanted)
      : wanted === undefined
        ? file.clients[0]
        : file.clients.find((c) => c.clientId === wanted);
  }

  const clientId = explicit ? (flagId ?? fromFile?.clientId) : (flagId ?? envId ?? fromFile?.clientId);
  const fileToken = fromFile !== undefined && fromFile.clientId === clientId ? fromFile.authToken : undefined;
  const authToken = explicit ? (flagToken ?? fileToken ?? envToken) : (flagToken ?? envToken ?? fileToken);
  if (clientId === undefined || authToken === undefined) {
    throw new CliUsageError(
      'no credentials: pass --client-id and --token, set BANK_CLIENT_ID and BANK_AUTH_TOKEN, or --credentials var/demo-credentials.json (written by `npm start`)',
    );
  }
  return Object.freeze({
    url: givenUrl ?? fileUrl ?? URL_DEFAULT,
    clientId,
    authToken,
    timeoutMs: flags.timeoutMs,
    retries: flags.retries,
    source: fileToken !== undefined && authToken === fileToken ? (path ?? 'credentials file') : 'flags/environment',
  });
}

export function loadCliConfig(flags: GlobalFlags): CliConfig {
  return resolveCliConfig(flags, process.env, process.cwd());
}
