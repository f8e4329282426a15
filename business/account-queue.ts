import { fault } from '../common/service-fault';

/**
 * A bounded FIFO per account inside one business server. Requests of this process on the same
 * account run one after another instead of racing each other for the data tier's lock (which
 * would make them queue there, holding sockets, or fail with ACCOUNT_LOCKED).
 *
 * A request on several accounts (a transfer) takes its places in ascending account-id order,
 * so two opposite transfers cannot deadlock. Past `lengthMax` (running + waiting) on any
 * account, or after waiting `waitMs`, the request fails with ACCOUNT_LOCKED (retryable).
 * Entries exist only while an account has a request, so memory is bounded by the requests
 * in flight.
 */
export interface AccountQueueLimits {
  readonly lengthMax: number;
  readonly waitMs: number;
}

interface Waiter {
  state: 'waiting' | 'granted' | 'cancelled';
  readonly resolve: () => void;
  readonly timer: NodeJS.Timeout;
}

interface Line {
  /** Requests on this account: the running one + the waiters not cancelled. */
  length: number;
  /** FIFO of waiters not cancelled: shorter than lengthMax, so shift() and splice() are cheap. */
  readonly waiting: Waiter[];
}

/** Numeric order of decimal account-id text without converting to a number. */
export function compareAccountIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class AccountQueue {
  private readonly lines = new Map<string, Line>();

  constructor(private readonly limits: AccountQueueLimits) {
    if (!Number.isSafeInteger(limits.lengthMax) || limits.lengthMax < 1) throw new Error('lengthMax must be ≥ 1');
    if (!Number.isSafeInteger(limits.waitMs) || limits.waitMs < 1) throw new Error('waitMs must be ≥ 1');
  }

  /** Runs fn while holding every given account's place; releases them however fn ends. */
  async run<T>(accountIds: readonly string[], fn: () => Promise<T>): Promise<T> {
    const ordered = [...new Set(accountIds)].sort(compareAccountIds);
    const held: string[] = [];
    try {
      for (const accountId of ordered) {
        await this.enter(accountId);
        held.push(accountId);
      }
      return await fn();
    } finally {
      for (const accountId of held.reverse()) this.leave(accountId);
    }
  }

  /** Requests running or waiting on one account (for health and tests). */
  lengthOf(accountId: string): number {
    return this.lines.get(accountId)?.length ?? 0;
  }

  /** Requests running or waiting over all accounts, and on the busiest account (for metrics). */
  depths(): { total: number; max: number } {
    let total = 0;
    let max = 0;
    for (const line of this.lines.values()) {
      total += line.length;
      if (line.length > max) max = line.length;
    }
    return { total, max };
  }

  /** Accounts that have at least one request. */
  get busyAccounts(): number {
    return this.lines.size;
  }

  private enter(accountId: string): Promise<void> {
    const line = this.lines.get(accountId);
    if (line === undefined) {
      this.lines.set(accountId, { length: 1, waiting: [] });
      return Promise.resolve();
    }
    if (line.length >= this.limits.lengthMax) {
      return Promise.reject(fault('ACCOUNT_LOCKED', `too many requests queued on account ${accountId}; retry later`, accountId));
    }
    line.length += 1;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        state: 'waiting',
        resolve,
        timer: setTimeout(() => {
          if (waiter.state !== 'waiting') return;
          // Give up our place (the array stays within lengthMax: O(lengthMax) splice is fine).
          waiter.state = 'cancelled';
          const index = line.waiting.indexOf(waiter);
          if (index >= 0) line.waiting.splice(index, 1);
          line.length -= 1;
          reject(fault('ACCOUNT_LOCKED', `account ${accountId} stayed busy for ${this.limits.waitMs} ms; retry later`, accountId));
        }, this.limits.waitMs),
      };
      line.waiting.push(waiter);
    });
  }

  private leave(accountId: string): void {
    const line = this.lines.get(accountId);
    if (line === undefined) throw new Error(`queue of account ${accountId} left but not entered`);
    line.length -= 1;
    for (let next = line.waiting.shift(); next !== undefined; next = line.waiting.shift()) {
      if (next.state !== 'waiting') continue;
      next.state = 'granted';
      clearTimeout(next.timer);
      next.resolve();
      return;
    }
    if (line.length !== 0) throw new Error(`queue of account ${accountId} lost count: ${line.length}`);
    this.lines.delete(accountId);
  }
}
