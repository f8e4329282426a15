import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { hashToken, newToken } from '../../common/credentials';
import { DataHeaders } from './data-call';
import { RunningProcess, startProcess } from './process';

/**
 * Fixtures for data-tier tests: a store backend (a temp SQLite directory, or a fresh schema in
 * the PostgreSQL database named by TEST_DATABASE_URL), a credentials file with two business
 * servers, and the real data server process on port 0.
 */
export interface DataBackend {
  readonly kind: 'sqlite' | 'postgres';
  /** Env for the data server process. */
  readonly env: Readonly<Record<string, string>>;
  readonly tempDir: string;
  cleanup(): Promise<void>;
}

export async function sqliteBackend(): Promise<DataBackend> {
  const tempDir = mkdtempSync(join(tmpdir(), 'distbank-data-'));
  return {
    kind: 'sqlite',
    env: { BANK_DATA_DIR: tempDir },
    tempDir,
    cleanup: async () => rmSync(tempDir, { recursive: true, force: true }),
  };
}

export async function postgresBackend(databaseUrl: string): Promise<DataBackend> {
  const tempDir = mkdtempSync(join(tmpdir(), 'distbank-data-pg-'));
  const schema = `t_${randomBytes(6).toString('hex')}`;
  return {
    kind: 'postgres',
    env: { BANK_DATA_DIR: tempDir, DATABASE_URL: databaseUrl, BANK_PG_SCHEMA: schema },
    tempDir,
    cleanup: async () => {
      const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
      rmSync(tempDir, { recursive: true, force: true });
    },
  };
}

export interface BusinessCredentials {
  readonly b1: Required<Pick<DataHeaders, 'authToken' | 'businessId'>>;
  readonly b2: Required<Pick<DataHeaders, 'authToken' | 'businessId'>>;
  readonly filePath: string;
}

export function writeBusinessCredentials(dir: string): BusinessCredentials {
  const b1 = { businessId: 'b1', authToken: newToken() };
  const b2 = { businessId: 'b2', authToken: newToken() };
  const filePath = join(dir, 'business-credentials.json');
  writeFileSync(filePath, JSON.stringify({
    principals: [b1, b2].map((p) => ({ id: p.businessId, tokenSha256: hashToken(p.authToken) })),
  }));
  return { b1, b2, filePath };
}

export async function startDataServer(
  backend: DataBackend, credentials: BusinessCredentials, extraEnv: Readonly<Record<string, string>> = {},
): Promise<RunningProcess> {
  return startProcess('server/main.js', {
    ...backend.env,
    BANK_PORT: '0',
    BANK_BUSINESS_CREDENTIALS_FILE: credentials.filePath,
    BANK_LOG_LEVEL: 'warn',
    ...extraEnv,
  });
}
