/** Human-readable lines for the `bank` CLI (the --json output is the result objects as they are). */
import {
  DepositResult,
  OpenAccountResult,
  BalanceResult,
  StatementResult,
  TransferResult,
  WithdrawResult,
} from './responses';

export function openedText(r: OpenAccountResult): string {
  return `opened account ${r.accountId}, balance ${r.balance}`;
}

export function balanceText(r: BalanceResult): string {
  return `account ${r.accountId}: balance ${r.balance}`;
}

export function depositText(r: DepositResult, amount: string): string {
  const balance = r.balance === undefined ? ' (not your account: balance not shown)' : `, balance ${r.balance}`;
  return `deposited ${amount} into account ${r.accountId}${balance} [transaction ${r.transactionId}]`;
}

export function withdrawText(r: WithdrawResult, amount: string): string {
  return `withdrew ${amount} from account ${r.accountId}, balance ${r.balance} [transaction ${r.transactionId}]`;
}

export function transferText(r: TransferResult, toAccountId: string, amount: string): string {
  return `transferred ${amount} from account ${r.fromAccountId} to account ${toAccountId}, balance ${r.balance} [transaction ${r.transactionId}]`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  // Numbers right-aligned (columns 2 and 3: amount, balance after), text left-aligned.
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === 2 || i === 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function statementText(r: StatementResult): string {
  const head = `account ${r.accountId}: balance ${r.balance}, ${r.entries.length} entr${r.entries.length === 1 ? 'y' : 'ies'} (newest first)`;
  if (r.entries.length === 0) return head;
  const rows = [
    ['at', 'kind', 'amount', 'balance', 'counterparty', 'transaction', 'entry'],
    ...r.entries.map((e) => [
      e.at,
      e.kind,
      e.amount,
      e.balanceAfter,
      e.counterpartyAccountId ?? '',
      e.transactionId,
      e.entryId,
    ]),
  ];
  return `${head}\n${table(rows)}`;
}
