import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken, newToken } from '../../common/credentials';
import { dropSchema } from '../../server/pg-schema-name';
import { testAdmin } from './admin';
import { BankRecord } from './bank-call';
import { callData, DataArgPair, DataCallResult, DataHeaders, recordsOf, textOf } from './data-call';
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

export function sqliteBackend(): DataBackend {
  const tempDir = mkdtempSync(join(tmpdir(), 'distbank-data-'));
  return {
    kind: 'sqlite',
    env: { BANK_DATA_DIR: tempDir },
    tempDir,
    cleanup: () => {
      rmSync(tempDir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

/** TEST_DATABASE_URL, or skip the suite (`ctx.skip()`) — except under CI, where it must be set. */
export function testDatabaseUrlOrSkip(ctx: Mocha.Context): string {
  const url = process.env.TEST_DATABASE_URL;
  if (url === undefined || url === '') {
    if (process.env.CI) throw new Error('TEST_DATABASE_URL is not set under CI: the PostgreSQL suite must run there');
    ctx.skip();
  }
  return url;
}

export function postgresBackend(databaseUrl: string): DataBackend {
  const tempDir = mkdtempSync(join(tmpdir(), 'distbank-data-pg-'));
  const schema = `t_${randomBytes(6).toString('hex')}`;
  return {
    kind: 'postgres',
    env: { BANK_DATA_DIR: tempDir, DATABASE_URL: databaseUrl, BANK_PG_SCHEMA: schema },
    tempDir,
    cleanup: async () => {
      await dropSchema(databaseUrl, schema);
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
  writeFileSync(
    filePath,
    JSON.stringify({
      principals: [b1, b2].map((p) => ({ id: p.businessId, tokenSha256: hashToken(p.authToken) })),
    }),
  );
  return { b1, b2, filePath };
}

export async function startDataServer(
  backend: DataBackend,
  credentials: BusinessCredentials,
  extraEnv: Readonly<Record<string, string>> = {},
): Promise<RunningProcess> {
  return startProcess('server/main.js', {
    ...backend.env,
    BANK_PORT: '0',
    BANK_BUSINESS_CREDENTIALS_FILE: credentials.filePath,
    BANK_LOG_LEVEL: 'warn',
    ...testAdmin(backend.tempDir).env,
    ...extraEnv,
  });
}

/** One running data server with its backend and credentials, plus shorthand calls. */
export class DataFixture {
  private counter = 0;
  private constructor(
    readonly backend: DataBackend,
    readonly credentials: BusinessCredentials,
    public proc: RunningProcess,
    private readonly extraEnv: Readonly<Record<string, string>>,
  ) {}

  static async start(backend: DataBackend, extraEnv: Readonly<Record<string, string>> = {}): Promise<DataFixture> {
    const credentials = writeBusinessCredentials(backend.tempDir);
    return new DataFixture(backend, credentials, await startDataServer(backend, credentials, extraEnv), extraEnv);
  }

  get url(): string {
    return this.proc.url;
  }

  /** The admin token the server knows the hash of (for /health details). */
  get adminToken(): string {
    return testAdmin(this.backend.tempDir).token;
  }

  /** Stop (SIGKILL = crash) and start again over the same store. */
  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc.kill(signal);
    this.proc = await startDataServer(this.backend, this.credentials, this.extraEnv);
  }

  async stop(): Promise<void> {
    await this.proc.kill('SIGTERM');
    await this.backend.cleanup();
  }

  uniqueId(prefix: string): string {
    this.counter += 1;
    return `${prefix}-${process.pid}-${this.counter}-${randomBytes(3).toString('hex')}`;
  }

  call(operation: string, args: readonly DataArgPair[], who: 'b1' | 'b2' = 'b1'): Promise<DataCallResult> {
    return callData(this.url, operation, args, this.credentials[who]);
  }

  /** Calls and expects success; a fault fails the test with the server's log tail. */
  async ok(operation: string, args: readonly DataArgPair[], who: 'b1' | 'b2' = 'b1'): Promise<BankRecord> {
    const r = await this.call(operation, args, who);
    if (r.body === undefined) {
      throw new Error(
        `${operation} failed: ${JSON.stringify(r.fault)}\n${this.proc.stderrTail().split('\n').slice(-5).join('\n')}`,
      );
    }
    return r.body;
  }

  async createAccount(balance: string, owner = 'alice'): Promise<string> {
    const body = await this.ok('CreateAccount', [
      ['ownerId', owner],
      ['transactionId', this.uniqueId('open')],
      ['initialBalance', balance],
    ]);
    return textOf(body.accountId);
  }

  async lock(
    accountIds: readonly string[],
    who: 'b1' | 'b2' = 'b1',
    options: { waitMs?: number; leaseMs?: number } = {},
  ): Promise<DataCallResult> {
    const args: DataArgPair[] = [['accountId', accountIds]];
    if (options.waitMs !== undefined) args.push(['waitMs', String(options.waitMs)]);
    if (options.leaseMs !== undefined) args.push(['leaseMs', String(options.leaseMs)]);
    return this.call('Lock', args, who);
  }

  update(
    lock: { lockId: string; fencingToken: string },
    transactionId: string,
    postings: ReadonlyArray<readonly [string, string]>,
    who: 'b1' | 'b2' = 'b1',
    release = false,
  ): Promise<DataCallResult> {
    return this.call(
      'Update',
      [
        ['lockId', lock.lockId],
        ['fencingToken', lock.fencingToken],
        ['transactionId', transactionId],
        [
          'posting',
          postings.map(([id, amount]): DataArgPair[] => [
            ['accountId', id],
            ['amount', amount],
          ]),
        ],
        ['release', release ? 'true' : 'false'],
      ],
      who,
    );
  }

  /** Balance and version of each account, by id. */
  async balances(
    accountIds: readonly string[],
  ): Promise<Map<string, { balance: string; version: string; locked: string }>> {
    const body = await this.ok('Read', [['accountId', accountIds]]);
    return new Map(
      recordsOf(body.account).map((a) => [
        textOf(a.accountId),
        {
          balance: textOf(a.balance),
          version: textOf(a.version),
          locked: textOf(a.locked),
        },
      ]),
    );
  }

  async journal(accountId: string, limit = 1000): Promise<BankRecord[]> {
    return recordsOf(
      (
        await this.ok('GetJournal', [
          ['accountId', accountId],
          ['limit', String(limit)],
        ])
      ).entry,
    );
  }
}

/** The lock fields of a Lock answer (throws with the fault when the lock was refused). */
export function lockOf(r: DataCallResult): { lockId: string; fencingToken: string } {
  if (r.body === undefined) throw new Error(`Lock refused: ${JSON.stringify(r.fault)}`);
  return { lockId: textOf(r.body.lockId), fencingToken: textOf(r.body.fencingToken) };
}

/**
 * Runs `body` once over SQLite and once over PostgreSQL. Without TEST_DATABASE_URL the PG half is
 * pending (skipped) — except under CI, where a missing database is a failure, not a skip.
 */
export function describeEachBackend(
  title: string,
  body: (fixture: () => DataFixture) => void,
  extraEnv: Readonly<Record<string, string>> = {},
): void {
  for (const kind of ['sqlite', 'postgres'] as const) {
    describe(`${title} [${kind}]`, function () {
      let fixture: DataFixture | undefined;
      before(async function () {
        let backend: DataBackend;
        if (kind === 'sqlite') {
          backend = sqliteBackend();
        } else {
          const url = process.env.TEST_DATABASE_URL;
          if (url === undefined || url === '') {
            if (process.env.CI)
              throw new Error('TEST_DATABASE_URL is not set under CI: the PostgreSQL suite must run there');
            process.stderr.write(`  (${title} [postgres] pending: set TEST_DATABASE_URL=postgres://… to run it)\n`);
            this.skip();
          }
          backend = postgresBackend(url);
        }
        fixture = await DataFixture.start(backend, extraEnv);
      });
      after(async () => {
        await fixture?.stop();
      });
      body(() => {
        if (fixture === undefined) throw new Error('fixture not started');
        return fixture;
      });
    });
  }
}
