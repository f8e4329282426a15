/**
 * The business settings a load test of a few owners needs: the per-client limits that make a
 * fair share of the bank for many callers (business/README.md) would throttle a bench of 8
 * owners. Lifted unless the caller sets them.
 *
 * The per-account queue keeps `perClientMax` places for the account's owner and lets the other
 * callers together hold `lengthMax - perClientMax`. Every transfer credits an account its caller
 * may not own, so both shares must fit all `clients` at once: perClientMax = clients and
 * lengthMax = 2 × clients. (Until 2026-12-01 the bench set perClientMax 63 under the default
 * lengthMax 64, which left the non-owners ONE place per account: with 4 hot accounts most
 * transfers were refused at once with ACCOUNT_LOCKED "too many requests queued".)
 */
export function benchBusinessLimits(clients: number): Record<string, string> {
  return {
    BANK_CLIENT_RATE_PER_S: '1000000',
    BANK_CLIENT_BURST: '1000000',
    BANK_ACCOUNTS_PER_CLIENT_MAX: '1000000',
    BANK_ACCOUNT_QUEUE_PER_CLIENT_MAX: String(clients),
    BANK_ACCOUNT_QUEUE_LENGTH_MAX: String(2 * clients),
  };
}
