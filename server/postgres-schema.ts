import { BALANCE_CENTS_MAX } from '../common/money';
import { postgresFunctions } from './postgres-functions';

/**
 * The PostgreSQL schema: the same tables and invariants as sqlite-schema.ts. The fencing counter
 * is a SEQUENCE: it only grows, survives restarts (after a crash it may skip values, never
 * repeat them) and does not serialize concurrent Locks on one counter row. The functions after
 * the tables are the hot path (postgres-functions.ts).
 */
export function postgresSchema(schema: string): string {
  return postgresTables(schema) + postgresFunctions(releaseChannel(schema));
}

/** The LISTEN/NOTIFY channel on which this schema's data servers announce released accounts. */
export function releaseChannel(schema: string): string {
  return `bank_release_${schema}`.slice(0, 63);
}

function postgresTables(schema: string): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${schema};
SET LOCAL search_path TO ${schema};
CREATE TABLE IF NOT EXISTS accounts (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_id TEXT NOT NULL,
  balance_cents BIGINT NOT NULL CHECK (balance_cents >= 0 AND balance_cents <= ${BALANCE_CENTS_MAX}),
  version BIGINT NOT NULL CHECK (version >= 0),
  lock_id TEXT
) WITH (fillfactor = 50);
-- The lock that last took the account: it holds the account while that row of locks exists with
-- a live lease (a released or expired lock's row is gone, and a pointer to it means free).
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS lock_id TEXT;
-- Half-empty pages: the balance and lock_id updates stay HOT (no index entries to add).
ALTER TABLE accounts SET (fillfactor = 50);
CREATE INDEX IF NOT EXISTS accounts_by_owner ON accounts(owner_id);
CREATE TABLE IF NOT EXISTS locks (
  lock_id TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  fencing_token BIGINT NOT NULL UNIQUE CHECK (fencing_token > 0),
  expires_at_ms BIGINT NOT NULL,
  accounts TEXT NOT NULL,
  waiter TEXT
);
-- Who waits for this lock ('*': several data servers): its release is announced (NOTIFY).
ALTER TABLE locks ADD COLUMN IF NOT EXISTS waiter TEXT;
-- Before 2026-12-01 a table lock_accounts said which lock held an account: its live rows move
-- to accounts.lock_id (stop every data server of the older version first: they use the table).
DO $m$ BEGIN
  IF to_regclass('lock_accounts') IS NOT NULL THEN
    UPDATE accounts a SET lock_id = la.lock_id FROM lock_accounts la WHERE la.account_id = a.id;
    DROP TABLE lock_accounts;
  END IF;
END $m$;
CREATE SEQUENCE IF NOT EXISTS fencing_seq MINVALUE 1 NO CYCLE;
CREATE TABLE IF NOT EXISTS journal (
  entry_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id TEXT NOT NULL,
  account_id BIGINT NOT NULL REFERENCES accounts(id),
  amount_cents BIGINT NOT NULL CHECK (amount_cents <> 0),
  balance_after_cents BIGINT NOT NULL CHECK (balance_after_cents >= 0),
  counterparty_account_id BIGINT,
  kind TEXT NOT NULL CHECK (kind IN ('OPENING', 'DEPOSIT', 'WITHDRAWAL', 'TRANSFER_OUT', 'TRANSFER_IN')),
  at_ms BIGINT NOT NULL,
  UNIQUE (transaction_id, account_id)
);
CREATE INDEX IF NOT EXISTS journal_by_account ON journal(account_id, entry_id);
CREATE INDEX IF NOT EXISTS journal_by_kind ON journal(account_id, kind, entry_id);
CREATE TABLE IF NOT EXISTS idempotency (
  transaction_id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  outcome TEXT NOT NULL,
  at_ms BIGINT NOT NULL
);
`;
}
