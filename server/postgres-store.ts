import { Pool, PoolClient } from 'pg';
import { asCents, Cents } from '../common/money';
import { fault, isServiceFault } from '../common/service-fault';
import {
  accountStates, checkWriteAuthority, createFingerprint, isLeaseLive, matchReplay, parseLockAccounts, planLock, planPostings,
  planUnlock, replayReleases, updateFingerprint,
} from './lock-rules';
import { decodeOutcome, encodeOutcome } from './outcome-codec';
import { postgresSchema } from './postgres-schema';
import { storeFailure } from './store-errors';
import {
  AccountId, AccountRow, AccountState, CreateAccountRequest, CreateAccountResult, EntryKind, IdempotencyRow,
  JournalResult, JournalRow, LockRequest, LockResult, LockRow, Store, UnlockResult, UpdateRequest, UpdateResult,
} from './store';

/**
 * The PostgreSQL store: each operation is one READ COMMITTED transaction that row-locks what it
 * decides on (accounts in ascending id order first, then lock rows), so several data servers can
 * share the database. Deadlocks, serialization failures and unique violations (two servers
 * racing on one transaction id or account) roll back and re-run the whole transaction, a
 * bounded number of times; the re-run then sees the winner's rows (replay, or blocked).
 */
const TX_ATTEMPTS_MAX = 5;
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '23505']);
const PG_TIMEOUTS = Object.freeze({ connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000, statementTimeoutMs: 10_000, queryTimeoutMs: 15_000 });

/** pg returns BIGINT as text: convert exactly, refusing anything that is not a safe integer. */
function int8(value: unknown): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^-?[0-9]{1,16}$/.test(text)) throw new Error(`not a BIGINT: ${String(value)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`BIGINT out of the safe range: ${text}`);
  return n;
}

function cents(value: unknown): Cents {
  return asCents(int8(value));
}

type Row = Record<string, unknown>;

function toAccount(row: Row): AccountRow {
  return { accountId: int8(row.id), ownerId: String(row.owner_id), balanceCents: cents(row.balance_cents), version: int8(row.version) };
}

function toLock(row: Row): LockRow {
  return {
    lockId: String(row.lock_id), holder: String(row.holder), fencingToken: int8(row.fencing_token),
    expiresAtMs: int8(row.expires_at_ms), accountIds: parseLockAccounts(String(row.accounts)),
  };
}

function toJournal(row: Row): JournalRow {
  return {
    transactionId: String(row.transaction_id), accountId: int8(row.account_id), amountCents: cents(row.amount_cents),
    balanceAfterCents: cents(row.balance_after_cents), kind: String(row.kind) as EntryKind, atMs: int8(row.at_ms),
    ...(row.counterparty_account_id !== null ? { counterpartyAccountId: int8(row.counterparty_account_id) } : {}),
  };
}

function toIdempotency(row: Row): IdempotencyRow {
  return { transactionId: String(row.transaction_id), fingerprint: String(row.fingerprint), outcome: decodeOutcome(String(row.outcome)) };
}

function sqlState(error: unknown): string | undefined {
  return error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  retries = 0;

  private constructor(private readonly pool: Pool) {}

  static async open(databaseUrl: string, schema: string, poolSize: number): Promise<PostgresStore> {
    const pool = new Pool({
      connectionString: databaseUrl,
      max: poolSize,
      // Names this process's backends in pg_stat_activity (operators, and the survival tests).
      application_name: `distbank-data-${process.pid}`,
      connectionTimeoutMillis: PG_TIMEOUTS.connectionTimeoutMillis,
      idleTimeoutMillis: PG_TIMEOUTS.idleTimeoutMillis,
      // Client-side bound too: a silent network loses no request forever.
      query_timeout: PG_TIMEOUTS.queryTimeoutMs,
      // search_path and a statement timeout at connection start: no per-query round trip.
      options: `-c search_path=${schema} -c statement_timeout=${PG_TIMEOUTS.statementTimeoutMs}`,
    });
    pool.on('error', () => undefined); // an idle client died; the next connect() makes a new one
    const store = new PostgresStore(pool);
    // Several data servers may start at once: one creates the schema, the others wait for it.
    await store.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(7012024)');
      await c.query(postgresSchema(schema));
    });
    return store;
  }

  lock(request: LockRequest): Promise<LockResult> {
    return this.transaction(async (c): Promise<LockResult> => {
      const nowMs = Date.now();
      const accounts = (await c.query(
        'SELECT id, owner_id, balance_cents, version FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
        [request.accountIds])).rows.map(toAccount);
      const found = new Map(accounts.map((a) => [a.accountId, a]));
      const holding = (await c.query(
        'SELECT * FROM locks WHERE lock_id IN (SELECT lock_id FROM lock_accounts WHERE account_id = ANY($1::bigint[])) FOR UPDATE',
        [request.accountIds])).rows.map(toLock);
      const plan = planLock(request.accountIds, found, holding, nowMs);
      if (plan.kind === 'blocked') return plan;
      if (plan.expiredLockIds.length > 0) await c.query('DELETE FROM locks WHERE lock_id = ANY($1::text[])', [plan.expiredLockIds]);
      // One round trip: take a token, insert the lock and its accounts (the FK checks run at
      // the end of the statement, when the lock row exists).
      const expiresAtMs = nowMs + request.leaseMs;
      const inserted = await c.query(
        `WITH l AS (INSERT INTO locks(lock_id, holder, fencing_token, expires_at_ms, accounts)
                    VALUES ($1, $2, nextval('fencing_seq'), $3, $4) RETURNING fencing_token),
              la AS (INSERT INTO lock_accounts(account_id, lock_id) SELECT unnest($5::bigint[]), $1 RETURNING 1)
         SELECT fencing_token, (SELECT count(*) FROM la) AS covered FROM l`,
        [request.lockId, request.holder, expiresAtMs, request.accountIds.join(','), request.accountIds]);
      const row = inserted.rows[0] as Row | undefined;
      if (row === undefined || int8(row.covered) !== request.accountIds.length) throw new Error('lock insert covered the wrong accounts');
      const lock: LockRow = {
        lockId: request.lockId, holder: request.holder, fencingToken: int8(row.fencing_token), expiresAtMs, accountIds: request.accountIds,
      };
      return { kind: 'granted', lock, accounts };
    });
  }

  update(request: UpdateRequest): Promise<UpdateResult> {
    return this.transaction(async (c): Promise<UpdateResult> => {
      const nowMs = Date.now();
      const postingIds = request.postings.map((p) => p.accountId);
      // Row locks first, in ascending order (as Lock takes them): no deadlock with a takeover.
      const current = new Map((await c.query(
        'SELECT id, owner_id, balance_cents, version FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
        [postingIds])).rows.map((r) => { const a = toAccount(r); return [a.accountId, a] as const; }));
      // One round trip for the idempotency record and the (row-locked) lock.
      const both = (await c.query(
        `SELECT (SELECT row_to_json(i) FROM (SELECT transaction_id, fingerprint, outcome FROM idempotency WHERE transaction_id = $1) i) AS idem,
                (SELECT row_to_json(l) FROM (SELECT * FROM locks WHERE lock_id = $2 FOR UPDATE) l) AS lock`,
        [request.transactionId, request.lockId])).rows[0] as { idem: Row | null; lock: Row | null };
      const record = both.idem === null ? undefined : toIdempotency(both.idem);
      const lock = both.lock === null ? undefined : toLock(both.lock);
      const released = async (deleteIt: boolean): Promise<Pick<UpdateResult, 'released' | 'releasedAccountIds'>> => {
        if (!deleteIt || lock === undefined) return { released: false, releasedAccountIds: [] };
        await c.query('DELETE FROM locks WHERE lock_id = $1', [lock.lockId]);
        const live = isLeaseLive(lock, nowMs);
        return { released: live, releasedAccountIds: live ? lock.accountIds : [] };
      };
      const fingerprint = updateFingerprint(request.postings);
      const recorded = matchReplay(record, fingerprint);
      if (recorded !== undefined) {
        const release = await released(replayReleases(lock, request.holder, request.fencingToken, request.release));
        const base = { transactionId: request.transactionId, replayed: true, ...release };
        if (recorded.status === 'applied') return { ...base, accounts: recorded.accounts };
        if (recorded.status === 'refused') return { ...base, accounts: [], refusal: recorded };
        throw fault('REQUEST_ID_CONFLICT', `transaction id ${request.transactionId} was used by a CreateAccount`);
      }
      checkWriteAuthority(lock, request.holder, request.fencingToken, postingIds, nowMs);
      const plan = planPostings(request.transactionId, request.postings, current, nowMs);
      if (plan.kind === 'refuse') {
        await c.query('INSERT INTO idempotency(transaction_id, fingerprint, outcome, at_ms) VALUES ($1, $2, $3, $4)', [request.transactionId, fingerprint, encodeOutcome(plan.outcome), nowMs]);
        return { transactionId: request.transactionId, replayed: false, ...(await released(request.release)), accounts: [], refusal: plan.outcome };
      }
      // One round trip for every write of the transaction: balances (guarded by version),
      // journal rows, the idempotency record. The lock, if released, goes in a second one.
      const written = (await c.query(
        `WITH upd AS (
           UPDATE accounts a SET balance_cents = v.balance, version = v.version
           FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, balance, version)
           WHERE a.id = v.id AND a.version = v.version - 1 RETURNING a.id),
         jr AS (
           INSERT INTO journal(transaction_id, account_id, amount_cents, balance_after_cents, counterparty_account_id, kind, at_ms)
           SELECT $4, * FROM unnest($5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::bigint[]) RETURNING 1),
         idem AS (
           INSERT INTO idempotency(transaction_id, fingerprint, outcome, at_ms) VALUES ($4, $11, $12, $13) RETURNING 1)
         SELECT (SELECT count(*) FROM upd) AS updated, (SELECT count(*) FROM jr) AS journaled, (SELECT count(*) FROM idem) AS recorded`,
        [plan.accounts.map((a) => a.accountId), plan.accounts.map((a) => a.balanceCents), plan.accounts.map((a) => a.version),
          request.transactionId, plan.journal.map((j) => j.accountId), plan.journal.map((j) => j.amountCents),
          plan.journal.map((j) => j.balanceAfterCents), plan.journal.map((j) => j.counterpartyAccountId ?? null),
          plan.journal.map((j) => j.kind), plan.journal.map((j) => j.atMs),
          fingerprint, encodeOutcome({ status: 'applied', accounts: plan.accounts }), nowMs])).rows[0] as Row;
      if (int8(written.updated) !== plan.accounts.length || int8(written.journaled) !== plan.journal.length || int8(written.recorded) !== 1) {
        throw new Error(`update ${request.transactionId} wrote ${JSON.stringify(written)}: an account changed under the lock`);
      }
      return { transactionId: request.transactionId, replayed: false, ...(await released(request.release)), accounts: plan.accounts };
    });
  }

  unlock(holder: string, lockId: string): Promise<UnlockResult> {
    return this.transaction(async (c): Promise<UnlockResult> => {
      const row = (await c.query('SELECT * FROM locks WHERE lock_id = $1 FOR UPDATE', [lockId])).rows[0];
      const lock = row === undefined ? undefined : toLock(row);
      const plan = planUnlock(lock, holder, Date.now());
      if (plan === 'absent' || lock === undefined) return { released: false, releasedAccountIds: [] };
      await c.query('DELETE FROM locks WHERE lock_id = $1', [lockId]);
      return plan === 'delete-live' ? { released: true, releasedAccountIds: lock.accountIds } : { released: false, releasedAccountIds: [] };
    });
  }

  async read(accountIds: readonly AccountId[]): Promise<readonly AccountState[]> {
    const nowMs = Date.now();
    // One statement: one snapshot of balances and lock state together.
    const rows = (await this.pool.query<Row>(
      `SELECT a.id, a.owner_id, a.balance_cents, a.version, l.lock_id, l.holder, l.fencing_token, l.expires_at_ms, l.accounts
       FROM accounts a LEFT JOIN lock_accounts la ON la.account_id = a.id LEFT JOIN locks l ON l.lock_id = la.lock_id
       WHERE a.id = ANY($1::bigint[]) ORDER BY a.id`, [accountIds]).catch(storeFailure)).rows;
    const locks = rows.filter((r) => r.lock_id !== null).map(toLock);
    return accountStates(accountIds, rows.map(toAccount), locks, nowMs);
  }

  createAccount(request: CreateAccountRequest): Promise<CreateAccountResult> {
    return this.transaction(async (c): Promise<CreateAccountResult> => {
      const nowMs = Date.now();
      const fingerprint = createFingerprint(request.ownerId, request.initialBalanceCents);
      const recorded = matchReplay(await this.idempotency(c, request.transactionId), fingerprint);
      if (recorded !== undefined) {
        if (recorded.status !== 'created') throw new Error('a create fingerprint matched a non-create outcome');
        return { accountId: recorded.accountId, balanceCents: recorded.balanceCents, replayed: true };
      }
      const accountId = int8((await c.query('INSERT INTO accounts(owner_id, balance_cents, version) VALUES ($1, $2, 0) RETURNING id',
        [request.ownerId, request.initialBalanceCents])).rows[0]?.id);
      if (request.initialBalanceCents > 0) {
        await c.query(`INSERT INTO journal(transaction_id, account_id, amount_cents, balance_after_cents, counterparty_account_id, kind, at_ms)
          VALUES ($1, $2, $3, $3, NULL, 'OPENING', $4)`, [request.transactionId, accountId, request.initialBalanceCents, nowMs]);
      }
      await c.query('INSERT INTO idempotency(transaction_id, fingerprint, outcome, at_ms) VALUES ($1, $2, $3, $4)',
        [request.transactionId, fingerprint, encodeOutcome({ status: 'created', accountId, balanceCents: request.initialBalanceCents }), nowMs]);
      return { accountId, balanceCents: request.initialBalanceCents, replayed: false };
    });
  }

  journal(accountId: AccountId, limit: number): Promise<JournalResult> {
    return this.transaction(async (c) => {
      const row = (await c.query('SELECT id, owner_id, balance_cents, version FROM accounts WHERE id = $1', [accountId])).rows[0];
      if (row === undefined) throw fault('ACCOUNT_NOT_FOUND', `account ${accountId} does not exist`, String(accountId));
      const entries = (await c.query(
        `SELECT transaction_id, account_id, amount_cents, balance_after_cents, counterparty_account_id, kind, at_ms
         FROM journal WHERE account_id = $1 ORDER BY entry_id DESC LIMIT $2`, [accountId, limit])).rows.map(toJournal);
      return { account: toAccount(row), entries };
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async health(): Promise<Record<string, unknown>> {
    return { store: 'postgres', pgPoolTotal: this.pool.totalCount, pgPoolIdle: this.pool.idleCount, pgRetries: this.retries };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async idempotency(c: PoolClient, transactionId: string): Promise<IdempotencyRow | undefined> {
    const row = (await c.query('SELECT transaction_id, fingerprint, outcome FROM idempotency WHERE transaction_id = $1', [transactionId])).rows[0];
    return row === undefined ? undefined : toIdempotency(row);
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
      const onError = (): void => { broken = true; };
      client.on('error', onError);
      try {
        await client.query(begin);
        const value = await work(client);
        await client.query('COMMIT');
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => { broken = true; });
        const state = sqlState(error);
        if (!isServiceFault(error) && state !== undefined && RETRYABLE_SQLSTATES.has(state) && attempt < TX_ATTEMPTS_MAX) {
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
