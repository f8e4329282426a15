import { BALANCE_CENTS_MAX } from '../common/money';

/**
 * The PostgreSQL hot path. Lock, Update and Unlock reach PostgreSQL only through bank_batch: the
 * calls of one group commit (server/pg-batcher.ts) as ONE autocommit statement — one round trip,
 * one transaction, one commit — which row-locks everything its items touch in one global order
 * and then runs one per-operation function per item, in arrival order.
 *
 * The per-operation functions decide only what they can decide without the rules of lock-rules.ts, and
 * otherwise return the state they read for the TypeScript rules to judge (each one's comment says how).
 * A batch without an Update commits without waiting for the WAL flush (synchronous_commit=off
 * for that transaction only): a transfer then waits for one flush (its Update's), not two; a
 * batch with an Update waits, and so answers its Locks after a durable commit. Safe because
 * money moves only in durable Updates: a crash that loses a Lock makes its holder's Update fail
 * with LOCK_NOT_HELD (lock ids are random, a lost row is never found again), and a fencing token
 * whose sequence advance was lost can repeat only for a new lock row; a lost Unlock leaves the
 * lease to expire. A durable commit flushes all WAL before it, so any lock an Update relied on is
 * durable by then.
 * Which lock holds an account is accounts.lock_id (the lock that last took it) together with
 * that lock's row: a released or expired-and-replaced lock has no row, and a pointer to no row
 * means free. One column per account, so never two locks on one account whatever the code does;
 * no join table, no foreign keys or cascade to maintain per Lock and release.
 * Time is the database's (bank_now_ms, read after the row locks are held), so data servers with
 * skewed clocks agree on every lease. The release of a live lease that a caller of ANOTHER data
 * server waits for (locks.waiter, set by a blocked bank_lock) is announced with pg_notify on the
 * schema's channel (payload "<origin>|<account ids>"), delivered at COMMIT. Only then: a
 * notifying commit takes PostgreSQL's global notify-queue lock through its WAL flush, and
 * notifying on every release halved the store's throughput (measured, server/README.md).
 */
export function postgresFunctions(channel: string): string {
  // In creation order: the old json-returning functions go before they are made anew, and
  // bank_batch comes after the three it runs. One blank line between two.
  return (
    '\n' +
    [
      BANK_NOW_MS,
      RETURN_TYPE_MIGRATION,
      BANK_LOCK,
      bankUpdate(channel),
      bankUnlock(channel),
      BANK_BATCH,
      BANK_CREATE_ACCOUNT,
    ].join('\n\n') +
    '\n'
  );
}

/** The database's clock in ms: every lease is judged by it, so skewed data servers agree. */
const BANK_NOW_MS = `CREATE OR REPLACE FUNCTION bank_now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS
$f$ SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint $f$;`;

/** bank_lock, bank_update and bank_unlock returned json until 2026-12-01: an older schema's go first. */
const RETURN_TYPE_MIGRATION = `-- Until 2026-12-01 these three returned json: a return type cannot be replaced, only dropped.
DO $m$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'bank_lock' AND prorettype = 'json'::regtype
               AND pronamespace = current_schema()::regnamespace) THEN
    DROP FUNCTION bank_lock(text, text, bigint[], bigint, text);
    DROP FUNCTION bank_update(text, text, bigint, text, text, boolean, text, bigint[], bigint[], text[], bigint[]);
    DROP FUNCTION bank_unlock(text, text, text);
  END IF;
END $m$;`;

/**
 * bank_lock grants when every account exists and no live lease covers any of them (planLock's
 * grant condition); else it writes nothing and returns the row-locked state, and planLock
 * names the missing or blocking account.
 */
const BANK_LOCK = `-- The per-operation functions below run only inside bank_batch, which holds the row locks of
-- every account and lock row they touch (so they take none themselves) and read the clock after.
CREATE OR REPLACE FUNCTION bank_lock(p_holder text, p_lock_id text, p_ids bigint[], p_lease_ms bigint, p_waiter text) RETURNS jsonb
LANGUAGE plpgsql AS $f$
DECLARE
  v_now bigint := bank_now_ms(); v_accounts jsonb := '[]'; v_found int := 0; v_live boolean := false;
  v_expired text[] := '{}'; v_token bigint; v_row record;
BEGIN
  -- The accounts, and the locks they point at (accounts.lock_id: the last lock that took each).
  FOR v_row IN SELECT a.id, a.owner_id, a.balance_cents, a.version, a.lock_id,
                      (SELECT l.expires_at_ms FROM locks l WHERE l.lock_id = a.lock_id) AS expires_at_ms
                 FROM accounts a WHERE a.id = ANY(p_ids) ORDER BY a.id LOOP
    v_found := v_found + 1;
    v_accounts := v_accounts || jsonb_build_object('id', v_row.id, 'owner_id', v_row.owner_id,
      'balance_cents', v_row.balance_cents, 'version', v_row.version);
    -- No row in locks: released, or expired and taken over (the account is free).
    IF v_row.expires_at_ms > v_now THEN v_live := true;
    ELSIF v_row.expires_at_ms IS NOT NULL AND NOT v_row.lock_id = ANY(v_expired) THEN v_expired := v_expired || v_row.lock_id;
    END IF;
  END LOOP;
  IF v_found < cardinality(p_ids) OR v_live THEN
    -- A caller that will wait asks the holder's release to be announced (once it is a waiter
    -- of another data server than the releaser; '*' when servers of several origins wait).
    IF v_live AND p_waiter IS NOT NULL THEN
      UPDATE locks SET waiter = CASE WHEN waiter IS NULL OR waiter = p_waiter THEN p_waiter ELSE '*' END
        WHERE lock_id IN (SELECT lock_id FROM accounts WHERE id = ANY(p_ids)) AND expires_at_ms > v_now
          AND waiter IS DISTINCT FROM p_waiter AND waiter IS DISTINCT FROM '*';
    END IF;
    RETURN jsonb_build_object('granted', false, 'now_ms', v_now, 'accounts', v_accounts, 'holding',
      (SELECT coalesce(jsonb_agg(to_jsonb(l)), '[]') FROM locks l WHERE l.lock_id IN (SELECT lock_id FROM accounts WHERE id = ANY(p_ids))));
  END IF;
  -- Every lock still covering these accounts has expired: it counts as free and goes.
  IF cardinality(v_expired) > 0 THEN DELETE FROM locks WHERE lock_id = ANY(v_expired); END IF;
  INSERT INTO locks(lock_id, holder, fencing_token, expires_at_ms, accounts)
    VALUES (p_lock_id, p_holder, nextval('fencing_seq'), v_now + p_lease_ms, array_to_string(p_ids, ','))
    RETURNING fencing_token INTO v_token;
  UPDATE accounts SET lock_id = p_lock_id WHERE id = ANY(p_ids);
  RETURN jsonb_build_object('granted', true, 'now_ms', v_now, 'accounts', v_accounts,
    'holding', '[]'::jsonb, 'expired', cardinality(v_expired),
    'fencing_token', v_token, 'expires_at_ms', v_now + p_lease_ms);
END $f$;`;

/**
 * bank_update applies the ordinary case only: no idempotency record, the caller's live lock
 * with the current token covering every posting, every balance staying in range. Anything
 * else (a replay, a lock fault, a refusal) writes nothing and answers {done: false}; the
 * store then runs the general transaction, judged by the TypeScript rules (planReplay,
 * checkWriteAuthority, planPostings).
 */
function bankUpdate(channel: string): string {
  return `CREATE OR REPLACE FUNCTION bank_update(
  p_holder text, p_lock_id text, p_token bigint, p_tx text, p_fingerprint text, p_release boolean, p_origin text,
  p_ids bigint[], p_amounts bigint[], p_kinds text[], p_counterparties bigint[]) RETURNS jsonb
LANGUAGE plpgsql AS $f$
DECLARE
  v_now bigint := bank_now_ms(); v_lock locks%ROWTYPE; v_account jsonb; v_accounts jsonb := '[]'; v_balance bigint; v_taken_by text;
BEGIN
  -- The ordinary case only, else nothing written: the caller's live lock with the current token,
  -- covering (and taken by) every posting account, no idempotency record, balances in range.
  -- Plain statements and checks in PL/pgSQL: cheaper here than one statement of joins and CTEs.
  SELECT * INTO v_lock FROM locks WHERE lock_id = p_lock_id;
  IF NOT FOUND OR v_lock.holder <> p_holder OR v_lock.expires_at_ms <= v_now OR v_lock.fencing_token <> p_token
     OR NOT (p_ids <@ string_to_array(v_lock.accounts, ',')::bigint[]) OR cardinality(p_ids) > 2 THEN
    RETURN jsonb_build_object('done', false);
  END IF;
  PERFORM 1 FROM idempotency WHERE transaction_id = p_tx;
  IF FOUND THEN RETURN jsonb_build_object('done', false); END IF;
  FOR k IN 1 .. cardinality(p_ids) LOOP
    SELECT balance_cents + p_amounts[k], lock_id INTO v_balance, v_taken_by FROM accounts WHERE id = p_ids[k];
    IF v_balance IS NULL OR v_balance < 0 OR v_balance > ${BALANCE_CENTS_MAX} OR v_taken_by IS DISTINCT FROM p_lock_id THEN
      RETURN jsonb_build_object('done', false);
    END IF;
  END LOOP;
  FOR k IN 1 .. cardinality(p_ids) LOOP
    UPDATE accounts SET balance_cents = balance_cents + p_amounts[k], version = version + 1 WHERE id = p_ids[k]
      RETURNING jsonb_build_object('accountId', id, 'ownerId', owner_id, 'balanceCents', balance_cents, 'version', version)
      INTO v_account;
    INSERT INTO journal(transaction_id, account_id, amount_cents, balance_after_cents, counterparty_account_id, kind, at_ms)
      VALUES (p_tx, p_ids[k], p_amounts[k], (v_account->>'balanceCents')::bigint, p_counterparties[k], p_kinds[k], v_now);
    -- The answer lists the accounts in ascending id order (1 or 2 postings).
    v_accounts := CASE WHEN k > 1 AND p_ids[k] < p_ids[k - 1] THEN v_account || v_accounts ELSE v_accounts || v_account END;
  END LOOP;
  INSERT INTO idempotency(transaction_id, fingerprint, outcome, at_ms)
    VALUES (p_tx, p_fingerprint, jsonb_build_object('status', 'applied', 'accounts', v_accounts)::text, v_now);
  IF p_release THEN DELETE FROM locks WHERE lock_id = p_lock_id; END IF;
  IF p_release AND v_lock.waiter <> p_origin THEN PERFORM pg_notify('${channel}', p_origin || '|' || v_lock.accounts); END IF;
  RETURN jsonb_build_object('done', true, 'now_ms', v_now, 'accounts', v_accounts, 'released', p_release, 'lock_accounts', v_lock.accounts);
END $f$;`;
}

/** bank_unlock deletes the caller's lock and returns it; planUnlock says what that meant. */
function bankUnlock(channel: string): string {
  return `CREATE OR REPLACE FUNCTION bank_unlock(p_holder text, p_lock_id text, p_origin text) RETURNS jsonb
LANGUAGE plpgsql AS $f$
DECLARE
  v_now bigint := bank_now_ms(); v_lock locks%ROWTYPE;
BEGIN
  SELECT * INTO v_lock FROM locks WHERE lock_id = p_lock_id;
  IF v_lock.lock_id IS NULL THEN RETURN jsonb_build_object('now_ms', v_now, 'lock', NULL); END IF;
  IF v_lock.holder = p_holder THEN
    DELETE FROM locks WHERE lock_id = p_lock_id;
    IF v_lock.expires_at_ms > v_now AND v_lock.waiter <> p_origin THEN PERFORM pg_notify('${channel}', p_origin || '|' || v_lock.accounts); END IF;
  END IF;
  RETURN jsonb_build_object('now_ms', v_now, 'lock', to_jsonb(v_lock));
END $f$;`;
}

/** bank_batch: the one entry point of Lock, Update and Unlock (its SQL comment says how). */
const BANK_BATCH = `-- The one entry point of Lock, Update and Unlock: the items of one group commit (a JSON array,
-- in arrival order), one transaction, one commit. Every row the items will lock is locked first,
-- in one global order (accounts by ascending id, then lock rows by lock id), so concurrent batches
-- never deadlock whatever they hold; then the items run one after another, each seeing the ones
-- before. No item raises for a refusal: each returns its own answer. JSON arrays become SQL
-- arrays by a cast of their text ([1, 2] → {1, 2}): an expression, not a query per array.
-- (Measured per call: a query per array, or a helper SQL function, cost 50 µs each.) Generic
-- plans for every statement inside (the functions it calls included): PL/pgSQL otherwise plans
-- most of them anew on each call, which was 40 % of a transfer's CPU in PostgreSQL. Every
-- statement inside is a lookup by key: index scans only, since a generic plan would scan the
-- small, churning locks table sequentially, over every dead row until autovacuum.
CREATE OR REPLACE FUNCTION bank_batch(p_items jsonb) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off AS $f$
DECLARE
  v_item jsonb; v_out jsonb[] := '{}'; v_ids bigint[] := '{}'; v_lock_ids text[] := '{}'; v_durable boolean := false;
BEGIN
  FOR n IN 0 .. jsonb_array_length(p_items) - 1 LOOP
    v_item := p_items->n;
    IF v_item->>'op' = 'unlock' THEN
      v_lock_ids := v_lock_ids || (v_item->>'lockId');
    ELSE
      v_ids := v_ids || translate((v_item->'ids')::text, '[]', '{}')::bigint[];
      IF v_item->>'op' = 'update' THEN v_lock_ids := v_lock_ids || (v_item->>'lockId'); v_durable := true; END IF;
    END IF;
  END LOOP;
  IF NOT v_durable THEN
    PERFORM set_config('synchronous_commit', 'off', true); -- a lease need not be durable: see above
  END IF;
  SELECT v_lock_ids || coalesce(array_agg(lock_id) FILTER (WHERE lock_id IS NOT NULL), '{}') INTO v_lock_ids
    FROM (SELECT lock_id FROM accounts WHERE id = ANY(v_ids) ORDER BY id FOR UPDATE) a;
  PERFORM 1 FROM locks WHERE lock_id = ANY(v_lock_ids) ORDER BY lock_id FOR UPDATE;
  -- IF, not CASE: a CASE of function calls is evaluated as a query of its own, several times dearer.
  FOR n IN 0 .. jsonb_array_length(p_items) - 1 LOOP
    v_item := p_items->n;
    IF v_item->>'op' = 'lock' THEN
      v_out := v_out || bank_lock(v_item->>'holder', v_item->>'lockId', translate((v_item->'ids')::text, '[]', '{}')::bigint[],
        (v_item->>'leaseMs')::bigint, v_item->>'waiter');
    ELSIF v_item->>'op' = 'update' THEN
      v_out := v_out || bank_update(v_item->>'holder', v_item->>'lockId', (v_item->>'token')::bigint, v_item->>'tx',
        v_item->>'fingerprint', (v_item->>'release')::boolean, v_item->>'origin',
        translate((v_item->'ids')::text, '[]', '{}')::bigint[], translate((v_item->'amounts')::text, '[]', '{}')::bigint[],
        translate((v_item->'kinds')::text, '[]', '{}')::text[], translate((v_item->'counterparties')::text, '[]', '{}')::bigint[]);
    ELSE
      v_out := v_out || bank_unlock(v_item->>'holder', v_item->>'lockId', v_item->>'origin');
    END IF;
  END LOOP;
  RETURN to_jsonb(v_out);
END $f$;`;

/**
 * bank_create_account creates unless the transaction id has a record, which it returns
 * for planReplay, or the owner holds p_accounts_max accounts already (LIMIT_EXCEEDED).
 */
const BANK_CREATE_ACCOUNT = `CREATE OR REPLACE FUNCTION bank_create_account(p_owner text, p_tx text, p_balance bigint, p_fingerprint text, p_accounts_max bigint)
RETURNS json LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $f$
DECLARE
  v_now bigint; v_record json; v_id bigint;
BEGIN
  SELECT row_to_json(i) INTO v_record FROM (SELECT transaction_id, fingerprint, outcome FROM idempotency WHERE transaction_id = p_tx) i;
  IF v_record IS NOT NULL THEN RETURN json_build_object('record', v_record); END IF;
  IF p_accounts_max IS NOT NULL THEN
    -- The owner's creates one at a time until commit (also across data servers): the count
    -- below, a new statement, sees every account committed before (server/owner-limit.ts).
    PERFORM pg_advisory_xact_lock(hashtextextended('distbank:owner:' || p_owner, 0));
    IF (SELECT count(*) FROM accounts WHERE owner_id = p_owner) >= p_accounts_max THEN
      RETURN json_build_object('limit_exceeded', true);
    END IF;
  END IF;
  v_now := bank_now_ms();
  INSERT INTO accounts(owner_id, balance_cents, version) VALUES (p_owner, p_balance, 0) RETURNING id INTO v_id;
  IF p_balance > 0 THEN
    INSERT INTO journal(transaction_id, account_id, amount_cents, balance_after_cents, counterparty_account_id, kind, at_ms)
      VALUES (p_tx, v_id, p_balance, p_balance, NULL, 'OPENING', v_now);
  END IF;
  INSERT INTO idempotency(transaction_id, fingerprint, outcome, at_ms)
    VALUES (p_tx, p_fingerprint, json_build_object('status', 'created', 'accountId', v_id, 'balanceCents', p_balance)::text, v_now);
  RETURN json_build_object('account_id', v_id);
END $f$;`;
