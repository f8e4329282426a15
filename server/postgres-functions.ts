import { BALANCE_CENTS_MAX } from '../common/money';

/**
 * The PostgreSQL hot path: one server-side function per data-tier operation, so each is ONE
 * round trip (an autocommit statement) instead of BEGIN, several statements and COMMIT.
 *
 * The functions decide only what they can decide without the rules of lock-rules.ts, and
 * otherwise return the state they read for the TypeScript rules to judge:
 *   - bank_lock grants when every account exists and no live lease covers any of them (planLock's
 *     grant condition); else it writes nothing and returns the row-locked state, and planLock
 *     names the missing or blocking account.
 *   - bank_update applies the ordinary case only: no idempotency record, the caller's live lock
 *     with the current token covering every posting, every balance staying in range. Anything
 *     else (a replay, a lock fault, a refusal) writes nothing and answers {done: false}; the
 *     store then runs the general transaction, judged by the TypeScript rules (planReplay,
 *     checkWriteAuthority, planPostings).
 *   - bank_unlock deletes the caller's lock and returns it; planUnlock says what that meant.
 *   - bank_create_account creates unless the transaction id has a record, which it returns
 *     for planReplay, or the owner holds p_accounts_max accounts already (LIMIT_EXCEEDED).
 * Lock and Unlock commit without waiting for the WAL flush (synchronous_commit=off for their
 * transaction only): a transfer then waits for one flush (its Update's), not two. Safe because
 * money moves only in durable Updates: a crash that loses a Lock makes its holder's Update fail
 * with LOCK_NOT_HELD (lock ids are random, a lost row is never found again), and a fencing token
 * whose sequence advance was lost can repeat only for a new lock row; a lost Unlock leaves the
 * lease to expire. A durable commit flushes all WAL before it, so any lock an Update relied on is
 * durable by then.
 * Time is the database's (bank_now_ms, read after the row locks are held), so data servers with
 * skewed clocks agree on every lease. The release of a live lease that a caller of ANOTHER data
 * server waits for (locks.waiter, set by a blocked bank_lock) is announced with pg_notify on the
 * schema's channel (payload "<origin>|<account ids>"), delivered at COMMIT. Only then: a
 * notifying commit takes PostgreSQL's global notify-queue lock through its WAL flush, and
 * notifying on every release halved the store's throughput (measured, server/README.md).
 */
export function postgresFunctions(channel: string): string {
  return `
CREATE OR REPLACE FUNCTION bank_now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS
$f$ SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint $f$;

CREATE OR REPLACE FUNCTION bank_lock(p_holder text, p_lock_id text, p_ids bigint[], p_lease_ms bigint, p_waiter text) RETURNS json
LANGUAGE plpgsql AS $f$
DECLARE
  v_now bigint; v_accounts json; v_found int; v_holding json; v_live boolean; v_token bigint;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true); -- a lease need not be durable: see below
  -- Row locks first, in ascending id order (as bank_update takes them): no deadlock.
  SELECT coalesce(json_agg(row_to_json(a) ORDER BY a.id), '[]'), count(*) INTO v_accounts, v_found
    FROM (SELECT id, owner_id, balance_cents, version FROM accounts WHERE id = ANY(p_ids) ORDER BY id FOR UPDATE) a;
  v_now := bank_now_ms();
  SELECT coalesce(json_agg(row_to_json(l)), '[]'), coalesce(bool_or(l.expires_at_ms > v_now), false) INTO v_holding, v_live
    FROM (SELECT * FROM locks WHERE lock_id IN (SELECT lock_id FROM lock_accounts WHERE account_id = ANY(p_ids)) FOR UPDATE) l;
  IF v_found < cardinality(p_ids) OR v_live THEN
    -- A caller that will wait asks the holder's release to be announced (once it is a waiter
    -- of another data server than the releaser; '*' when servers of several origins wait).
    IF v_live AND p_waiter IS NOT NULL THEN
      UPDATE locks SET waiter = CASE WHEN waiter IS NULL OR waiter = p_waiter THEN p_waiter ELSE '*' END
        WHERE lock_id IN (SELECT lock_id FROM lock_accounts WHERE account_id = ANY(p_ids)) AND expires_at_ms > v_now
          AND waiter IS DISTINCT FROM p_waiter AND waiter IS DISTINCT FROM '*';
    END IF;
    RETURN json_build_object('granted', false, 'now_ms', v_now, 'accounts', v_accounts, 'holding', v_holding);
  END IF;
  -- Every lock still covering these accounts has expired: it counts as free and goes.
  DELETE FROM locks WHERE lock_id IN (SELECT lock_id FROM lock_accounts WHERE account_id = ANY(p_ids));
  INSERT INTO locks(lock_id, holder, fencing_token, expires_at_ms, accounts)
    VALUES (p_lock_id, p_holder, nextval('fencing_seq'), v_now + p_lease_ms, array_to_string(p_ids, ','))
    RETURNING fencing_token INTO v_token;
  INSERT INTO lock_accounts(account_id, lock_id) SELECT unnest(p_ids), p_lock_id;
  RETURN json_build_object('granted', true, 'now_ms', v_now, 'accounts', v_accounts, 'holding', v_holding,
    'fencing_token', v_token, 'expires_at_ms', v_now + p_lease_ms);
END $f$;

CREATE OR REPLACE FUNCTION bank_update(
  p_holder text, p_lock_id text, p_token bigint, p_tx text, p_fingerprint text, p_release boolean, p_origin text,
  p_ids bigint[], p_amounts bigint[], p_kinds text[], p_counterparties bigint[]) RETURNS json
LANGUAGE plpgsql AS $f$
DECLARE
  v_now bigint; v_lock locks%ROWTYPE; v_accounts json; v_journaled int;
BEGIN
  PERFORM 1 FROM accounts WHERE id = ANY(p_ids) ORDER BY id FOR UPDATE;
  v_now := bank_now_ms();
  IF EXISTS (SELECT 1 FROM idempotency WHERE transaction_id = p_tx) THEN RETURN json_build_object('done', false); END IF;
  SELECT * INTO v_lock FROM locks WHERE lock_id = p_lock_id FOR UPDATE;
  IF NOT FOUND OR v_lock.holder <> p_holder OR v_lock.expires_at_ms <= v_now OR v_lock.fencing_token <> p_token
     OR NOT (p_ids <@ string_to_array(v_lock.accounts, ',')::bigint[]) THEN
    RETURN json_build_object('done', false);
  END IF;
  IF EXISTS (SELECT 1 FROM accounts a JOIN unnest(p_ids, p_amounts) AS p(id, amount) ON a.id = p.id
             WHERE a.balance_cents + p.amount < 0 OR a.balance_cents + p.amount > ${BALANCE_CENTS_MAX}) THEN
    RETURN json_build_object('done', false);
  END IF;
  WITH p AS (SELECT * FROM unnest(p_ids, p_amounts, p_kinds, p_counterparties) WITH ORDINALITY AS p(id, amount, kind, counterparty, n)),
  upd AS (UPDATE accounts a SET balance_cents = a.balance_cents + p.amount, version = a.version + 1 FROM p WHERE a.id = p.id
          RETURNING a.id, a.owner_id, a.balance_cents, a.version),
  jr AS (INSERT INTO journal(transaction_id, account_id, amount_cents, balance_after_cents, counterparty_account_id, kind, at_ms)
         SELECT p_tx, p.id, p.amount, upd.balance_cents, p.counterparty, p.kind, v_now FROM p JOIN upd ON upd.id = p.id ORDER BY p.n
         RETURNING 1)
  SELECT json_agg(json_build_object('accountId', id, 'ownerId', owner_id, 'balanceCents', balance_cents, 'version', version) ORDER BY id),
         (SELECT count(*) FROM jr)
    INTO v_accounts, v_journaled FROM upd;
  IF v_journaled <> cardinality(p_ids) THEN RAISE EXCEPTION 'bank_update %: journaled % of % postings', p_tx, v_journaled, cardinality(p_ids); END IF;
  INSERT INTO idempotency(transaction_id, fingerprint, outcome, at_ms)
    VALUES (p_tx, p_fingerprint, json_build_object('status', 'applied', 'accounts', v_accounts)::text, v_now);
  IF p_release THEN
    DELETE FROM locks WHERE lock_id = p_lock_id;
    IF v_lock.waiter <> p_origin THEN PERFORM pg_notify('${channel}', p_origin || '|' || v_lock.accounts); END IF;
  END IF;
  RETURN json_build_object('done', true, 'now_ms', v_now, 'accounts', v_accounts, 'released', p_release, 'lock_accounts', v_lock.accounts);
END $f$;

CREATE OR REPLACE FUNCTION bank_unlock(p_holder text, p_lock_id text, p_origin text) RETURNS json
LANGUAGE plpgsql AS $f$
DECLARE
  v_now bigint; v_lock locks%ROWTYPE;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  SELECT * INTO v_lock FROM locks WHERE lock_id = p_lock_id FOR UPDATE;
  v_now := bank_now_ms();
  IF v_lock.lock_id IS NULL THEN RETURN json_build_object('now_ms', v_now, 'lock', NULL); END IF;
  IF v_lock.holder = p_holder THEN
    DELETE FROM locks WHERE lock_id = p_lock_id;
    IF v_lock.expires_at_ms > v_now AND v_lock.waiter <> p_origin THEN PERFORM pg_notify('${channel}', p_origin || '|' || v_lock.accounts); END IF;
  END IF;
  RETURN json_build_object('now_ms', v_now, 'lock', row_to_json(v_lock));
END $f$;

CREATE OR REPLACE FUNCTION bank_create_account(p_owner text, p_tx text, p_balance bigint, p_fingerprint text, p_accounts_max bigint)
RETURNS json LANGUAGE plpgsql AS $f$
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
END $f$;
`;
}
