import { Logger } from '../common/logger';
import { compareAccountIds } from './account-queue';
import { clientFaultOf, isLostLock } from './data-faults';
import { CallScope, DataCallError, DataClient } from './data-client';
import { DataPosting } from './data-envelope';
import { UpdateOutcome } from './data-response';
import { OwnerCache } from './owner-cache';

/**
 * One money movement on the data tier: Lock the accounts (the data tier may queue us up to
 * lockWaitMs behind other business servers), then Update with release=true — two round trips
 * while the lock is held, the least the data tier's contract allows.
 *
 * When the lock was lost under us (lease expired, token stale, lock gone), Lock + Update again
 * with the SAME transaction id, at most retriesMax times: the data tier's idempotency record
 * makes a repeat harmless (it returns the first outcome if the first Update did commit).
 * When anything fails after Lock, the lock is released in the background (best effort), so
 * the account is not held until its lease runs out; the client's answer does not wait for it.
 */
export interface MoneyFlowSettings {
  readonly lockWaitMs: number;
  readonly lockLeaseMs: number | undefined;
  readonly retriesMax: number;
}

export interface Movement {
  readonly scope: CallScope;
  readonly transactionId: string;
  readonly postings: readonly DataPosting[];
}

export class MoneyFlow {
  constructor(
    private readonly data: DataClient,
    private readonly owners: OwnerCache,
    private readonly settings: MoneyFlowSettings,
    private readonly logger: Logger,
  ) {}

  /** Applies the postings exactly once; throws a client-facing fault otherwise. */
  async apply(movement: Movement): Promise<UpdateOutcome> {
    const { scope, transactionId, postings } = movement;
    const { requestId } = scope;
    const accountIds = [...new Set(postings.map((p) => p.accountId))].sort(compareAccountIds);
    for (let attempt = 0; ; attempt++) {
      let lockId: string | undefined;
      try {
        const grant = await this.data.lock(scope, accountIds, this.lockWaitMs(scope), this.settings.lockLeaseMs);
        lockId = grant.lockId;
        for (const account of grant.accounts) this.owners.set(account.accountId, account.ownerId);
        const outcome = await this.data.update(scope, grant.lockId, grant.fencingToken, transactionId, postings, true);
        if (!outcome.released) this.unlockInBackground(requestId, grant.lockId);
        return outcome;
      } catch (error) {
        if (lockId !== undefined && !releasedByRefusal(error)) this.unlockInBackground(requestId, lockId);
        if (isLostLock(error) && attempt < this.settings.retriesMax) {
          this.logger.warn('lock lost before Update; locking again', {
            request_id: requestId,
            transaction_id: transactionId,
            attempt,
          });
          continue;
        }
        throw clientFaultOf(error, this.logger, requestId);
      }
    }
  }

  /**
   * How long the data tier may queue our Lock: the configured wait, but never so long that the
   * Lock's answer (ACCOUNT_LOCKED) would come after the request's deadline — then the caller
   * would see SERVICE_UNAVAILABLE and a lock granted too late would sit until its lease ends.
   * Half of what remains leaves the other half for the Lock's own commit and the Update.
   */
  private lockWaitMs(scope: CallScope): number {
    const remainingMs = scope.deadlineAtMs - Date.now();
    return Math.max(0, Math.min(this.settings.lockWaitMs, Math.floor(remainingMs / 2)));
  }

  private unlockInBackground(requestId: string, lockId: string): void {
    this.data.unlock(this.data.freshScope(requestId), lockId).catch((error: unknown) => {
      // The lease bounds how long the account stays locked if this fails too.
      this.logger.warn('could not release a lock; its lease will expire', {
        request_id: requestId,
        lock_id: lockId,
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }
}

/**
 * A refused Update (INSUFFICIENT_FUNDS, INVALID_AMOUNT) is recorded and, with release=true,
 * releases the lock in the same data-tier transaction (wsdl/README.md, Update): no Unlock needed.
 */
function releasedByRefusal(error: unknown): boolean {
  if (!(error instanceof DataCallError) || error.kind !== 'fault' || error.operation !== 'Update') return false;
  const code = error.fault?.code;
  return code === 'INSUFFICIENT_FUNDS' || code === 'INVALID_AMOUNT';
}
