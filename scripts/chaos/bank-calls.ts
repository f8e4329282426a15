import { AttemptResult, OpKind } from './history';
import type { EntryKind } from '../../common/contract';
import { LedgerEntry } from './ledger';
import { allLeafTexts, BankWire, Caller, leafText } from '../lib/bank-wire';
import { formatCents, parseBalance, parseSignedAmount } from '../../common/money';
import { defined } from '../../common/defined';

/**
 * The chaos tool's calls to the bank service, on the lean wire client of the benchmark
 * (scripts/lib/bank-wire.ts): one attempt of an operation becomes an AttemptResult, and a
 * statement becomes ledger entries. The wire is the same SOAP any client sends.
 */
export interface OpRequest {
  readonly op: OpKind;
  readonly from?: string;
  readonly to?: string;
  readonly amountCents: number;
}

function argsOf(req: OpRequest): [string, readonly (readonly [string, string])[]] {
  const amount = formatCents(req.amountCents);
  switch (req.op) {
    case 'transfer':
      return [
        'Transfer',
        [
          ['fromAccountId', defined(req.from, 'the account a transfer debits')],
          ['toAccountId', defined(req.to, 'the account a transfer credits')],
          ['amount', amount],
        ],
      ];
    case 'withdraw':
      return [
        'Withdraw',
        [
          ['accountId', defined(req.from, 'the account of a withdrawal')],
          ['amount', amount],
        ],
      ];
    case 'deposit':
      return [
        'Deposit',
        [
          ['accountId', defined(req.to, 'the account of a deposit')],
          ['amount', amount],
        ],
      ];
  }
}

export async function attempt(
  wire: BankWire,
  caller: Caller,
  req: OpRequest,
  requestId: string,
): Promise<AttemptResult> {
  const [operation, args] = argsOf(req);
  try {
    const r = await wire.call(operation, args, caller, requestId);
    if (r.httpStatus === 200 && r.faultCode === undefined) {
      const transactionId = leafText(r.raw, 'transactionId');
      if (transactionId === undefined) return { kind: 'no-answer', reason: 'answer without transactionId' };
      return { kind: 'ok', transactionId };
    }
    if (r.faultCode === undefined) return { kind: 'no-answer', reason: `HTTP ${r.httpStatus} without a fault` };
    return { kind: 'fault', code: r.faultCode, retryable: leafText(r.raw, 'retryable') === 'true' };
  } catch (err) {
    return { kind: 'no-answer', reason: err instanceof Error ? err.message : String(err) };
  }
}

export interface Statement {
  readonly balanceCents: number;
  /** Newest first, as the service lists them. */
  readonly entries: readonly LedgerEntry[];
}

const ENTRY = /<(?:[A-Za-z_][\w.-]*:)?entry>([\s\S]*?)<\/(?:[A-Za-z_][\w.-]*:)?entry>/g;

export async function statement(wire: BankWire, owner: Caller, accountId: string, limit: number): Promise<Statement> {
  const raw = await wire.ok(
    'GetStatement',
    [
      ['accountId', accountId],
      ['limit', String(limit)],
    ],
    owner,
  );
  return parseStatement(raw, accountId);
}

/** A GetStatementResponse as ledger entries; balances may be 0.00, posting amounts never are. */
export function parseStatement(raw: string, accountId: string): Statement {
  const entries: LedgerEntry[] = [];
  for (const m of raw.matchAll(ENTRY)) {
    const block = m[1] ?? '';
    const counterparty = leafText(block, 'counterpartyAccountId');
    entries.push({
      transactionId: leafText(block, 'transactionId') ?? '',
      kind: (leafText(block, 'kind') ?? '') as EntryKind,
      amountCents: parseSignedAmount(leafText(block, 'amount')),
      balanceAfterCents: parseBalance(leafText(block, 'balanceAfter')),
      ...(counterparty === undefined ? {} : { counterpartyAccountId: counterparty }),
    });
  }
  if (entries.length !== allLeafTexts(raw, 'kind').length)
    throw new Error(`statement of ${accountId}: entries could not be read`);
  return { balanceCents: parseBalance(leafText(raw, 'balance')), entries };
}
