import { Logger } from '../common/logger';
import { Cents, formatCents, negateCents } from '../common/money';
import { fault, isServiceFault, rateLimited } from '../common/service-fault';
import type { OperationContext, OperationHandler } from '../common/soap-host';
import { AccountQueue, QueueCaller } from './account-queue';
import { clientFaultOf } from './data-faults';
import { CallScope, DataClient } from './data-client';
import { JournalEntry, LockedAccount } from './data-response';
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

type Operation = (
  deps: BankOperationDeps,
  args: Record<string, unknown>,
  ctx: OperationContext,
) => Promise<Record<string, unknown>>;

/** Every operation takes a token of the caller's bucket first (after authentication). */
function limited(deps: BankOperationDeps, operation: Operation): OperationHandler {
  return (args, ctx) => {
    const retryAfterMs = deps.rateLimiter.take(ctx.principalId);
    if (retryAfterMs > 0) {
      return Promise.reject(
        rateLimited(`too many requests from ${ctx.principalId}; retry after ${retryAfterMs} ms`, retryAfterMs),
      );
    }
    return operation(deps, args, ctx);
  };
}

const openAccount: Operation = async (deps, args, ctx) => {
  const { data, accountsPerClientMax } = deps;
  const initialCents = optionalAmountArg(args, 'initialDeposit', deps.amountCentsMax);
  const transactionId = transactionIdFor(ctx.principalId, ctx.requestId);
  ctx.annotate({
    ...(initialCents === undefined ? {} : { amount: formatCents(initialCents) }),
    transaction_id: transactionId,
  });
  const created = await dataCall(deps, ctx, () =>
    data.createAccount(scopeOf(deps, ctx), ctx.principalId, transactionId, initialCents, accountsPerClientMax),
  ).catch((error: unknown) => {
    throw isServiceFault(error) && error.code === 'LIMIT_EXCEEDED'
      ? fault('LIMIT_EXCEEDED', `you own ${accountsPerClientMax} accounts, the most a client may; nothing changed`)
      : error;
  });
  deps.owners.set(created.accountId, ctx.principalId);
  ctx.annotate({ accounts: [created.accountId] });
  return { accountId: created.accountId, balance: formatCents(created.balanceCents) };
};

const getBalance: Operation = async (deps, args, ctx) => {
  const { owners, data } = deps;
  const accountId = accountIdArg(args, 'accountId');
  ctx.annotate({ accounts: [accountId] });
  const cachedOwner = owners.get(accountId);
  if (cachedOwner !== undefined) requireOwner(ctx, accountId, cachedOwner);
  const states = await dataCall(deps, ctx, () => data.read(scopeOf(deps, ctx), [accountId]));
  const state = accountIn(deps, states, accountId, ctx);
  owners.set(accountId, state.ownerId);
  requireOwner(ctx, accountId, state.ownerId);
  return { accountId, balance: formatCents(state.balanceCents) };
};

const deposit: Operation = async (deps, args, ctx) => {
  // Any existing account may receive a deposit: no owner check; Lock says if it exists.
  const { transactionId, accountId, account } = await moveOne(deps, args, ctx, 'in');
  deps.owners.set(accountId, account.ownerId);
  const own = account.ownerId === ctx.principalId;
  return own ? { transactionId, accountId, balance: formatCents(account.balanceCents) } : { transactionId, accountId };
};

const withdraw: Operation = async (deps, args, ctx) => {
  const { transactionId, accountId, account } = await moveOne(deps, args, ctx, 'out');
  return { transactionId, accountId, balance: formatCents(account.balanceCents) };
};

/** Deposit or Withdraw: one posting on one account (out of it: only from the caller's own). */
async function moveOne(
  deps: BankOperationDeps,
  args: Record<string, unknown>,
  ctx: OperationContext,
  direction: 'in' | 'out',
): Promise<{ transactionId: string; accountId: string; account: LockedAccount }> {
  const accountId = accountIdArg(args, 'accountId');
  const amountCents = amountArg(args, 'amount', deps.amountCentsMax);
  const transactionId = transactionIdFor(ctx.principalId, ctx.requestId);
  ctx.annotate({ accounts: [accountId], amount: formatCents(amountCents), transaction_id: transactionId });
  const scope = scopeOf(deps, ctx);
  if (direction === 'out') requireOwner(ctx, accountId, await ownerOf(deps, ctx, scope, accountId));
  const outcome = await deps.queue.run([accountId], queueCaller(deps, ctx), () =>
    deps.flow.apply({
      scope,
      transactionId,
      postings: [{ accountId, amountCents: direction === 'in' ? amountCents : negateCents(amountCents) }],
    }),
  );
  return { transactionId, accountId, account: accountIn(deps, outcome.accounts, accountId, ctx) };
}

const transfer: Operation = async (deps, args, ctx) => {
  const fromAccountId = accountIdArg(args, 'fromAccountId');
  const toAccountId = accountIdArg(args, 'toAccountId');
  if (fromAccountId === toAccountId)
    throw fault('SAME_ACCOUNT', 'a transfer needs two different accounts', fromAccountId);
  const amountCents = amountArg(args, 'amount', deps.amountCentsMax);
  const transactionId = transactionIdFor(ctx.principalId, ctx.requestId);
  ctx.annotate({
    accounts: [fromAccountId, toAccountId],
    amount: formatCents(amountCents),
    transaction_id: transactionId,
  });
  const scope = scopeOf(deps, ctx);
  requireOwner(ctx, fromAccountId, await ownerOf(deps, ctx, scope, fromAccountId));
  // The recipient may be anyone's; Lock (all or none) says ACCOUNT_NOT_FOUND if it is missing.
  const outcome = await deps.queue.run([fromAccountId, toAccountId], queueCaller(deps, ctx), () =>
    deps.flow.apply({
      scope,
      transactionId,
      postings: [
        { accountId: fromAccountId, amountCents: negateCents(amountCents) },
        { accountId: toAccountId, amountCents },
      ],
    }),
  );
  const from = accountIn(deps, outcome.accounts, fromAccountId, ctx);
  // Only the sender's balance leaves this server; the recipient's never does.
  return { transactionId, fromAccountId, balance: formatCents(from.balanceCents) };
};

const getStatement: Operation = async (deps, args, ctx) => {
  const { owners, data } = deps;
  const accountId = accountIdArg(args, 'accountId');
  const filter = {
    limit: statementLimitArg(args, 'limit'),
    kinds: entryKindsArg(args, 'kind'),
    beforeEntryId: optionalEntryIdArg(args, 'beforeEntryId'),
  };
  ctx.annotate({ accounts: [accountId] });
  const cachedOwner = owners.get(accountId);
  if (cachedOwner !== undefined) requireOwner(ctx, accountId, cachedOwner);
  const journal = await dataCall(deps, ctx, () => data.getJournal(scopeOf(deps, ctx), accountId, filter));
  owners.set(accountId, journal.ownerId);
  requireOwner(ctx, accountId, journal.ownerId);
  const entries = journal.entries.map(statementEntry);
  return entries.length === 0
    ? { accountId, balance: formatCents(journal.balanceCents) }
    : { accountId, balance: formatCents(journal.balanceCents), entry: entries };
};

const OPERATIONS: Readonly<Record<string, Operation>> = {
  OpenAccount: openAccount,
  GetBalance: getBalance,
  Deposit: deposit,
  Withdraw: withdraw,
  Transfer: transfer,
  GetStatement: getStatement,
};

export function bankOperations(deps: BankOperationDeps): Readonly<Record<string, OperationHandler>> {
  return Object.freeze(
    Object.fromEntries(Object.entries(OPERATIONS).map(([name, operation]) => [name, limited(deps, operation)])),
  );
}

/** One journal entry as bank.wsdl's StatementEntry. */
function statementEntry(e: JournalEntry): Record<string, unknown> {
  return {
    transactionId: e.transactionId,
    kind: e.kind,
    amount: formatCents(e.amountCents),
    balanceAfter: formatCents(e.balanceAfterCents),
    ...(e.counterpartyAccountId === undefined ? {} : { counterpartyAccountId: e.counterpartyAccountId }),
    at: e.at,
    entryId: e.entryId,
  };
}

/** The caller as the account queue sees it: owner of an account when the owner cache says so. */
function queueCaller(deps: BankOperationDeps, ctx: OperationContext): QueueCaller {
  return { clientId: ctx.principalId, owns: (accountId) => deps.owners.get(accountId) === ctx.principalId };
}

/** The data-tier call scope of one client request, its deadline counted from now. */
function scopeOf(deps: BankOperationDeps, ctx: OperationContext): CallScope {
  return { requestId: ctx.requestId, deadlineAtMs: Date.now() + deps.requestDeadlineMs, trace: ctx.trace };
}

/** Data-tier calls outside a money movement: their failures mapped for the client. */
async function dataCall<T>(deps: BankOperationDeps, ctx: OperationContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw clientFaultOf(error, deps.logger, ctx.requestId);
  }
}

/** The owner of an account, from the cache or the data tier (ACCOUNT_NOT_FOUND if none). */
async function ownerOf(
  deps: BankOperationDeps,
  ctx: OperationContext,
  scope: CallScope,
  accountId: string,
): Promise<string> {
  const cached = deps.owners.get(accountId);
  if (cached !== undefined) return cached;
  const states = await dataCall(deps, ctx, () => deps.data.read(scope, [accountId]));
  const state = accountIn(deps, states, accountId, ctx);
  deps.owners.set(accountId, state.ownerId);
  return state.ownerId;
}

function requireOwner(ctx: OperationContext, accountId: string, ownerId: string): void {
  if (ownerId !== ctx.principalId) throw fault('NOT_AUTHORIZED', `account ${accountId} is not yours`, accountId);
}

function accountIn(
  deps: BankOperationDeps,
  accounts: readonly LockedAccount[],
  accountId: string,
  ctx: OperationContext,
): LockedAccount {
  const account = accounts.find((a) => a.accountId === accountId);
  if (account === undefined) {
    deps.logger.error('data tier answer lacks an account', { request_id: ctx.requestId, account: accountId });
    throw fault('INTERNAL_ERROR', `internal error; quote request id ${ctx.requestId}`);
  }
  return account;
}
