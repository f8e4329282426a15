import { fault } from '../common/service-fault';
import { StoredAccountId } from './store';

/**
 * FIFO queues of Lock requests waiting for accounts, one queue per account, bounded. A waiting
 * request sits in exactly one queue: that of the (lowest) account it was last blocked on. Only
 * the head of a queue re-tries: when the account is released locally, when the blocking lease
 * expires, when the head before it leaves, and on a short poll (another data server sharing the
 * PostgreSQL database releases locks without telling us). A newcomer whose accounts have
 * waiters queues behind them instead of trying, so waiters are served first come, first served.
 * Waiters hold nothing, so waiting can never deadlock; every wait ends by the caller's deadline.
 */
export class WaitTicket {
  queuedOn: StoredAccountId | undefined;
  wake: (() => void) | undefined;
  /** A release that arrived while this head was busy re-trying: re-try again at once. */
  missedWake = false;
}

export class LockWaiters {
  private readonly queues = new Map<StoredAccountId, WaitTicket[]>();

  constructor(
    private readonly perAccountMax: number,
    private readonly pollMs: number,
  ) {}

  /** The lowest of these accounts that has requests waiting for it, if any. */
  firstQueued(accountIds: readonly StoredAccountId[]): StoredAccountId | undefined {
    return accountIds.find((id) => (this.queues.get(id)?.length ?? 0) > 0);
  }

  /** Requests waiting now, over all accounts (for /health). */
  count(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.length;
    return n;
  }

  /** Accounts with waiters and how many wait on each, most first, at most `max` (for the console). */
  perAccount(max: number): Array<{ accountId: StoredAccountId; waiters: number }> {
    return [...this.queues]
      .map(([accountId, queue]) => ({ accountId, waiters: queue.length }))
      .sort((a, b) => b.waiters - a.waiters)
      .slice(0, max);
  }

  /**
   * Wait in `accountId`'s queue (joining its tail unless already in it) until woken or until
   * `remainingMs` passed; a head also wakes when the blocking lease expires (`blockerExpiresInMs`
   * from now) and every pollMs.
   * Throws ACCOUNT_LOCKED when the queue is full.
   */
  wait(ticket: WaitTicket, accountId: StoredAccountId, remainingMs: number, blockerExpiresInMs: number): Promise<void> {
    if (ticket.queuedOn !== accountId) {
      const queue = this.queues.get(accountId) ?? [];
      if (queue.length >= this.perAccountMax) {
        throw fault(
          'ACCOUNT_LOCKED',
          `account ${accountId} is locked and ${queue.length} requests already wait for it`,
          String(accountId),
        );
      }
      this.leave(ticket);
      queue.push(ticket);
      this.queues.set(accountId, queue);
      ticket.queuedOn = accountId;
    }
    const isHead = this.queues.get(accountId)?.[0] === ticket;
    if (isHead && ticket.missedWake) {
      ticket.missedWake = false;
      return Promise.resolve();
    }
    // Relative to the store's clock when it answered: this process's clock may be skewed.
    const untilExpiryMs = Math.max(1, blockerExpiresInMs + 1);
    const timeoutMs = isHead ? Math.min(remainingMs, untilExpiryMs, this.pollMs) : remainingMs;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        ticket.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      ticket.wake = done;
    });
  }

  /** Leave the queue the ticket is in (acquired, gave up or moving on); the next head re-tries. */
  leave(ticket: WaitTicket): void {
    const accountId = ticket.queuedOn;
    if (accountId === undefined) return;
    ticket.queuedOn = undefined;
    ticket.missedWake = false;
    const queue = this.queues.get(accountId);
    if (queue === undefined) return;
    const index = queue.indexOf(ticket);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) {
      this.queues.delete(accountId);
      return;
    }
    if (index === 0) this.wakeHead(queue);
  }

  /** These accounts were released by this process: their queue heads re-try now. */
  released(accountIds: readonly StoredAccountId[]): void {
    for (const id of accountIds) {
      const queue = this.queues.get(id);
      if (queue !== undefined) this.wakeHead(queue);
    }
  }

  /** Something may have been released, unknown what (a missed notification): every head re-tries. */
  releasedAll(): void {
    for (const queue of this.queues.values()) this.wakeHead(queue);
  }

  private wakeHead(queue: readonly WaitTicket[]): void {
    const head = queue[0];
    if (head === undefined) return;
    if (head.wake !== undefined) head.wake();
    else head.missedWake = true;
  }
}
