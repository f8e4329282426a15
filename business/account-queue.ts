import { fault, rateLimited } from '../common/service-fault';
import { defined } from '../common/defined';

/**
 * A bounded queue per account inside one business server. Requests of this process on the same
 * account run one after another instead of racing each other for the data tier's lock (which
 * would make them queue there, holding sockets, or fail with ACCOUNT_LOCKED).
 *
 * Fair per caller, owner first:
 * - each client other than the owner holds at most `perClientMax` places (running + waiting) on
 *   one account; past it, RATE_LIMITED with an estimate of when a place frees up (retryAfterMs);
 * - the owner always finds room: requests of others together hold at most
 *   `lengthMax - perClientMax` places, and the owner may use the whole queue (its own requests
 *   are bounded by `lengthMax` and its rate limit);
 * - when the running request ends, the owner's oldest waiter goes next; otherwise the other
 *   clients take turns (round robin), each in its own FIFO order. So a flood of deposits by a
 *   third party delays the owner by at most the one request running here (plus, in the data
 *   tier's lock queue, one request per other business server: each of them also runs one
 *   request per account at a time).
 *
 * A request on several accounts (a transfer) takes its places in ascending account-id order,
 * so two opposite transfers cannot deadlock. Past `lengthMax` on any account, or after waiting
 * `waitMs`, the request fails with ACCOUNT_LOCKED (retryable). Entries exist only while an
 * account has a request, so memory is bounded by the requests in flight.
 */
export interface AccountQueueLimits {
  readonly lengthMax: number;
  /** Places one client other than the owner may hold on one account; also the places kept free for the owner. */
  readonly perClientMax: number;
  readonly waitMs: number;
}

/** Who is asking, as far as the queue needs to know. */
export interface QueueCaller {
  readonly clientId: string;
  /** True when the caller owns the account (checked, or known from the owner cache). */
  owns(accountId: string): boolean;
}

interface Waiter {
  readonly clientId: string;
  state: 'waiting' | 'granted' | 'cancelled';
  readonly resolve: () => void;
  readonly timer: NodeJS.Timeout;
}

interface Line {
  /** Requests on this account: the running one + the waiters not cancelled. */
  length: number;
  /** Of those, the ones of callers other than the owner. */
  othersLength: number;
  /** Places per client (running + waiting). */
  readonly byClient: Map<string, number>;
  /** The owner's waiters, FIFO. */
  readonly ownerWaiting: Waiter[];
  /** Other clients' waiters, FIFO per client. */
  readonly othersWaiting: Map<string, Waiter[]>;
  /** Other clients with waiters, in the order of their next turn. */
  readonly turns: string[];
}

/** Weight of the newest sample in the average time a request holds an account's place. */
const HOLD_AVERAGE_WEIGHT = 0.1;

/** Numeric order of decimal account-id text without converting to a number. */
export function compareAccountIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class AccountQueue {
  private readonly lines = new Map<string, Line>();
  /** Average ms a request holds its place, for the retryAfterMs of a refused one. */
  private holdMsAverage = 0;

  constructor(private readonly limits: AccountQueueLimits) {
    if (!Number.isSafeInteger(limits.lengthMax) || limits.lengthMax < 1) throw new Error('lengthMax must be ≥ 1');
    if (
      !Number.isSafeInteger(limits.perClientMax) ||
      limits.perClientMax < 1 ||
      limits.perClientMax > limits.lengthMax
    ) {
      throw new Error('perClientMax must be from 1 to lengthMax');
    }
    if (!Number.isSafeInteger(limits.waitMs) || limits.waitMs < 1) throw new Error('waitMs must be ≥ 1');
  }

  /** Runs fn while holding every given account's place; releases them however fn ends. */
  async run<T>(accountIds: readonly string[], caller: QueueCaller, fn: () => Promise<T>): Promise<T> {
    const ordered = [...new Set(accountIds)].sort(compareAccountIds);
    const held: { accountId: string; owner: boolean; sinceMs: number }[] = [];
    try {
      for (const accountId of ordered) {
        const owner = caller.owns(accountId);
        await this.enter(accountId, caller.clientId, owner);
        held.push({ accountId, owner, sinceMs: Date.now() });
      }
      return await fn();
    } finally {
      for (const place of held.reverse()) this.leave(place.accountId, caller.clientId, place.owner, place.sinceMs);
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

  private enter(accountId: string, clientId: string, owner: boolean): Promise<void> {
    let line = this.lines.get(accountId);
    if (line === undefined) {
      line = { length: 0, othersLength: 0, byClient: new Map(), ownerWaiting: [], othersWaiting: new Map(), turns: [] };
      this.lines.set(accountId, line);
      this.take(line, clientId, owner);
      return Promise.resolve();
    }
    this.admit(line, accountId, clientId, owner);
    this.take(line, clientId, owner);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        clientId,
        state: 'waiting',
        resolve,
        timer: setTimeout(() => {
          if (waiter.state !== 'waiting') return;
          waiter.state = 'cancelled';
          this.unqueue(line, waiter, owner);
          this.give(line, clientId, owner);
          reject(
            fault(
              'ACCOUNT_LOCKED',
              `account ${accountId} stayed busy for ${this.limits.waitMs} ms; retry later`,
              accountId,
            ),
          );
        }, this.limits.waitMs),
      };
      if (owner) {
        line.ownerWaiting.push(waiter);
      } else {
        const own = line.othersWaiting.get(clientId);
        if (own === undefined) {
          line.othersWaiting.set(clientId, [waiter]);
          line.turns.push(clientId);
        } else {
          own.push(waiter);
        }
      }
    });
  }

  /** Throws when this caller may not take one more place on the line. */
  private admit(line: Line, accountId: string, clientId: string, owner: boolean): void {
    if (
      line.length >= this.limits.lengthMax ||
      (!owner && line.othersLength >= this.limits.lengthMax - this.limits.perClientMax)
    ) {
      throw fault('ACCOUNT_LOCKED', `too many requests queued on account ${accountId}; retry later`, accountId);
    }
    const mine = line.byClient.get(clientId) ?? 0;
    if (!owner && mine >= this.limits.perClientMax) {
      const retryAfterMs = Math.min(this.limits.waitMs, Math.max(1, Math.ceil(this.holdMsAverage * line.length)));
      throw rateLimited(
        `you have ${mine} requests on account ${accountId} in this server already; retry after ${retryAfterMs} ms`,
        retryAfterMs,
        accountId,
      );
    }
  }

  private take(line: Line, clientId: string, owner: boolean): void {
    line.length += 1;
    if (!owner) line.othersLength += 1;
    line.byClient.set(clientId, (line.byClient.get(clientId) ?? 0) + 1);
  }

  private give(line: Line, clientId: string, owner: boolean): void {
    line.length -= 1;
    if (!owner) line.othersLength -= 1;
    const mine = (line.byClient.get(clientId) ?? 0) - 1;
    if (mine > 0) line.byClient.set(clientId, mine);
    else line.byClient.delete(clientId);
  }

  /** Removes a cancelled waiter (the arrays stay within lengthMax: O(lengthMax) splice is fine). */
  private unqueue(line: Line, waiter: Waiter, owner: boolean): void {
    const fifo = owner ? line.ownerWaiting : line.othersWaiting.get(waiter.clientId);
    if (fifo === undefined) return;
    const index = fifo.indexOf(waiter);
    if (index >= 0) fifo.splice(index, 1);
    if (!owner && fifo.length === 0) {
      line.othersWaiting.delete(waiter.clientId);
      const turn = line.turns.indexOf(waiter.clientId);
      if (turn >= 0) line.turns.splice(turn, 1);
    }
  }

  /** The owner's oldest waiter, else the oldest waiter of the client whose turn it is. */
  private nextWaiter(line: Line): Waiter | undefined {
    const own = line.ownerWaiting.shift();
    if (own !== undefined) return own;
    const clientId = line.turns.shift();
    if (clientId === undefined) return undefined;
    // A client has a turn exactly while it has a non-empty FIFO (both kept in step below).
    const fifo = defined(line.othersWaiting.get(clientId), `the waiters of ${clientId}`);
    const next = defined(fifo.shift(), `the oldest waiter of ${clientId}`);
    if (fifo.length > 0) line.turns.push(clientId);
    else line.othersWaiting.delete(clientId);
    return next;
  }

  private leave(accountId: string, clientId: string, owner: boolean, sinceMs: number): void {
    const line = this.lines.get(accountId);
    if (line === undefined) throw new Error(`queue of account ${accountId} left but not entered`);
    this.holdMsAverage += HOLD_AVERAGE_WEIGHT * (Date.now() - sinceMs - this.holdMsAverage);
    this.give(line, clientId, owner);
    const next = this.nextWaiter(line);
    if (next !== undefined) {
      next.state = 'granted';
      clearTimeout(next.timer);
      next.resolve();
      return;
    }
    if (line.length !== 0) throw new Error(`queue of account ${accountId} lost count: ${line.length}`);
    this.lines.delete(accountId);
  }
}
