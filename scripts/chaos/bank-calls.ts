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

/** A statement and whether it is whole (false: longer than the reader's bound, newest entries only). */
export interface WholeStatement extends Statement {
  readonly complete: boolean;
}

/**
 * The whole statement, newest first, page by page (GetStatement's beforeEntryId: each page the
 * entries older than the last one read), until a page shorter than pageLimit or past entriesMax
 * entries. Read after a run, when nothing writes any more: every page must show the same
 * balance, else the statement moved under the reader and it says so.
 */
export async function wholeStatement(
  wire: BankWire,
  owner: Caller,
  accountId: string,
  pageLimit: number,
  entriesMax: number,
): Promise<WholeStatement> {
  const entries: LedgerEntry[] = [];
  let balanceCents: number | undefined;
  let beforeEntryId: string | undefined;
  for (;;) {
    const args: [string, string][] = [
      ['accountId', accountId],
      ['limit', String(pageLimit)],
    ];
    if (beforeEntryId !== undefined) args.push(['beforeEntryId', beforeEntryId]);
    const raw = await wire.ok('GetStatement', args, owner);
    const page = parseStatement(raw, accountId);
    if (balanceCents !== undefined && page.balanceCents !== balanceCents)
      throw new Error(`statement of ${accountId} changed while it was read page by page`);
    balanceCents = page.balanceCents;
    entries.push(...page.entries);
    if (page.entries.length < pageLimit) return { balanceCents, entries, complete: true };
    if (entries.length >= entriesMax) return { balanceCents, entries, complete: false };
    beforeEntryId = allLeafTexts(raw, 'entryId').at(-1);
    if (beforeEntryId === undefined) throw new Error(`statement of ${accountId}: a full page without entry ids`);
  }
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
