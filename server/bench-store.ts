import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asCents } from '../common/money';
import { BENCH_SETTINGS } from './bench-settings';
import { dropSchema } from './pg-schema-name';
import { classifyPostings } from './lock-rules';
import { PostgresStore } from './postgres-store';
import { SqliteStore } from './sqlite-store';
import { Store } from './store';
import { itemAt } from '../common/defined';

/**
 * The store alone, in process (no SOAP, no HTTP): `concurrency` loops of lock(2 accounts) →
 * update(transfer, release) for `seconds`. Shows what the ledger itself sustains, so a bench of
 * the whole data server (bench-data.ts) can tell store cost from SOAP cost.
 *
 *   node dist/server/bench-store.js --seconds 5 --concurrency 64 [--group-commit-max 1] [--database-url postgres://…]
 */
const {
  seconds: SECONDS,
  concurrency: CONCURRENCY,
  accounts: ACCOUNTS,
  groupCommitMax: GROUP_COMMIT_MAX,
  databaseUrl: DATABASE_URL,
  pgBatchItemsMax: PG_BATCH_ITEMS_MAX,
  pgBatchesInFlightMax: PG_BATCHES_IN_FLIGHT_MAX,
} = BENCH_SETTINGS;

/** The store under test: a PostgreSQL schema of its own, or SQLite in `dir`. */
async function openStore(dir: string, schema: string): Promise<Store> {
  if (DATABASE_URL === undefined) return new SqliteStore(join(dir, 'bank.sqlite'), GROUP_COMMIT_MAX);
  return PostgresStore.open(DATABASE_URL, schema, {
    poolSize: 10,
    batch: { itemsMax: PG_BATCH_ITEMS_MAX, inFlightMax: PG_BATCHES_IN_FLIGHT_MAX, queuedMax: 10_000 },
  });
}

/** ACCOUNTS accounts of 1,000.00 each, one after another; their ids. */
async function openAccounts(store: Store): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const created = await store.createAccount({
      ownerId: `o${i}`,
      transactionId: `open-${i}`,
      initialBalanceCents: asCents(100_000),
    });
    ids.push(created.accountId);
  }
  return ids;
}

/** CONCURRENCY loops of lock(2 random accounts) → update(0.01 across, release) until SECONDS passed. */
async function runPairs(store: Store, ids: readonly number[]): Promise<{ pairs: number; blocked: number }> {
  let pairs = 0;
  let blocked = 0;
  let seq = 0;
  const endAt = Date.now() + SECONDS * 1000;
  const worker = async (): Promise<void> => {
    while (Date.now() < endAt) {
      const a = itemAt(ids, Math.floor(Math.random() * ids.length));
      const b = itemAt(ids, Math.floor(Math.random() * ids.length));
      if (a === b) continue;
      const locked = await store.lock({
        holder: 'bench',
        accountIds: a < b ? [a, b] : [b, a],
        lockId: randomBytes(16).toString('base64url'),
        leaseMs: 5000,
        willWait: false,
      });
      if (locked.kind !== 'granted') {
        blocked += 1;
        continue;
      }
      seq += 1;
      await store.update({
        holder: 'bench',
        lockId: locked.lock.lockId,
        fencingToken: locked.lock.fencingToken,
        transactionId: `t${seq}`,
        release: true,
        postings: classifyPostings([
          { accountId: a, amountCents: asCents(-1) },
          { accountId: b, amountCents: asCents(1) },
        ]),
      });
      pairs += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { pairs, blocked };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'distbank-bench-store-'));
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const store = await openStore(dir, schema);
  try {
    const ids = await openAccounts(store);
    const startedAt = Date.now();
    const cpuBefore = process.cpuUsage();
    const { pairs, blocked } = await runPairs(store, ids);
    const elapsedS = (Date.now() - startedAt) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    process.stdout.write(
      JSON.stringify({
        cpuMicrosPerPair: Math.round((cpu.user + cpu.system) / Math.max(1, pairs)),
        store: store.kind,
        concurrency: CONCURRENCY,
        groupCommitItemsMax: GROUP_COMMIT_MAX,
        seconds: elapsedS,
        pairs,
        pairsPerSecond: Math.round(pairs / elapsedS),
        blocked,
        ...(await store.health()),
      }) + '\n',
    );
  } finally {
    await store.close();
    if (DATABASE_URL !== undefined) await dropSchema(DATABASE_URL, schema);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${String(error)}\n`);
  process.exit(1);
});
