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
  version BIGINT NOT NULL CHECK (version >= 0)
);
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
CREATE TABLE IF NOT EXISTS lock_accounts (
  account_id BIGINT PRIMARY KEY REFERENCES accounts(id),
  lock_id TEXT NOT NULL REFERENCES locks(lock_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS lock_accounts_by_lock ON lock_accounts(lock_id);
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
