import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken, newToken } from '../../common/credentials';
import { ifAssigned } from './if-assigned';
import { RunningProcess, startProcess } from './process';

/**
 * A real data server + business server(s) on port 0 over a fresh SQLite file in a temp dir,
 * with fresh credentials, for tests of the business tier. `stop()` kills every process it
 * started (by pid) and removes the temp dir.
 */
export interface TestClient {
  readonly clientId: string;
  readonly authToken: string;
}

export interface BankFixture {
  readonly dir: string;
  readonly clients: readonly TestClient[];
  readonly businessIds: readonly string[];
  readonly businessTokens: readonly string[];
  data: RunningProcess;
  readonly business: RunningProcess[];
  /** Start (or restart, on the same dir and port) the data server. */
  startData(port?: number): Promise<RunningProcess>;
  startBusiness(index: number, extraEnv?: Record<string, string>): Promise<RunningProcess>;
  stop(): Promise<void>;
}

export interface FixtureOptions {
  readonly clients?: number;
  readonly businessServers?: number;
  readonly businessEnv?: Record<string, string>;
  readonly logLevel?: string;
}

export async function startBankFixture(options: FixtureOptions = {}): Promise<BankFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'distbank-business-'));
  const clients = Array.from({ length: options.clients ?? 2 }, (_, i) => ({
    clientId: `client${i + 1}`,
    authToken: newToken(),
  }));
  const businessCount = options.businessServers ?? 1;
  const businessIds = Array.from({ length: Math.max(businessCount, 1) }, (_, i) => `b${i + 1}`);
  const businessTokens = businessIds.map(() => newToken());
  const businessCredentials = join(dir, 'business-credentials.json');
  const clientCredentials = join(dir, 'client-credentials.json');
  writeFileSync(
    businessCredentials,
    JSON.stringify({
      principals: businessIds.map((id, i) => ({ id, tokenSha256: hashToken(businessTokens[i]!) })),
    }),
  );
  writeFileSync(
    clientCredentials,
    JSON.stringify({
      principals: clients.map((c) => ({ id: c.clientId, tokenSha256: hashToken(c.authToken) })),
    }),
  );
  const logLevel = options.logLevel ?? 'warn';
  const business: RunningProcess[] = [];
  const started: RunningProcess[] = [];

  const fixture: BankFixture = {
    dir,
    clients,
    businessIds,
    businessTokens,
    data: undefined as unknown as RunningProcess,
    business,
    async startData(port = 0) {
      fixture.data = await startProcess('server/main.js', {
        BANK_PORT: String(port),
        BANK_DATA_DIR: join(dir, 'data'),
        BANK_BUSINESS_CREDENTIALS_FILE: businessCredentials,
        BANK_LOG_LEVEL: logLevel,
      });
      return fixture.data;
    },
    async startBusiness(index, extraEnv = {}) {
      const proc = await startProcess('business/main.js', {
        BANK_PORT: '0',
        BANK_BUSINESS_ID: businessIds[index]!,
        BANK_BUSINESS_TOKEN: businessTokens[index]!,
        BANK_DATA_URL: fixture.data.url,
        BANK_CLIENT_CREDENTIALS_FILE: clientCredentials,
        BANK_LOG_LEVEL: logLevel,
        ...(options.businessEnv ?? {}),
        ...extraEnv,
      });
      business[index] = proc;
      started.push(proc);
      return proc;
    },
    async stop() {
      // Every business server ever started, not just the current one per index: a test that
      // starts a replacement must not leave the one it replaced running after the suite.
      await Promise.all(started.map((p) => p.kill('SIGTERM')));
      // Set by startData(), which may have thrown before it did.
      await ifAssigned(fixture.data)?.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await fixture.startData();
    for (let i = 0; i < businessCount; i++) await fixture.startBusiness(i);
  } catch (error) {
    await fixture.stop();
    throw error;
  }
  return fixture;
}
