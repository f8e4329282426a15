import { ChildProcessByStdio, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { DATA_NAMESPACE, SOAP11_ENVELOPE_NS, SOAP_CONTENT_TYPE, soapActionHeader } from '../common/contract';
import { hashToken, newToken } from '../common/credentials';
import { parseReadyLine } from '../common/ready';
import { dropSchema } from './pg-schema-name';
import { BENCH_SETTINGS } from './bench-settings';
import { itemAt } from '../common/defined';

/**
 * Quick throughput probe of the data tier alone: starts a data server (temp SQLite, or
 * DATABASE_URL), opens accounts, then `concurrency` clients each loop Lock(2 accounts) →
 * Update(transfer 0.01, release) for `seconds`. Prints pairs/s, latency percentiles and the
 * group-commit batch size from /health. A lean hand-built client keeps the generator cheap.
 *
 *   node dist/server/bench-data.js --seconds 5 --concurrency 64 --accounts 2000 [--group-commit-max 1]
 */
const CALL_TIMEOUT_MS = 10_000;

const {
  seconds: SECONDS,
  concurrency: CONCURRENCY,
  accounts: ACCOUNTS,
  groupCommitMax: GROUP_COMMIT_MAX,
  databaseUrl: DATABASE_URL,
} = BENCH_SETTINGS;

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY + 4 });
/** Over PostgreSQL, the run's own schema: empty at the start, dropped at the end. */
const SCHEMA = `bench_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'distbank-bench-'));
const token = newToken();
writeFileSync(
  join(dir, 'creds.json'),
  JSON.stringify({ principals: [{ id: 'bench', tokenSha256: hashToken(token) }] }),
);
// The same token as admin: /health shows the group-commit counters only to the admin.
writeFileSync(
  join(dir, 'admin.json'),
  JSON.stringify({ principals: [{ id: 'admin', tokenSha256: hashToken(token) }] }),
);
const ADMIN_HEADERS = { authorization: `Bearer ${token}` };

function envelope(op: string, inner: string): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:d="${DATA_NAMESPACE}">` +
    `<soap:Header><d:auth-token>${token}</d:auth-token><d:business-id>bench</d:business-id></soap:Header>` +
    `<soap:Body><d:${op}>${inner}</d:${op}></soap:Body></soap:Envelope>`
  );
}

function call(url: URL, op: string, inner: string): Promise<string> {
  const body = Buffer.from(envelope(op, inner));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        timeout: CALL_TIMEOUT_MS,
        headers: {
          'content-type': SOAP_CONTENT_TYPE,
          'content-length': body.length,
          soapaction: soapActionHeader(DATA_NAMESPACE, op),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function field(xml: string, name: string): string | undefined {
  return new RegExp(`<(?:\\w+:)?${name}>([^<]*)<`).exec(xml)?.[1];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function main(): Promise<void> {
  const child = startDataServer();
  try {
    const url = await readyUrl(child);
    const ids = await openAccounts(url);
    const health0 = await healthCounters(url);
    const run = await runPairs(url, ids);
    const health1 = await healthCounters(url);
    printResult(run, health0, health1);
  } finally {
    const exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
    // The schema goes once the data server has closed its connections.
    await exited;
    if (DATABASE_URL !== undefined) await dropSchema(DATABASE_URL, SCHEMA);
  }
}

/** The data server under test, at log level warn on a free port (a CPU profile when BENCH_PROFILE_DIR is set). */
function startDataServer(): ChildProcessByStdio<null, Readable, null> {
  return spawn(
    process.execPath,
    [
      ...(process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE_DIR] : []),
      join(__dirname, 'main.js'),
    ],
    {
      env: {
        PATH: process.env.PATH ?? '',
        BANK_PORT: '0',
        BANK_DATA_DIR: dir,
        BANK_BUSINESS_CREDENTIALS_FILE: join(dir, 'creds.json'),
        BANK_ADMIN_CREDENTIALS_FILE: join(dir, 'admin.json'),
        BANK_LOG_LEVEL: 'warn',
        BANK_GROUP_COMMIT_ITEMS_MAX: String(GROUP_COMMIT_MAX),
        ...(DATABASE_URL !== undefined ? { DATABASE_URL, BANK_PG_SCHEMA: SCHEMA } : {}),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
}

function readyUrl(child: ChildProcessByStdio<null, Readable, null>): Promise<URL> {
  return new Promise<URL>((resolve, reject) => {
    child.once('exit', () => reject(new Error('data server exited')));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const r = parseReadyLine(line);
      if (r) resolve(new URL(r.url));
    });
  });
}

/** ACCOUNTS accounts of 1000.00 each, 64 CreateAccounts at a time; their ids. */
async function openAccounts(url: URL): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < ACCOUNTS; i += 64) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(64, ACCOUNTS - i) }, (_, k) =>
        call(
          url,
          'CreateAccount',
          `<d:ownerId>o${i + k}</d:ownerId><d:transactionId>open-${i + k}</d:transactionId><d:initialBalance>1000.00</d:initialBalance>`,
        ),
      ),
    );
    for (const xml of batch) ids.push(field(xml, 'accountId') ?? '');
  }
  return ids;
}

/** The data server's /health as the admin: its store and group-commit counters. */
async function healthCounters(url: URL): Promise<Record<string, number>> {
  return (await (await fetch(new URL('/health', url), { headers: ADMIN_HEADERS })).json()) as Record<string, number>;
}

interface PairsRun {
  /** Of every pair whose Update succeeded, ascending. */
  readonly latenciesMs: number[];
  readonly faults: ReadonlyMap<string, number>;
  readonly elapsedS: number;
}

/** CONCURRENCY clients, each looping Lock(2 random accounts) → Update(0.01 across, release) for SECONDS. */
async function runPairs(url: URL, ids: readonly string[]): Promise<PairsRun> {
  const latenciesMs: number[] = [];
  const faults = new Map<string, number>();
  let seq = 0;
  const endAt = Date.now() + SECONDS * 1000;
  const startedAt = Date.now();
  const worker = async (): Promise<void> => {
    while (Date.now() < endAt) {
      const a = Math.floor(Math.random() * ids.length);
      let b = Math.floor(Math.random() * (ids.length - 1));
      if (b >= a) b += 1;
      const t0 = performance.now();
      const locked = await call(
        url,
        'Lock',
        `<d:accountId>${itemAt(ids, a)}</d:accountId><d:accountId>${itemAt(ids, b)}</d:accountId><d:waitMs>1000</d:waitMs>`,
      );
      const lockId = field(locked, 'lockId');
      if (lockId === undefined) {
        const code = field(locked, 'code') ?? 'NO_ANSWER';
        faults.set(code, (faults.get(code) ?? 0) + 1);
        continue;
      }
      seq += 1;
      const updated = await call(
        url,
        'Update',
        `<d:lockId>${lockId}</d:lockId><d:fencingToken>${field(locked, 'fencingToken') ?? ''}</d:fencingToken>` +
          `<d:transactionId>bench-${seq}</d:transactionId><d:posting><d:accountId>${itemAt(ids, a)}</d:accountId><d:amount>-0.01</d:amount></d:posting>` +
          `<d:posting><d:accountId>${itemAt(ids, b)}</d:accountId><d:amount>0.01</d:amount></d:posting><d:release>true</d:release>`,
      );
      const code = field(updated, 'code');
      if (code !== undefined) faults.set(code, (faults.get(code) ?? 0) + 1);
      else latenciesMs.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsedS = (Date.now() - startedAt) / 1000;
  latenciesMs.sort((x, y) => x - y);
  return { latenciesMs, faults, elapsedS };
}

/** One JSON line: pairs/s, latency percentiles, faults, and the group commits between the two /health reads. */
function printResult(run: PairsRun, health0: Record<string, number>, health1: Record<string, number>): void {
  const { latenciesMs, faults, elapsedS } = run;
  const batches = (health1.groupCommitBatches ?? 0) - (health0.groupCommitBatches ?? 0);
  const items = (health1.groupCommitItems ?? 0) - (health0.groupCommitItems ?? 0);
  process.stdout.write(
    JSON.stringify({
      store: health1.store,
      concurrency: CONCURRENCY,
      accounts: ACCOUNTS,
      seconds: elapsedS,
      groupCommitItemsMax: GROUP_COMMIT_MAX,
      pairs: latenciesMs.length,
      pairsPerSecond: Math.round(latenciesMs.length / elapsedS),
      p50Ms: Number(percentile(latenciesMs, 0.5).toFixed(2)),
      p99Ms: Number(percentile(latenciesMs, 0.99).toFixed(2)),
      faults: Object.fromEntries(faults),
      commitsPerSecond: Math.round(batches / elapsedS),
      itemsPerCommit: batches > 0 ? Number((items / batches).toFixed(1)) : undefined,
      storeBusyShare: Number(
        (((health1.groupCommitBusyMs ?? 0) - (health0.groupCommitBusyMs ?? 0)) / 1000 / elapsedS).toFixed(3),
      ),
    }) + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${String(error)}\n`);
  process.exit(1);
});
