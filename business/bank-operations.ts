import { Logger } from '../common/logger';
import { Cents, formatCents } from '../common/money';
import { fault, isServiceFault, rateLimited } from '../common/service-fault';
import type { OperationContext, OperationHandler } from '../common/soap-host';
import { AccountQueue, QueueCaller } from './account-queue';
import { clientFaultOf } from './data-faults';
import { CallScope, DataClient } from './data-client';
import { LockedAccount } from './data-response';
import {
  accountIdArg,
  amountArg,
  entryKindsArg,
  optionalAmountArg,
  optionalEntryIdArg,
  statementLimitArg,
} from './input';
import { MoneyFlow } from './money-flow';
import { OwnerCache } from './owner-cache';
import { ClientRateLimiter } from './rate-limit';
import { transactionIdFor } from './transaction-id';

/**
 * The six operations of bank.wsdl. Order inside each: validate every argument, authorize
 * (from the owner cache, filled from the data tier on a miss) BEFORE anything is locked, then
 * take this server's per-account queue places, then one money movement on the data tier.
 * Response objects leave optional fields out rather than null; the SOAP edge writes the
 * fields in the WSDL's sequence order (common/soap-message.ts).
 */
export interface BankOperationDeps {
  readonly data: DataClient;
  readonly owners: OwnerCache;
  readonly queue: AccountQueue;
  readonly flow: MoneyFlow;
  /** One token per request of a client, before anything else is done for it. */
  readonly rateLimiter: ClientRateLimiter;
  readonly amountCentsMax: Cents;
  /** Accounts one client may own (the data tier enforces it in CreateAccount's transaction). */
  readonly accountsPerClientMax: number;
  /** Time from a request's start by which it is answered, whatever the data tier does. */
  readonly requestDeadlineMs: number;
  readonly logger: Logger;
}

export function bankOperations(deps: BankOperationDeps): Readonly<Record<string, OperationHandler>> {
  const { data, owners, queue, flow, rateLimiter, amountCentsMax, accountsPerClientMax, requestDeadlineMs, logger } =
    deps;

  /** The caller as the account queue sees it: owner of an account when the owner cache says so. */
  function queueCaller(ctx: OperationContext): QueueCaller {
    return { clientId: ctx.principalId, owns: (accountId) => owners.get(accountId) === ctx.principalId };
  }

  /** The data-tier call scope of one client request, its deadline counted from now. */
  function scopeOf(ctx: OperationContext): CallScope {
    return { requestId: ctx.requestId, deadlineAtMs: Date.now() + requestDeadlineMs, trace: ctx.trace };
  }

  /** Data-tier calls outside a money movement: their failures mapped for the client. */
  async function dataCall<T>(ctx: OperationContext, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw clientFaultOf(error, logger, ctx.requestId);
    }
  }

  /** The owner of an account, from the cache or the data tier (ACCOUNT_NOT_FOUND if none). */
  async function ownerOf(ctx: OperationContext, scope: CallScope, accountId: string): Promise<string> {
    const cached = owners.get(accountId);
    if (cached !== undefined) return cached;
    const states = await dataCall(ctx, () => data.read(scope, [accountId]));
    const state = accountIn(states, accountId, ctx);
    owners.set(accountId, state.ownerId);
    return state.ownerId;
  }

  function requireOwner(ctx: OperationContext, accountId: string, ownerId: string): void {
    if (ownerId !== ctx.principalId) throw fault('NOT_AUTHORIZED', `account ${accountId} is not yours`, accountId);
  }

  function accountIn(accounts: readonly LockedAccount[], accountId: string, ctx: OperationContext): LockedAccount {
    const account = accounts.find((a) => a.accountId === accountId);
    if (account === undefined) {
      logger.error('data tier answer lacks an account', { request_id: ctx.requestId, account: accountId });
      throw fault('INTERNAL_ERROR', `internal error; quote request id ${ctx.requestId}`);
    }
    return account;
  }

  const OpenAccount: OperationHandler = async (args, ctx) => {
    const initialCents = optionalAmountArg(args, 'initialDeposit', amountCentsMax);
    const transactionId = transactionIdFor(ctx.principalId, ctx.requestId);
    ctx.annotate({
      ...(initialCents === undefined ? {} : { amount: formatCents(initialCents) }),
      transaction_id: transactionId,
    });
    const created = await dataCall(ctx, () =>
      data.createAccount(scopeOf(ctx), ctx.principalId, transactionId, initialCents, accountsPerClientMax),
    ).catch((error: unknown) => {
      throw isServiceFault(error) && error.code === 'LIMIT_EXCEEDED'
        ? fault('LIMIT_EXCEEDED', `you own ${accountsPerClientMax} accounts, the most a client may; nothing changed`)
        : error;
    });
    owners.set(created.accountId, ctx.principalId);
    ctx.annotate({ accounts: [created.accountId] });
    return { accountId: created.accountId, balance: formatCents(created.balanceCents) };
  };

  const GetBalance: OperationHandler = async (args, ctx) => {
    const accountId = accountIdArg(args, 'accountId');
    ctx.annotate({ accounts: [accountId] });
    const cachedOwner = owners.get(accountId);
    if (cachedOwner !== undefined) requireOwner(ctx, accountId, cachedOwner);
    const state = accountIn(await dataCall(ctx, () => data.read(scopeOf(ctx), [accountId])), accountId, ctx);
    owners.set(accountId, state.ownerId);
    requireOwner(ctx, accountId, state.ownerId);
    return { accountId, balance: formatCents(state.balanceCents) };
  };

  const Deposit: OperationHandler = async (args, ctx) => {
    const accountId = accountIdArg(args, 'accountId');
    const amountCents = amountArg(args, 'amount', amountCentsMax);
    const transactionId = transactionIdFor(ctx.principalId, ctx.requestId);
    ctx.annotate({ accounts: [accountId], amount: formatCents(amountCents), transaction_id: transactionId });
    // Any existing account may receive a deposit: no owner check; Lock says if it exists.
    const scope = scopeOf(ctx);
    const outcome = await queue.run([accountId], queueCaller(ctx), () =>
      flow.apply({
        scope,
        transactionId,
        postings: [{ accountId, amountCents }],
      }),
    );
    const account = accountIn(outcome.accounts, accountId, ctx);
    owners.set(accountId, account.ownerId);
    const own = account.ownerId === ctx.principalId;
    return own
      ? { transactionId, accountId, balance: formatCents(account.balanceCents) }
      : { transactionId, accountId };
  };

  const Withdraw: OperationHandler = async (args, ctx) => {
    const accountId = accountIdArg(args, 'accountId');
    const amountCents = amountArg(args, 'amount', amountCentsMax);
    const transactionId = transactionIdFor(ctx.principalId, ctx.requestId);
    ctx.annotate({ accounts: [accountId], amount: formatCents(amountCents), transaction_id: transactionId });
    const scope = scopeOf(ctx);
    requireOwner(ctx, accountId, await ownerOf(ctx, scope, accountId));
    const outcome = await queue.run([accountId], queueCaller(ctx), () =>
      flow.apply({
        scope,
        transactionId,
        postings: [{ accountId, amountCents: -amountCents as Cents }],
      }),
    );
    return { transactionId, accountId, balance: formatCents(accountIn(outcome.accounts, accountId, ctx).balanceCents) };
  };

  const Transfer: OperationHandler = async (args, ctx) => {
    const fromAccountId = accountIdArg(args, 'fromAccountId');
    const toAccountId = accountIdArg(args, 'toAccountId');
    if (fromAccountId === toAccountId)
      throw fault('SAME_ACCOUNT', 'a transfer needs two different accounts', fromAccountId);
    const amountCents = amountArg(args, 'amount', amountCentsMax);
    const transactionId = transactionIdFor(ctx.principalId, ctx.requestId);
    ctx.annotate({
      accounts: [fromAccountId, toAccountId],
      amount: formatCents(amountCents),
      transaction_id: transactionId,
    });
    const scope = scopeOf(ctx);
    requireOwner(ctx, fromAccountId, await ownerOf(ctx, scope, fromAccountId));
    // The recipient may be anyone's; Lock (all or none) says ACCOUNT_NOT_FOUND if it is missing.
    const outcome = await queue.run([fromAccountId, toAccountId], queueCaller(ctx), () =>
      flow.apply({
        scope,
        transactionId,
        postings: [
          { accountId: fromAccountId, amountCents: -amountCents as Cents },
          { accountId: toAccountId, amountCents },
        ],
      }),
    );
    const from = accountIn(outcome.accounts, fromAccountId, ctx);
    // Only the sender's balance leaves this server; the recipient's never does.
    return { transactionId, fromAccountId, balance: formatCents(from.balanceCents) };
  };

  const GetStatement: OperationHandler = async (args, ctx) => {
    const accountId = accountIdArg(args, 'accountId');
    const filter = {
      limit: statementLimitArg(args, 'limit'),
      kinds: entryKindsArg(args, 'kind'),
      beforeEntryId: optionalEntryIdArg(args, 'beforeEntryId'),
    };
    ctx.annotate({ accounts: [accountId] });
    const cachedOwner = owners.get(accountId);
    if (cachedOwner !== undefined) requireOwner(ctx, accountId, cachedOwner);
    const journal = await dataCall(ctx, () => data.getJournal(scopeOf(ctx), accountId, filter));
    owners.set(accountId, journal.ownerId);
    requireOwner(ctx, accountId, journal.ownerId);
    const entries = journal.entries.map((e) => ({
      transactionId: e.transactionId,
      kind: e.kind,
      amount: formatCents(e.amountCents),
      balanceAfter: formatCents(e.balanceAfterCents),
      ...(e.counterpartyAccountId === undefined ? {} : { counterpartyAccountId: e.counterpartyAccountId }),
      at: e.at,
      entryId: e.entryId,
    }));
    return entries.length === 0
      ? { accountId, balance: formatCents(journal.balanceCents) }
      : { accountId, balance: formatCents(journal.balanceCents), entry: entries };
  };

  /** Every operation takes a token of the caller's bucket first (after authentication). */
  function limited(handler: OperationHandler): OperationHandler {
    return (args, ctx) => {
      const retryAfterMs = rateLimiter.take(ctx.principalId);
      if (retryAfterMs > 0) {
        return Promise.reject(
          rateLimited(`too many requests from ${ctx.principalId}; retry after ${retryAfterMs} ms`, retryAfterMs),
        );
      }
      return handler(args, ctx);
    };
  }

  const operations = { OpenAccount, GetBalance, Deposit, Withdraw, Transfer, GetStatement };
  return Object.freeze(
    Object.fromEntries(Object.entries(operations).map(([name, handler]) => [name, limited(handler)])),
  );
}
