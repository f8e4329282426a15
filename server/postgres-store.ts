import { randomBytes } from 'node:crypto';
import { Pool, PoolClient } from 'pg';
import { fault, isServiceFault } from '../common/service-fault';
import {
  accountStates,
  checkWriteAuthority,
  createFingerprint,
  isLeaseLive,
  parseLockAccounts,
  planCreateReplay,
  planLock,
  planPostings,
  planUnlock,
  planUpdateReplay,
  replayResult,
  updateFingerprint,
} from './lock-rules';
import { encodeOutcome } from './outcome-codec';
import { BatcherLimits, BatchItem, PgBatcher, Settled } from './pg-batcher';
import { PgReleaseListener } from './pg-release-listener';
import { int8, Row, rowsOf, sqlState, toAccount, toIdempotency, toJournal, toLock } from './postgres-rows';
import { accountsLimitFault } from './owner-limit';
import { postgresSchema, releaseChannel } from './postgres-schema';
import { isTransientStoreError, storeFailure } from './store-errors';
import {
  StoredAccountId,
  StoredAccountState,
  CreateAccountRequest,
  CreateAccountResult,
  JournalQuery,
  JournalResult,
  JournalRow,
  LockRequest,
  LockResult,
  LockRow,
  RemoteReleaseHandler,
  Store,
  UnlockResult,
  UpdateRequest,
  UpdateResult,
} from './store';

/**
 * The PostgreSQL store, shareable by several data servers. Lock, Update and Unlock go through the
 * group commit (pg-batcher.ts): the calls of one event-loop turn, or those that arrived while
 * batches were running, are ONE call of bank_batch (postgres-functions.ts) — one round trip, one
 * transaction, one commit, each item with its own answer — which row-locks what its items decide
 * on (accounts in ascending id order first, then lock rows) and decides by the database's clock.
 * CreateAccount is one function call, Read and GetJournal one statement each. The rare cases
 * the functions leave to the rules (replays, lock faults, refusals of an Update) run as one READ
 * COMMITTED transaction of several statements, judged by lock-rules.ts. Deadlocks, serialization
 * failures and unique violations (two servers racing on one transaction id or account) re-run
 * the call or the whole transaction, a bounded number of times; the re-run then sees the
 * winner's rows (replay, or blocked).
 */
const TX_ATTEMPTS_MAX = 5;
const BATCH_SQL = 'SELECT bank_batch($1::jsonb) AS r';

export interface PostgresStoreOptions {
  /** Connections, besides the one that LISTENs. */
  readonly poolSize: number;
  readonly batch: BatcherLimits;
}

const JOURNAL_COLUMNS =
  'entry_id, transaction_id, account_id, amount_cents, balance_after_cents, counterparty_account_id, kind, at_ms';

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '23505']);
const PG_TIMEOUTS = Object.freeze({
  connectionTimeoutMillis: 5_000,
  idleTimeoutMillis: 30_000,
  statementTimeoutMs: 10_000,
  queryTimeoutMs: 15_000,
});

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  /** Expired leases this process met (bank_lock deleted them to grant; or unlocked late). */
  leaseExpiries = 0;
  retries = 0;
  private onCommit: ((items: number, durationMs: number) => void) | undefined;
  private readonly batcher: PgBatcher;

  private constructor(
    private readonly pool: Pool,
    private readonly listener: PgReleaseListener,
    private readonly channel: string,
    batchLimits: BatcherLimits,
  ) {
    this.batcher = new PgBatcher(
      batchLimits,
      (items) => this.sendBatch(items),
      (items, error) => this.batchFailed(items, error),
    );
  }

  static async open(databaseUrl: string, schema: string, options: PostgresStoreOptions): Promise<PostgresStore> {
    const connection = {
      connectionString: databaseUrl,
      // Names this process's backends in pg_stat_activity (operators, and the survival tests).
      application_name: `distbank-data-${process.pid}`,
      // search_path and a statement timeout at connection start: no per-query round trip.
      options: `-c search_path=${schema} -c statement_timeout=${PG_TIMEOUTS.statementTimeoutMs}`,
    };
    const pool = new Pool({
      ...connection,
      max: options.poolSize,
      connectionTimeoutMillis: PG_TIMEOUTS.connectionTimeoutMillis,
      idleTimeoutMillis: PG_TIMEOUTS.idleTimeoutMillis,
      // Client-side bound too: a silent network loses no request forever.
      query_timeout: PG_TIMEOUTS.queryTimeoutMs,
    });
    pool.on('error', () => undefined); // an idle client died; the next connect() makes a new one
    const channel = releaseChannel(schema);
    const store = new PostgresStore(
      pool,
      new PgReleaseListener(connection, channel, randomBytes(6).toString('base64url')),
      channel,
      options.batch,
    );
    // Several data servers may start at once: one creates the schema, the others wait for it.
    await store.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(7012024)');
      await c.query(postgresSchema(schema));
    });
    store.listener.start();
    return store;
  }

  onRemoteRelease(handler: RemoteReleaseHandler): void {
    this.listener.onRelease(handler);
  }

  /** One round trip (bank_lock); planLock judges the state the function read. */
  async lock(request: LockRequest): Promise<LockResult> {
    const r = await this.batcher.run({
      op: 'lock',
      holder: request.holder,
      lockId: request.lockId,
      ids: request.accountIds,
      leaseMs: request.leaseMs,
      waiter: request.willWait ? this.listener.origin : null,
    });
    const nowMs = int8(r.now_ms);
    const accounts = rowsOf(r.accounts).map(toAccount);
    const plan = planLock(
      request.accountIds,
      new Map(accounts.map((a) => [a.accountId, a])),
      rowsOf(r.holding).map(toLock),
      nowMs,
    );
    if ((plan.kind === 'grant') !== (r.granted === true))
      throw new Error(`bank_lock and planLock disagree: ${JSON.stringify(r)}`);
    if (plan.kind === 'blocked') return plan;
    this.leaseExpiries += int8(r.expired); // bank_lock deleted them to grant (planLock saw none: holding is [])
    const lock: LockRow = {
      lockId: request.lockId,
      holder: request.holder,
      fencingToken: int8(r.fencing_token),
      expiresAtMs: int8(r.expires_at_ms),
      accountIds: request.accountIds,
    };
    return { kind: 'granted', lock, accounts };
  }

  /** The ordinary Update in one round trip (bank_update); anything else in the general transaction. */
  async update(request: UpdateRequest): Promise<UpdateResult> {
    const p = request.postings;
    const r = await this.batcher.run({
      op: 'update',
      holder: request.holder,
      lockId: request.lockId,
      token: request.fencingToken,
      tx: request.transactionId,
      fingerprint: updateFingerprint(p),
      release: request.release,
      origin: this.listener.origin,
      ids: p.map((x) => x.accountId),
      amounts: p.map((x) => x.amountCents),
      kinds: p.map((x) => x.kind),
      counterparties: p.map((x) => x.counterpartyAccountId ?? null),
    });
    if (r.done !== true) return this.transaction((c) => this.updateInTransaction(c, request));
    const accounts = rowsOf(r.accounts).map((a) =>
      toAccount({ id: a.accountId, owner_id: a.ownerId, balance_cents: a.balanceCents, version: a.version }),
    );
    const releasedAccountIds = r.released === true ? parseLockAccounts(String(r.lock_accounts)) : [];
    return {
      transactionId: request.transactionId,
      replayed: false,
      released: r.released === true,
      releasedAccountIds,
      accounts,
    };
  }

  /** Replays, lock faults and refusals: read under row locks, judged by the rules, then written. */
  private async updateInTransaction(c: PoolClient, request: UpdateRequest): Promise<UpdateResult> {
    const postingIds = request.postings.map((p) => p.accountId);
    // Row locks first, in ascending order (as Lock takes them): no deadlock with a takeover.
    const current = new Map(
      (
        await c.query<Row>(
          'SELECT id, owner_id, balance_cents, version FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
          [postingIds],
        )
      ).rows.map((r) => {
        const a = toAccount(r);
        return [a.accountId, a] as const;
      }),
    );
    const both = (
      await c.query(
        `SELECT (SELECT row_to_json(i) FROM (SELECT transaction_id, fingerprint, outcome FROM idempotency WHERE transaction_id = $1) i) AS idem,
              (SELECT row_to_json(l) FROM (SELECT * FROM locks WHERE lock_id = $2 FOR UPDATE) l) AS lock, bank_now_ms() AS now_ms`,
        [request.transactionId, request.lockId],
      )
    ).rows[0] as { idem: Row | null; lock: Row | null; now_ms: unknown };
    const nowMs = int8(both.now_ms);
    const lock = both.lock === null ? undefined : toLock(both.lock);
    const released = async (deleteIt: boolean): Promise<Pick<UpdateResult, 'released' | 'releasedAccountIds'>> => {
      if (!deleteIt || lock === undefined) return { released: false, releasedAccountIds: [] };
      await c.query('DELETE FROM locks WHERE lock_id = $1', [lock.lockId]);
      const live = isLeaseLive(lock, nowMs);
      if (live && lock.waiter !== undefined && lock.waiter !== this.listener.origin)
        await c.query('SELECT pg_notify($1, $2)', [
          this.channel,
          `${this.listener.origin}|${lock.accountIds.join(',')}`,
        ]);
      return { released: live, releasedAccountIds: live ? lock.accountIds : [] };
    };
    const fingerprint = updateFingerprint(request.postings);
    const replay = planUpdateReplay(
      both.idem === null ? undefined : toIdempotency(both.idem),
      fingerprint,
      lock,
      request,
    );
    if (replay !== undefined) return replayResult(request.transactionId, replay, await released(replay.releaseLock));
    checkWriteAuthority(lock, request.holder, request.fencingToken, postingIds, nowMs);
    const plan = planPostings(request.transactionId, request.postings, current, nowMs);
    if (plan.kind === 'apply') {
      // bank_update applies every case the rules apply; reaching here means the two disagree.
      throw new Error(`bank_update declined an Update the rules accept (${request.transactionId})`);
    }
    await c.query('INSERT INTO idempotency(transaction_id, fingerprint, outcome, at_ms) VALUES ($1, $2, $3, $4)', [
      request.transactionId,
      fingerprint,
      encodeOutcome(plan.outcome),
      nowMs,
    ]);
    return {
      transactionId: request.transactionId,
      replayed: false,
      ...(await released(request.release)),
      accounts: [],
      refusal: plan.outcome,
    };
  }

  /** One round trip (bank_unlock): the function deletes only the caller's lock; planUnlock names the outcome. */
  async unlock(holder: string, lockId: string): Promise<UnlockResult> {
    const r = await this.batcher.run({ op: 'unlock', holder, lockId, origin: this.listener.origin });
    const lock = r.lock === null ? undefined : toLock(r.lock as Row);
    const plan = planUnlock(lock, holder, int8(r.now_ms));
    if (plan === 'delete-expired') this.leaseExpiries += 1;
    if (plan === 'delete-live' && lock !== undefined) return { released: true, releasedAccountIds: lock.accountIds };
    return { released: false, releasedAccountIds: [] };
  }

  async read(accountIds: readonly StoredAccountId[]): Promise<readonly StoredAccountState[]> {
    // One statement: one snapshot of balances and lock state together, judged by the database's clock.
    const rows = (
      await this.pool
        .query<Row>(
          `SELECT a.id, a.owner_id, a.balance_cents, a.version, l.lock_id, l.holder, l.fencing_token, l.expires_at_ms, l.accounts,
              bank_now_ms() AS now_ms
       FROM accounts a LEFT JOIN locks l ON l.lock_id = a.lock_id
       WHERE a.id = ANY($1::bigint[]) ORDER BY a.id`,
          [accountIds],
        )
        .catch(storeFailure)
    ).rows;
    const locks = rows.filter((r) => r.lock_id !== null).map(toLock);
    const nowMs = rows[0] === undefined ? 0 : int8(rows[0].now_ms);
    return accountStates(accountIds, rows.map(toAccount), locks, nowMs);
  }

  /** One round trip (bank_create_account); a recorded transaction id is judged by planCreateReplay. */
  async createAccount(request: CreateAccountRequest): Promise<CreateAccountResult> {
    const fingerprint = createFingerprint(request.ownerId, request.initialBalanceCents);
    const r = await this.fn('create', 'SELECT bank_create_account($1, $2, $3, $4, $5) AS r', [
      request.ownerId,
      request.transactionId,
      request.initialBalanceCents,
      fingerprint,
      request.accountsMax ?? null,
    ]);
    if (r.limit_exceeded === true) throw accountsLimitFault(request.ownerId, request.accountsMax ?? 0);
    if (r.record === undefined)
      return { accountId: int8(r.account_id), balanceCents: request.initialBalanceCents, replayed: false };
    const replay = planCreateReplay(toIdempotency(r.record as Row), fingerprint);
    if (replay === undefined) throw new Error('bank_create_account returned an empty record');
    return { ...replay, replayed: true };
  }

  /**
   * One statement, so one snapshot: the balance and the entries agree. With kinds: one index
   * range per kind (journal_by_kind), each at most `limit` rows, merged, so a filter never reads
   * the entries it leaves out.
   */
  async journal(accountId: StoredAccountId, query: JournalQuery): Promise<JournalResult> {
    const entries =
      query.kinds === undefined
        ? `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE account_id = $1 AND entry_id < $3 ORDER BY entry_id DESC LIMIT $2`
        : `SELECT j.* FROM unnest($4::text[]) AS k(kind) CROSS JOIN LATERAL (
           SELECT ${JOURNAL_COLUMNS} FROM journal WHERE account_id = $1 AND kind = k.kind AND entry_id < $3
           ORDER BY entry_id DESC LIMIT $2) j ORDER BY j.entry_id DESC LIMIT $2`;
    const values: unknown[] = [accountId, query.limit, query.beforeEntryId ?? Number.MAX_SAFE_INTEGER];
    if (query.kinds !== undefined) values.push(query.kinds);
    const row = (
      await this.pool
        .query<Row>(
          `SELECT (SELECT row_to_json(a) FROM (SELECT id, owner_id, balance_cents, version FROM accounts WHERE id = $1) a) AS account,
              (SELECT coalesce(json_agg(row_to_json(j) ORDER BY j.entry_id DESC), '[]') FROM (${entries}) j) AS entries`,
          values,
        )
        .catch(storeFailure)
    ).rows[0];
    if (row === undefined || row.account === null)
      throw fault('ACCOUNT_NOT_FOUND', `account ${accountId} does not exist`, String(accountId));
    return { account: toAccount(row.account as Row), entries: rowsOf(row.entries).map(toJournal) };
  }

  health(): Promise<Record<string, unknown>> {
    return Promise.resolve({
      store: 'postgres',
      pgPoolTotal: this.pool.totalCount,
      pgPoolIdle: this.pool.idleCount,
      pgRetries: this.retries,
      pgBatches: this.batcher.batches,
      pgBatchItems: this.batcher.items,
      pgListening: this.listener.connected,
      pgListenReconnects: this.listener.reconnects,
      pgReleaseNotifications: this.listener.notifications,
    });
  }

  async locksHeld(nowMs: number, max: number): Promise<{ total: number; locks: LockRow[] }> {
    const row = (
      await this.pool
        .query<Row>(
          `WITH live AS (SELECT * FROM locks WHERE expires_at_ms > $1)
       SELECT (SELECT count(*) FROM live) AS total,
              (SELECT coalesce(json_agg(x), '[]'::json) FROM (SELECT * FROM live ORDER BY expires_at_ms LIMIT $2) x) AS locks`,
          [nowMs, max],
        )
        .catch(storeFailure)
    ).rows[0];
    return { total: int8(row?.total ?? 0), locks: rowsOf(row?.locks).map(toLock) };
  }

  async journalOfTransactions(transactionIds: readonly string[], max: number): Promise<JournalRow[]> {
    const rows = (
      await this.pool
        .query<Row>(
          `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE transaction_id = ANY($1::text[]) ORDER BY entry_id LIMIT $2`,
          [transactionIds, max],
        )
        .catch(storeFailure)
    ).rows;
    return rows.map(toJournal);
  }

  observeCommits(onCommit: (items: number, durationMs: number) => void): void {
    this.onCommit = onCommit;
  }

  poolUsage(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async close(): Promise<void> {
    await this.batcher.drain(); // every call already made still gets its answer
    await this.listener.close();
    await this.pool.end();
  }

  /** One group commit: every item's answer, in order. */
  private async sendBatch(items: readonly BatchItem[]): Promise<readonly Row[]> {
    const startedMs = performance.now();
    const result = await this.pool.query<{ r: Row }>({
      name: 'bank_batch',
      text: BATCH_SQL,
      values: [JSON.stringify(items)],
    });
    this.onCommit?.(items.length, performance.now() - startedMs);
    return rowsOf(result.rows[0]?.r);
  }

  /**
   * A batch failed as a whole, so none of it committed. Lost connection, timeout, database
   * down: every item hears it (SERVICE_UNAVAILABLE; a retry with the same ids is safe). An error
   * of the SQL itself — a CHECK or unique constraint (two servers racing on one transaction id),
   * a deadlock — may come from one item: the items then run one by one, each alone in a batch
   * (with its retries: a lost race re-runs and sees the winner), in arrival order, so one item's
   * error is its own.
   */
  private async batchFailed(items: readonly BatchItem[], error: unknown): Promise<Settled[]> {
    const state = sqlState(error);
    const oneByOne = state !== undefined && (!isTransientStoreError(error) || state.startsWith('40'));
    if (!oneByOne) {
      const failure = asStoreError(error);
      return items.map(() => ({ ok: false, error: failure }));
    }
    const outcomes: Settled[] = [];
    for (const item of items) {
      try {
        const [row] = rowsOf(await this.fn('batch', BATCH_SQL, [JSON.stringify([item])]));
        if (row === undefined) throw new Error('bank_batch answered no item');
        outcomes.push({ ok: true, row });
      } catch (itemError) {
        outcomes.push({ ok: false, error: itemError });
      }
    }
    return outcomes;
  }

  /** One hot-path function call (a prepared statement per connection), re-run on a lost race (bounded). */
  private async fn(name: string, text: string, values: readonly unknown[]): Promise<Row> {
    for (let attempt = 1; ; attempt++) {
      try {
        const startedMs = performance.now();
        const result = await this.pool.query<{ r: Row | null }>({ name: `bank_${name}`, text, values: [...values] });
        this.onCommit?.(1, performance.now() - startedMs);
        const row = result.rows[0]?.r;
        if (row === undefined || row === null) throw new Error(`bank_${name} returned no row`);
        return row;
      } catch (error) {
        const state = sqlState(error);
        if (state !== undefined && RETRYABLE_SQLSTATES.has(state) && attempt < TX_ATTEMPTS_MAX) {
          this.retries += 1;
          continue;
        }
        return storeFailure(error);
      }
    }
  }

  /** One transaction, re-run on deadlock / serialization failure / unique violation (bounded). */
  private transaction<T>(work: (c: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.transactionOnce(work, begin).catch(storeFailure);
  }

  private async transactionOnce<T>(work: (c: PoolClient) => Promise<T>, begin: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken = false;
      // pg-pool listens for 'error' on idle clients only; a connection that ends while checked
      // out (a restart, pg_terminate_backend) emits 'error' here, and unheard it kills the process.
      // The query in flight fails too, which is what the caller hears (SERVICE_UNAVAILABLE).
      const onError = (): void => {
        broken = true;
      };
      client.on('error', onError);
      try {
        const startedMs = performance.now();
        await client.query(begin);
        const value = await work(client);
        await client.query('COMMIT');
        if (begin === 'BEGIN') this.onCommit?.(1, performance.now() - startedMs);
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const state = sqlState(error);
        if (
          !isServiceFault(error) &&
          state !== undefined &&
          RETRYABLE_SQLSTATES.has(state) &&
          attempt < TX_ATTEMPTS_MAX
        ) {
          this.retries += 1;
          continue;
        }
        throw error;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    }
  }
}

/** The error a caller should see for a store failure (SERVICE_UNAVAILABLE when it may pass). */
function asStoreError(error: unknown): unknown {
  try {
    return storeFailure(error);
  } catch (converted) {
    return converted;
  }
}
