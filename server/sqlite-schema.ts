import { BALANCE_CENTS_MAX } from '../common/money';

/**
 * The SQLite schema. Invariants are checked twice: in lock-rules.ts before a write, and here.
 * - accounts.balance_cents never negative nor above BALANCE_CENTS_MAX.
 * - lock_accounts.account_id is the PRIMARY KEY: at most one lock row per account, whatever
 *   the code does.
 * - journal (transaction_id, account_id) is UNIQUE: a transaction is journaled once.
 * - counters.fencing only grows (the code only ever adds 1), and survives a restart.
 * Times are integer milliseconds since the epoch; money is integer cents.
 */
export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_id TEXT NOT NULL,
  balance_cents INTEGER NOT NULL CHECK (balance_cents >= 0 AND balance_cents <= ${BALANCE_CENTS_MAX}),
  version INTEGER NOT NULL CHECK (version >= 0)
);
CREATE INDEX IF NOT EXISTS accounts_by_owner ON accounts(owner_id);
CREATE TABLE IF NOT EXISTS locks (
  lock_id TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  fencing_token INTEGER NOT NULL UNIQUE CHECK (fencing_token > 0),
  expires_at_ms INTEGER NOT NULL,
  accounts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lock_accounts (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
  lock_id TEXT NOT NULL REFERENCES locks(lock_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS lock_accounts_by_lock ON lock_accounts(lock_id);
CREATE TABLE IF NOT EXISTS counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL CHECK (value >= 0)
);
INSERT OR IGNORE INTO counters(name, value) VALUES ('fencing', 0);
CREATE TABLE IF NOT EXISTS journal (
  entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
  transaction_id TEXT NOT NULL,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  amount_cents INTEGER NOT NULL CHECK (amount_cents <> 0),
  balance_after_cents INTEGER NOT NULL CHECK (balance_after_cents >= 0),
  counterparty_account_id INTEGER,
  kind TEXT NOT NULL CHECK (kind IN ('OPENING', 'DEPOSIT', 'WITHDRAWAL', 'TRANSFER_OUT', 'TRANSFER_IN')),
  at_ms INTEGER NOT NULL,
  UNIQUE (transaction_id, account_id)
);
CREATE INDEX IF NOT EXISTS journal_by_account ON journal(account_id, entry_id);
CREATE INDEX IF NOT EXISTS journal_by_kind ON journal(account_id, kind, entry_id);
CREATE TABLE IF NOT EXISTS idempotency (
  transaction_id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  outcome TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
`;
