import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { METRIC_PREFIX, ProcessMetrics } from '../common/metrics';
import { SoapObserver } from '../common/soap-observer';
import { TraceEntry } from '../common/trace-ring';
import { LockWaiters } from './lock-waiters';
import { Store } from './store';

/**
 * The data server's metrics and admin state, next to the edge's (common/metrics.ts): locks held
 * (from the store: with several data servers on one PostgreSQL, every server's locks), Lock
 * requests waiting here, leases found expired, group-commit batch sizes and commit durations,
 * the PostgreSQL pool. /admin/state lists the locks (account, holder, fencing token, lease
 * left) and the waiters; /admin/trace adds the journal rows of the transactions it found.
 */
export const LOCKS_LISTED_MAX = 100;
const JOURNAL_ROWS_MAX = 32;
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const COMMIT_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export function dataObserver(ringEntries: number): SoapObserver {
  return new SoapObserver(new ProcessMetrics('data'), ringEntries);
}

/** Returns what the SOAP edge reports of each Batch request: the number of calls it carried. */
export function watchData(observer: SoapObserver, store: Store, waiters: LockWaiters): (calls: number) => void {
  const registers = [observer.metrics.registry];
  watchLocks(registers, store, waiters);
  watchCommits(registers, store);
  watchPool(registers, store);
  observer.extras = {
    state: async () => dataState(store, waiters),
    traceExtra: async (entries) => ({
      journal: await store.journalOfTransactions(transactionIdsOf(entries), JOURNAL_ROWS_MAX),
    }),
  };
  const batchCalls = new Histogram({
    name: `${METRIC_PREFIX}batch_calls`,
    help: 'Calls carried by one Batch request (each is counted under its own operation too).',
    buckets: BATCH_BUCKETS,
    registers,
  });
  return (calls) => batchCalls.observe(calls);
}

/** Locks held and waited for, and the leases found expired. */
function watchLocks(registers: Registry[], store: Store, waiters: LockWaiters): void {
  new Gauge({
    name: `${METRIC_PREFIX}locks_held`,
    help: 'Locks with a live lease in the store.',
    registers,
    async collect() {
      this.set((await store.locksHeld(Date.now(), 0)).total);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}lock_waiters`,
    help: 'Lock requests queued in this data server.',
    registers,
    collect() {
      this.set(waiters.count());
    },
  });
  let expiriesSeen = 0;
  new Counter({
    name: `${METRIC_PREFIX}lease_expiries_total`,
    help: 'Locks whose lease had run out when this server met them again (taken over, or unlocked late).',
    registers,
    collect() {
      const now = store.leaseExpiries;
      this.inc(now - expiriesSeen);
      expiriesSeen = now;
    },
  });
}

/** Operations per durable commit, and each commit's duration. */
function watchCommits(registers: Registry[], store: Store): void {
  const batch = new Histogram({
    name: `${METRIC_PREFIX}commit_batch_operations`,
    help: 'Write operations per durable commit (group commit on SQLite; 1 on PostgreSQL).',
    buckets: BATCH_BUCKETS,
    registers,
  });
  const commit = new Histogram({
    name: `${METRIC_PREFIX}commit_duration_seconds`,
    help: 'Duration of one durable commit (SQL + fsync).',
    buckets: COMMIT_BUCKETS_S,
    registers,
  });
  store.observeCommits((items, durationMs) => {
    batch.observe(items);
    commit.observe(durationMs / 1000);
  });
}

/** The PostgreSQL pool's connections by state (no such gauge over SQLite). */
function watchPool(registers: Registry[], store: Store): void {
  const pool = store.poolUsage?.bind(store);
  if (pool !== undefined) {
    const usage = new Gauge({
      name: `${METRIC_PREFIX}pg_pool_connections`,
      help: 'PostgreSQL pool connections by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const u = pool();
        usage.set({ state: 'total' }, u.total);
        usage.set({ state: 'idle' }, u.idle);
        usage.set({ state: 'waiting' }, u.waiting);
      },
    });
  }
}

async function dataState(store: Store, waiters: LockWaiters): Promise<Record<string, unknown>> {
  const nowMs = Date.now();
  const held = await store.locksHeld(nowMs, LOCKS_LISTED_MAX);
  return {
    tier: 'data',
    store: store.kind,
    locksHeld: held.total,
    locks: held.locks.map((l) => ({
      lockId: l.lockId.slice(0, 8),
      holder: l.holder,
      fencingToken: String(l.fencingToken),
      accounts: l.accountIds.map(String),
      leaseLeftMs: Math.max(0, l.expiresAtMs - nowMs),
    })),
    lockWaiters: waiters.count(),
    waiters: waiters.perAccount(LOCKS_LISTED_MAX).map((w) => ({ accountId: String(w.accountId), waiters: w.waiters })),
  };
}

function transactionIdsOf(entries: readonly TraceEntry[]): string[] {
  return [...new Set(entries.map((e) => e.transactionId).filter((t): t is string => t !== undefined))];
}
