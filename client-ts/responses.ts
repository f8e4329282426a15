/**
 * The typed results of BankClient calls, and their checked conversion from what node-soap
 * parsed. node-soap validates nothing, so every field bank.wsdl promises is checked here; a
 * response that breaks the contract becomes a BankProtocolError instead of an `undefined`
 * travelling into the caller's code.
 */
import { ACCOUNT_ID_PATTERN, AccountId, ENTRY_KINDS, EntryKind } from '../common/contract';
import { DecimalString, isDecimalString } from './decimal';
import { BankProtocolError } from './errors';

/** Every result says which request-id it was sent with (the idempotency key). */
export interface Sent {
  readonly requestId: string;
}
export interface AccountBalance extends Sent {
  readonly accountId: AccountId;
  readonly balance: DecimalString;
}
export type OpenAccountResult = AccountBalance;
export type BalanceResult = AccountBalance;
export interface DepositResult extends Sent {
  readonly transactionId: string;
  readonly accountId: AccountId;
  /** Present only when the account is the caller's own. */
  readonly balance?: DecimalString;
}
export interface WithdrawResult extends Sent {
  readonly transactionId: string;
  readonly accountId: AccountId;
  readonly balance: DecimalString;
}
export interface TransferResult extends Sent {
  readonly transactionId: string;
  readonly fromAccountId: AccountId;
  /** The balance of fromAccountId after the transfer; the recipient's is never revealed. */
  readonly balance: DecimalString;
}
export interface StatementEntry {
  readonly transactionId: string;
  readonly kind: EntryKind;
  /** Signed: negative for money leaving the account. */
  readonly amount: DecimalString;
  readonly balanceAfter: DecimalString;
  readonly counterpartyAccountId?: AccountId;
  /** xsd:dateTime text as sent by the server, e.g. "2026-11-26T15:04:32.123Z". */
  readonly at: string;
  /** The entry's place in the journal (decimal text): pass the last one as beforeEntryId for the next page. */
  readonly entryId: string;
}
export interface StatementResult extends Sent {
  readonly accountId: AccountId;
  readonly balance: DecimalString;
  /** Newest first. */
  readonly entries: readonly StatementEntry[];
}

type Raw = Readonly<Record<string, unknown>>;

class Reader {
  constructor(
    private readonly raw: Raw,
    private readonly where: string,
    private readonly requestId: string,
  ) {}

  private fail(name: string, why: string): never {
    throw new BankProtocolError(`${this.where}: field ${name} ${why}`, this.requestId);
  }

  private text(name: string): string | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string')
      this.fail(name, `is not text (got ${Array.isArray(value) ? 'a list' : typeof value})`);
    return value;
  }

  required(name: string): string {
    return this.text(name) ?? this.fail(name, 'is missing');
  }

  accountId(name: string): AccountId {
    const value = this.required(name);
    return ACCOUNT_ID_PATTERN.test(value) ? value : this.fail(name, `is not an account id: ${JSON.stringify(value)}`);
  }

  optionalAccountId(name: string): AccountId | undefined {
    return this.text(name) === undefined ? undefined : this.accountId(name);
  }

  decimal(name: string): DecimalString {
    const value = this.required(name);
    return isDecimalString(value) ? value : this.fail(name, `is not a decimal: ${JSON.stringify(value)}`);
  }

  optionalDecimal(name: string): DecimalString | undefined {
    return this.text(name) === undefined ? undefined : this.decimal(name);
  }

  kind(name: string): EntryKind {
    const value = this.required(name);
    return (ENTRY_KINDS as readonly string[]).includes(value)
      ? (value as EntryKind)
      : this.fail(name, `is not an entry kind: ${value}`);
  }

  /** A repeated element: node-soap gives an array for 2+, a plain object for 1, nothing for 0. */
  list(name: string): Raw[] {
    const value = this.raw[name];
    if (value === undefined || value === null) return [];
    const items = Array.isArray(value) ? (value as unknown[]) : [value];
    return items.map((item, index) =>
      typeof item === 'object' && item !== null ? (item as Raw) : this.fail(`${name}[${index}]`, 'is not an element'),
    );
  }
}

function reader(raw: unknown, where: string, requestId: string): Reader {
  if (typeof raw !== 'object' || raw === null) {
    throw new BankProtocolError(`${where}: the response has no ${where} element`, requestId);
  }
  return new Reader(raw as Raw, where, requestId);
}

export function toAccountBalance(raw: unknown, where: string, requestId: string): AccountBalance {
  const r = reader(raw, where, requestId);
  return { accountId: r.accountId('accountId'), balance: r.decimal('balance'), requestId };
}

export function toDepositResult(raw: unknown, requestId: string): DepositResult {
  const r = reader(raw, 'DepositResponse', requestId);
  const balance = r.optionalDecimal('balance');
  return {
    transactionId: r.required('transactionId'),
    accountId: r.accountId('accountId'),
    ...(balance === undefined ? {} : { balance }),
    requestId,
  };
}

export function toWithdrawResult(raw: unknown, requestId: string): WithdrawResult {
  const r = reader(raw, 'WithdrawResponse', requestId);
  return {
    transactionId: r.required('transactionId'),
    accountId: r.accountId('accountId'),
    balance: r.decimal('balance'),
    requestId,
  };
}

export function toTransferResult(raw: unknown, requestId: string): TransferResult {
  const r = reader(raw, 'TransferResponse', requestId);
  return {
    transactionId: r.required('transactionId'),
    fromAccountId: r.accountId('fromAccountId'),
    balance: r.decimal('balance'),
    requestId,
  };
}

export function toStatementResult(raw: unknown, requestId: string): StatementResult {
  const r = reader(raw, 'GetStatementResponse', requestId);
  const entries = r.list('entry').map((item, index): StatementEntry => {
    const e = new Reader(item, `GetStatementResponse.entry[${index}]`, requestId);
    const counterparty = e.optionalAccountId('counterpartyAccountId');
    return {
      transactionId: e.required('transactionId'),
      kind: e.kind('kind'),
      amount: e.decimal('amount'),
      balanceAfter: e.decimal('balanceAfter'),
      ...(counterparty === undefined ? {} : { counterpartyAccountId: counterparty }),
      at: e.required('at'),
      entryId: e.required('entryId'),
    };
  });
  return { accountId: r.accountId('accountId'), balance: r.decimal('balance'), entries, requestId };
}
