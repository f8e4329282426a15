import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newToken } from '../../common/credentials';
import { writeBusinessCredentials, writeClientCredentials } from '../../scripts/lib/cluster-credentials';
import { testAdmin } from './admin';
import { asList, BankArgs, BankCallResult, BankRecord, callBank } from './bank-call';
import { RunningProcess, startProcess } from './process';

/**
 * A whole cluster of real processes for mocha tests: 1 data server (SQLite in a temp dir),
 * N business servers and the balancer, all on port 0. Started here process by process (not via
 * scripts/cluster.ts) so tests can kill one business server, or stop and restart the data
 * server on the same port. Clients get fresh tokens; tests open their own accounts.
 *
 *   const cluster = await startCluster({ businessCount: 3 });
 *   const alice = cluster.client('alice');   // { clientId, authToken }
 *   await cluster.killBusiness(1);           // SIGKILL b2
 *   await cluster.stop();
 */
export interface TestClient {
  readonly clientId: string;
  readonly authToken: string;
}

export interface ClusterOptions {
  readonly businessCount?: number;
  /**
   * Data servers (default 1). More than one only makes sense over a shared PostgreSQL
   * (dataEnv.DATABASE_URL): business server i talks to data server i % dataServers
   * ('split', default), or every business server is given every data server's URL in
   * BANK_DATA_URLS and fails over among them ('all').
   */
  readonly dataServers?: number;
  readonly businessDataUrls?: 'split' | 'all';
  /** Default: a fresh temp dir, removed by stop(). */
  readonly dataDir?: string;
  /** Client ids with credentials; default alice, bob, carol. */
  readonly clients?: readonly string[];
  /** Env for every process (e.g. BANK_LOG_LEVEL). */
  readonly env?: Readonly<Record<string, string>>;
  readonly dataEnv?: Readonly<Record<string, string>>;
  readonly businessEnv?: Readonly<Record<string, string>>;
  readonly balancerEnv?: Readonly<Record<string, string>>;
}

export interface TestCluster {
  readonly balancerUrl: string;
  /** The first data server's URL (the one stopData/startData act on). */
  readonly dataUrl: string;
  readonly dataUrls: readonly string[];
  readonly businessUrls: readonly string[];
  readonly dataDir: string;
  /** The operator's token (`Authorization: Bearer …`) for /health details; every process knows its hash. */
  readonly adminToken: string;
  /** Every client with its credentials, in the order of options.clients. */
  readonly credentials: readonly TestClient[];
  client(id: string): TestClient;
  /** A business server's token towards the data tier (for tests that act as one). */
  businessToken(id: string): string;
  pids(): { data: number | undefined; business: readonly (number | undefined)[]; balancer: number };
  /** Kill business server i (0-based), SIGKILL by default, and wait for its exit. */
  killBusiness(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Kill data server i (0-based), SIGKILL by default, and wait for its exit. */
  killData(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Stop the data server (SIGTERM by default, or SIGKILL). */
  stopData(signal?: NodeJS.Signals): Promise<void>;
  /** Start the data server again, on the same port and data dir. */
  startData(): Promise<void>;
  /** The last stderr lines of every process, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;

/**
 * Business-server env for tests whose single client sends far more than a fair share, back to
 * back and without retrying (a stream measured for something else): the per-client rate limit
 * (business/README.md, tested in test/fairness*.test.ts) lifted so it cannot decide them.
 */
export const CLIENT_RATE_LIFTED: Readonly<Record<string, string>> = Object.freeze({
  BANK_CLIENT_RATE_PER_S: '1000000',
  BANK_CLIENT_BURST: '1000000',
});

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const businessCount = options.businessCount ?? 3;
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'distbank-cluster-'));
  const businessIds = Array.from({ length: businessCount }, (_v, i) => `b${i + 1}`);
  const business = writeBusinessCredentials(dataDir, businessIds);
  const clientIds = options.clients ?? ['alice', 'bob', 'carol'];
  const clientTokens = new Map(clientIds.map((id) => [id, newToken()] as const));
  const clientFile = join(dataDir, 'client-credentials.json');
  writeClientCredentials(clientFile, clientTokens);
  const admin = testAdmin(dataDir);
  const common = {
    BANK_LOG_LEVEL: 'warn',
    BANK_HOST: '127.0.0.1',
    BANK_DATA_DIR: dataDir,
    ...admin.env,
    ...options.env,
  };

  const started: RunningProcess[] = [];
  const dataEnv = { ...common, BANK_PORT: '0', BANK_BUSINESS_CREDENTIALS_FILE: business.file, ...options.dataEnv };
  let data: RunningProcess | undefined;
  const moreData: RunningProcess[] = [];
  const businessProcs: (RunningProcess | undefined)[] = [];
  let balancer: RunningProcess;
  try {
    data = await startProcess('server/main.js', dataEnv, READY_TIMEOUT_MS);
    started.push(data);
    for (let i = 1; i < (options.dataServers ?? 1); i++) {
      const extra = await startProcess('server/main.js', dataEnv, READY_TIMEOUT_MS);
      started.push(extra);
      moreData.push(extra);
    }
    const dataUrls = [data.url, ...moreData.map((p) => p.url)];
    const settled = await Promise.allSettled(
      businessIds.map((id, i) =>
        startProcess(
          'business/main.js',
          {
            ...common,
            BANK_PORT: '0',
            BANK_BUSINESS_ID: id,
            BANK_BUSINESS_TOKEN: business.tokens.get(id)!,
            ...(options.businessDataUrls === 'all'
              ? { BANK_DATA_URLS: dataUrls.join(',') }
              : { BANK_DATA_URL: dataUrls[i % dataUrls.length]! }),
            BANK_CLIENT_CREDENTIALS_FILE: clientFile,
            ...options.businessEnv,
          },
          READY_TIMEOUT_MS,
        ),
      ),
    );
    // Keep every one that started, so a failure of another does not leave it orphaned.
    for (const r of settled) if (r.status === 'fulfilled') started.push(r.value);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const procs = settled.map((r) => (r as PromiseFulfilledResult<RunningProcess>).value);
    businessProcs.push(...procs);
    balancer = await startProcess(
      'balancer/main.js',
      {
        ...common,
        BANK_PORT: '0',
        BANK_BUSINESS_URLS: procs.map((p) => p.url).join(','),
        ...options.balancerEnv,
      },
      READY_TIMEOUT_MS,
    );
    started.push(balancer);
  } catch (err) {
    await Promise.all(started.map((p) => p.kill('SIGKILL')));
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const dataUrl = data.url;
  const dataPort = new URL(dataUrl).port;

  return {
    balancerUrl: balancer.url,
    dataUrl,
    dataUrls: [dataUrl, ...moreData.map((p) => p.url)],
    businessUrls: businessProcs.map((p) => p!.url),
    dataDir,
    adminToken: admin.token,
    credentials: clientIds.map((id) => ({ clientId: id, authToken: clientTokens.get(id)! })),
    businessToken(id: string): string {
      const token = business.tokens.get(id);
      if (token === undefined) throw new Error(`no business server ${id}`);
      return token;
    },
    client(id: string): TestClient {
      const authToken = clientTokens.get(id);
      if (authToken === undefined) throw new Error(`no test client ${id}`);
      return { clientId: id, authToken };
    },
    pids: () => ({ data: data?.pid, business: businessProcs.map((p) => p?.pid), balancer: balancer.pid }),
    async killBusiness(i: number, signal: NodeJS.Signals = 'SIGKILL') {
      const p = businessProcs[i];
      if (p === undefined) throw new Error(`no running business server ${i}`);
      await p.kill(signal);
    },
    async killData(i: number, signal: NodeJS.Signals = 'SIGKILL') {
      const p = i === 0 ? data : moreData[i - 1];
      if (p === undefined) throw new Error(`no data server ${i}`);
      await p.kill(signal);
    },
    async stopData(signal: NodeJS.Signals = 'SIGTERM') {
      await data?.kill(signal);
    },
    async startData() {
      data = await startProcess('server/main.js', { ...dataEnv, BANK_PORT: dataPort }, READY_TIMEOUT_MS);
    },
    logs(): string {
      const names = ['data', ...moreData.map((_p, i) => `data${i + 2}`), ...businessIds, 'balancer'];
      const all = [data, ...moreData, ...businessProcs, balancer];
      return all.map((p, i) => `--- ${names[i]!} ---\n${p?.stderrTail() ?? '(not running)'}`).join('\n');
    },
    async stop() {
      // Front to back, as in production.
      await balancer.kill('SIGTERM');
      await Promise.all(businessProcs.map((p) => p?.kill('SIGTERM') ?? Promise.resolve()));
      await Promise.all([data, ...moreData].map((p) => p?.kill('SIGTERM') ?? Promise.resolve()));
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ---- bank calls for cluster tests -------------------------------------------------------------

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attemptsMax: number;
  readonly pauseMs: number;
  /** One attempt's bound. */
  readonly timeoutMs: number;
}

export const PATIENT: RetryPolicy = { attemptsMax: 40, pauseMs: 100, timeoutMs: 15_000 };

export interface RetriedResult {
  readonly result: BankCallResult;
  /** Attempts that ended in a network error or a retryable fault before this answer. */
  readonly retries: number;
}

/**
 * A careful client: it sends the same request-id again after a network error or a retryable
 * fault (SERVICE_UNAVAILABLE, ACCOUNT_LOCKED, RATE_LIMITED after its retryAfterMs), at most
 * attemptsMax times. Resolves with the first final answer; rejects if none came.
 */
export async function callWithRetry(
  url: string,
  operation: string,
  args: BankArgs,
  client: TestClient,
  requestId: string | undefined,
  policy: RetryPolicy = PATIENT,
): Promise<RetriedResult> {
  let last = '';
  for (let attempt = 0; attempt < policy.attemptsMax; attempt++) {
    let pauseMs = policy.pauseMs;
    try {
      const headers = requestId === undefined ? { ...client } : { ...client, requestId };
      const result = await callBank(url, operation, args, headers, { timeoutMs: policy.timeoutMs });
      if (result.fault === undefined || !result.fault.retryable) return { result, retries: attempt };
      last = result.fault.code;
      pauseMs = Math.max(pauseMs, result.fault.retryAfterMs ?? 0); // RATE_LIMITED says how long
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(
    `${operation} ${requestId ?? ''}: no final answer after ${policy.attemptsMax} attempts; last: ${last}`,
  );
}

function text(record: BankRecord | undefined, name: string): string {
  const value = record?.[name];
  if (typeof value !== 'string') throw new Error(`expected text element ${name} in ${JSON.stringify(record)}`);
  return value;
}

export function expectBody(r: BankCallResult): BankRecord {
  if (r.body === undefined)
    throw new Error(
      `expected a success, got HTTP ${r.httpStatus}: ${r.fault?.code ?? ''} ${r.fault?.message ?? r.raw.slice(0, 400)}`,
    );
  return r.body;
}

export function field(r: BankCallResult, name: string): string {
  return text(expectBody(r), name);
}

export async function openAccount(url: string, client: TestClient, initialDeposit: string): Promise<string> {
  const { result } = await callWithRetry(
    url,
    'OpenAccount',
    [['initialDeposit', initialDeposit]],
    client,
    `open-${newToken().slice(0, 20)}`,
  );
  return field(result, 'accountId');
}

export async function balanceOf(url: string, client: TestClient, accountId: string): Promise<string> {
  const { result } = await callWithRetry(url, 'GetBalance', [['accountId', accountId]], client, undefined);
  return field(result, 'balance');
}

export interface Entry {
  readonly transactionId: string;
  readonly kind: string;
  readonly amount: string;
  readonly balanceAfter: string;
  readonly counterpartyAccountId?: string;
}

export async function statementOf(
  url: string,
  client: TestClient,
  accountId: string,
  limit = 1000,
): Promise<{ balance: string; entries: Entry[] }> {
  const { result } = await callWithRetry(
    url,
    'GetStatement',
    [
      ['accountId', accountId],
      ['limit', String(limit)],
    ],
    client,
    undefined,
  );
  const body = expectBody(result);
  const entries = asList(body['entry']).map((e) => {
    const r = e as BankRecord;
    const cp = r['counterpartyAccountId'];
    const base = {
      transactionId: text(r, 'transactionId'),
      kind: text(r, 'kind'),
      amount: text(r, 'amount'),
      balanceAfter: text(r, 'balanceAfter'),
    };
    return typeof cp === 'string' ? { ...base, counterpartyAccountId: cp } : base;
  });
  return { balance: text(body, 'balance'), entries };
}

/** Decimal text ("-12.30") to integer cents, for test arithmetic (never a float). */
export function cents(decimal: string): number {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(decimal);
  if (m === null) throw new Error(`not a decimal: ${decimal}`);
  const value = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] === '-' ? -value : value;
}
