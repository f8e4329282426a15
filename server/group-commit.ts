import type { Database } from 'better-sqlite3';
import { fault } from '../common/service-fault';
import { itemAt } from '../common/defined';

/**
 * Group commit for SQLite: a durable commit (synchronous=FULL) costs about a millisecond of
 * fsync, so write operations arriving in the same event-loop turn run together inside ONE
 * `BEGIN IMMEDIATE … COMMIT`, each in its own SAVEPOINT. An item that throws is rolled back to
 * its savepoint alone (its error is delivered after the commit); the others commit together.
 * Nobody's promise settles before the COMMIT returned, so an acknowledged write is durable.
 */
interface Item {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommitter {
  private queue: Item[] = [];
  private scheduled = false;
  private closed = false;
  /** Batches committed and items in them, for /health and the benchmark. */
  batches = 0;
  items = 0;
  /** Milliseconds the event loop spent inside batches (SQL + the COMMIT's fsync). */
  busyMs = 0;
  /** Told of every committed batch (the data server's metrics). */
  onBatch: ((items: number, durationMs: number) => void) | undefined;

  constructor(
    private readonly db: Database,
    private readonly itemsPerBatchMax: number,
    /** Writes waiting for a batch, at most: past it, shed load (SERVICE_UNAVAILABLE, retryable). */
    private readonly queuedItemsMax: number,
  ) {}

  /** Run `work` (synchronous SQL) inside the next group transaction. */
  run<T>(work: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    if (this.queue.length >= this.queuedItemsMax) {
      return Promise.reject(fault('SERVICE_UNAVAILABLE', 'the data server is overloaded; retry later'));
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Stop taking work; everything queued still commits, batch by batch, before this returns. */
  close(): void {
    this.closed = true;
    while (this.queue.length > 0) this.flush();
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0, this.itemsPerBatchMax);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    const startedAt = performance.now();
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const item of batch) {
        this.db.exec('SAVEPOINT item');
        try {
          const value = item.work();
          this.db.exec('RELEASE item');
          outcomes.push({ ok: true, value });
        } catch (error) {
          // Some errors (SQLITE_FULL, I/O) make SQLite roll back the whole transaction itself:
          // then the batch fails as a whole, with the real cause, in the catch below.
          if (!this.db.inTransaction) throw error;
          this.db.exec('ROLLBACK TO item');
          this.db.exec('RELEASE item');
          outcomes.push({ ok: false, error });
        }
      }
      this.db.exec('COMMIT');
    } catch (error) {
      // BEGIN or COMMIT failed (disk full, I/O error): nothing of this batch is durable.
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        // SQLite rolls back by itself when ROLLBACK cannot run; the callers hear the first error.
      }
      for (const item of batch) item.reject(error);
      return;
    }
    this.batches += 1;
    this.items += batch.length;
    const durationMs = performance.now() - startedAt;
    this.busyMs += durationMs;
    this.onBatch?.(batch.length, durationMs);
    batch.forEach((item, i) => {
      const outcome = itemAt(outcomes, i);
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}
