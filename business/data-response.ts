import { ACCOUNT_ID_PATTERN, ENTRY_ID_PATTERN, isEntryKind } from '../common/contract';
import { isFaultCode, FaultCode } from '../common/fault-codes';
import { Cents, parseBalance, parseSignedAmount } from '../common/money';
import { DataOperation } from './data-envelope';
import {
  child,
  childrenNamed,
  childText,
  optionalChildText,
  parseXml,
  XmlElement,
  XmlSyntaxError,
} from '../common/xml-reader';

/**
 * Reading the data tier's answers (wsdl/data.wsdl) into typed values. Money stays text until
 * common/money.ts turns it into cents; versions and fencing tokens (xsd:long) stay text.
 * Anything that does not have the WSDL's shape is a BadDataResponse (our bug or theirs, never
 * the client's).
 */
export interface LockedAccount {
  readonly accountId: string;
  readonly ownerId: string;
  readonly balanceCents: Cents;
  readonly version: string;
}

export interface DataAccountState extends LockedAccount {
  readonly locked: boolean;
}

export interface LockGrant {
  readonly lockId: string;
  readonly fencingToken: string;
  readonly leaseExpiresAt: string;
  readonly accounts: readonly LockedAccount[];
}

export interface UpdateOutcome {
  readonly transactionId: string;
  readonly replayed: boolean;
  readonly released: boolean;
  readonly accounts: readonly LockedAccount[];
}

export interface CreatedAccount {
  readonly accountId: string;
  readonly balanceCents: Cents;
  readonly replayed: boolean;
}

export interface JournalEntry {
  readonly transactionId: string;
  readonly kind: string;
  readonly amountCents: Cents;
  readonly balanceAfterCents: Cents;
  readonly counterpartyAccountId?: string;
  readonly at: string;
  /** The journal's order: the paging cursor (decimal text, like account ids). */
  readonly entryId: string;
}

export interface Journal {
  readonly accountId: string;
  readonly ownerId: string;
  readonly balanceCents: Cents;
  readonly entries: readonly JournalEntry[];
}

/** A DataFault as the data tier sent it. */
export interface DataFaultDetail {
  readonly code: FaultCode;
  readonly message: string;
  readonly accountId?: string;
  readonly retryable: boolean;
}

export class BadDataResponse extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadDataResponse';
  }
}

export type ParsedResponse =
  | { readonly kind: 'body'; readonly element: XmlElement }
  | { readonly kind: 'fault'; readonly fault: DataFaultDetail }
  | { readonly kind: 'soap-fault-without-detail'; readonly faultstring: string };

const LONG_TEXT = /^-?[0-9]{1,19}$/;

function bad(message: string): never {
  throw new BadDataResponse(message);
}

function booleanText(element: XmlElement, name: string): boolean {
  const text = childText(element, name);
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return bad(`<${name}> is not a boolean: ${JSON.stringify(text)}`);
}

function accountIdText(element: XmlElement, name: string): string {
  const text = childText(element, name);
  if (!ACCOUNT_ID_PATTERN.test(text)) bad(`<${name}> is not an account id: ${JSON.stringify(text)}`);
  return text;
}

function longText(element: XmlElement, name: string): string {
  const text = childText(element, name);
  if (!LONG_TEXT.test(text)) bad(`<${name}> is not an xsd:long: ${JSON.stringify(text)}`);
  return text;
}

function money<T>(parse: (text: string) => T, element: XmlElement, name: string): T {
  const text = childText(element, name);
  try {
    return parse(text);
  } catch {
    return bad(`<${name}> is not valid money: ${JSON.stringify(text)}`);
  }
}

/** Splits a response envelope into its body element or its fault. */
export function parseEnvelope(xml: string, operation: DataOperation | 'Batch'): ParsedResponse {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    return bad(error instanceof XmlSyntaxError ? error.message : 'unreadable XML');
  }
  if (root.name !== 'Envelope') bad(`root element is <${root.name}>, not a SOAP envelope`);
  const body = child(root, 'Body');
  if (body === undefined) return bad('no soap:Body');
  const first = body.children[0];
  if (first === undefined) return bad('empty soap:Body');
  if (first.name === 'Fault') {
    const faultstring = optionalChildText(first, 'faultstring') ?? '';
    const detail = child(first, 'detail');
    const dataFault = detail === undefined ? undefined : child(detail, 'DataFault');
    const fault = dataFault === undefined ? undefined : faultDetailOf(dataFault);
    return fault === undefined ? { kind: 'soap-fault-without-detail', faultstring } : { kind: 'fault', fault };
  }
  if (first.name !== `${operation}Response`) bad(`expected <${operation}Response>, got <${first.name}>`);
  return { kind: 'body', element: first };
}

/** A DataFault's fields (data.wsdl DataFaultDetail); undefined when its code is not one of ours. */
function faultDetailOf(element: XmlElement): DataFaultDetail | undefined {
  const code = optionalChildText(element, 'code') ?? '';
  if (!isFaultCode(code)) return undefined;
  const accountId = optionalChildText(element, 'accountId');
  return {
    code,
    message: optionalChildText(element, 'message') ?? '',
    ...(accountId === undefined ? {} : { accountId }),
    retryable: optionalChildText(element, 'retryable') === 'true',
  };
}

/** One answer of a BatchResponse: the call's result element (lock, update, unlock) or its fault. */
export type BatchAnswer =
  | { readonly kind: 'answer'; readonly element: XmlElement }
  | { readonly kind: 'fault'; readonly fault: DataFaultDetail };

/** A BatchResponse's answers, one per call and in the calls' order, each of the call's kind. */
export function readBatchResponse(element: XmlElement, callElements: readonly string[]): BatchAnswer[] {
  const answers = childrenNamed(element, 'answer');
  if (answers.length !== callElements.length)
    bad(`<BatchResponse> has ${answers.length} answers for ${callElements.length} calls`);
  return answers.map((answer, i) => {
    const [first, ...more] = answer.children;
    if (first === undefined || more.length > 0) return bad('an <answer> must hold exactly one element');
    if (first.name === 'fault') {
      const fault = faultDetailOf(first);
      return fault === undefined ? bad('an answer <fault> without a known code') : { kind: 'fault', fault };
    }
    if (first.name !== callElements[i]) bad(`answer ${i + 1} is <${first.name}>, not <${String(callElements[i])}>`);
    return { kind: 'answer', element: first };
  });
}

function lockedAccount(element: XmlElement): LockedAccount {
  return {
    accountId: accountIdText(element, 'accountId'),
    ownerId: childText(element, 'ownerId'),
    balanceCents: money(parseBalance, element, 'balance'),
    version: longText(element, 'version'),
  };
}

function accounts(element: XmlElement): LockedAccount[] {
  const list = childrenNamed(element, 'account').map(lockedAccount);
  if (list.length === 0) bad(`<${element.name}> lists no account`);
  return list;
}

export function readLockResponse(element: XmlElement): LockGrant {
  return {
    lockId: childText(element, 'lockId'),
    fencingToken: longText(element, 'fencingToken'),
    leaseExpiresAt: childText(element, 'leaseExpiresAt'),
    accounts: accounts(element),
  };
}

export function readReadResponse(element: XmlElement): DataAccountState[] {
  const list = childrenNamed(element, 'account').map((a) => ({
    ...lockedAccount(a),
    locked: booleanText(a, 'locked'),
  }));
  if (list.length === 0) bad('<ReadResponse> lists no account');
  return list;
}

export function readUpdateResponse(element: XmlElement): UpdateOutcome {
  return {
    transactionId: childText(element, 'transactionId'),
    replayed: booleanText(element, 'replayed'),
    released: booleanText(element, 'released'),
    accounts: accounts(element),
  };
}

export function readUnlockResponse(element: XmlElement): boolean {
  return booleanText(element, 'released');
}

export function readCreateAccountResponse(element: XmlElement): CreatedAccount {
  return {
    accountId: accountIdText(element, 'accountId'),
    balanceCents: money(parseBalance, element, 'balance'),
    replayed: booleanText(element, 'replayed'),
  };
}

/** A journal amount: a signed posting, or zero (an account opened without money). */
function parseEntryAmount(text: string): Cents {
  return /^-?0(\.0{1,2})?$/.test(text) ? (0 as Cents) : parseSignedAmount(text);
}

function journalEntry(element: XmlElement): JournalEntry {
  const kind = childText(element, 'kind');
  if (!isEntryKind(kind)) bad(`unknown journal entry kind ${JSON.stringify(kind)}`);
  const counterparty =
    child(element, 'counterpartyAccountId') === undefined ? undefined : accountIdText(element, 'counterpartyAccountId');
  return {
    transactionId: childText(element, 'transactionId'),
    kind,
    amountCents: money(parseEntryAmount, element, 'amount'),
    balanceAfterCents: money(parseBalance, element, 'balanceAfter'),
    ...(counterparty === undefined ? {} : { counterpartyAccountId: counterparty }),
    at: childText(element, 'at'),
    entryId: entryIdText(element),
  };
}

function entryIdText(element: XmlElement): string {
  const text = childText(element, 'entryId');
  if (!ENTRY_ID_PATTERN.test(text)) bad(`entryId is not a positive integer: ${JSON.stringify(text)}`);
  return text;
}

export function readGetJournalResponse(element: XmlElement): Journal {
  return {
    accountId: accountIdText(element, 'accountId'),
    ownerId: childText(element, 'ownerId'),
    balanceCents: money(parseBalance, element, 'balance'),
    entries: childrenNamed(element, 'entry').map(journalEntry),
  };
}
