import { fault } from '../common/service-fault';
import { Row } from './postgres-rows';
import { itemAt } from '../common/defined';

/**
 * Group commit for PostgreSQL, as group-commit.ts does for SQLite: the Lock, Update and Unlock
 * items that arrive within one event-loop turn — or while `inFlightMax` batches are already
 * running — go to PostgreSQL together as ONE call of bank_batch (postgres-functions.ts): one
 * round trip, one transaction, one commit, each item with its own answer. `send` runs one batch
 * and answers one row per item, in order; it rejects when the batch as a whole failed, and then
 * `failed` decides for every item (postgres-store.ts: a lost connection fails them all, an
 * error of one item's data runs the items one by one). Nobody's promise settles before the
 * batch's COMMIT returned, so an acknowledged Update is as durable as its commit.
 */
export interface BatchItem {
  readonly op: 'lock' | 'update' | 'unlock';
  readonly [field: string]: unknown;
}

interface Pending {
  readonly item: BatchItem;
  readonly resolve: (row: Row) => void;
  readonly reject: (error: unknown) => void;
}

export interface BatcherLimits {
  /** Items per bank_batch call, at most. */
  readonly itemsMax: number;
  /** Batches running at once, at most (each holds one pooled connection). */
  readonly inFlightMax: number;
  /** Items waiting for a batch, at most: past it SERVICE_UNAVAILABLE (retryable). */
  readonly queuedMax: number;
}

export class PgBatcher {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  /** Batches sent and items in them, for /health and the benchmarks. */
  batches = 0;
  items = 0;

  constructor(
    private readonly limits: BatcherLimits,
    private readonly send: (items: readonly BatchItem[]) => Promise<readonly Row[]>,
    private readonly failed: (items: readonly BatchItem[], error: unknown) => Promise<ReadonlyArray<Settled>>,
  ) {}

  /** The item's own answer (the row its per-operation function returned). */
  run(item: BatchItem): Promise<Row> {
    if (this.queue.length >= this.limits.queuedMax)
      return Promise.reject(fault('SERVICE_UNAVAILABLE', 'the data server is overloaded; retry later'));
    return new Promise<Row>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running (before the pool closes). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.limits.inFlightMax || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inFlight >= this.limits.inFlightMax || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.limits.itemsMax);
    this.inFlight += 1;
    this.batches += 1;
    this.items += batch.length;
    void this.settle(batch).finally(() => {
      this.inFlight -= 1;
      this.schedule();
    });
    this.schedule();
  }

  private async settle(batch: readonly Pending[]): Promise<void> {
    const items = batch.map((p) => p.item);
    let outcomes: ReadonlyArray<Settled>;
    try {
      outcomes = (await this.send(items)).map((row) => ({ ok: true, row }));
    } catch (error) {
      outcomes = await this.failed(items, error).catch((failure: unknown) =>
        items.map(() => ({ ok: false, error: failure })),
      );
    }
    // Cannot happen (bank_batch answers every item); were it to, nobody hears a wrong answer.
    if (outcomes.length !== batch.length) {
      const error = new Error(`bank_batch answered ${outcomes.length} of ${batch.length} items`);
      outcomes = batch.map(() => ({ ok: false, error }));
    }
    batch.forEach((p, i) => {
      const outcome = itemAt(outcomes, i); // as many as the batch (made so above)
      if (outcome.ok) p.resolve(outcome.row);
      else p.reject(outcome.error);
    });
  }
}

export type Settled = { readonly ok: true; readonly row: Row } | { readonly ok: false; readonly error: unknown };
