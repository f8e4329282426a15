import { Cents, formatCents } from '../common/money';
import { DATA_NAMESPACE, SOAP11_ENVELOPE_NS, soapActionHeader } from '../common/contract';
import { xmlText } from '../common/xml-writer';

/**
 * Request envelopes for the data tier (wsdl/data.wsdl), built from templates instead of through
 * node-soap's client (docs/ARCHITECTURE.md §9: ~410 µs vs ~75 µs of CPU per call). The shape is exactly what
 * the WSDL says: SOAP 1.1, document/literal wrapped, qualified elements in DATA_NAMESPACE,
 * header blocks auth-token, business-id, request-id; SOAPAction soapActionHeader (common/contract.ts).
 * Every text value goes through xmlText (common/xml-writer.ts); numbers are formatted by us, never by a library.
 */

/** Which journal entries GetJournal returns: validated already (business/input.ts). */
export interface JournalFilter {
  readonly limit: number;
  readonly kinds?: readonly string[] | undefined;
  readonly beforeEntryId?: string | undefined;
}

export type DataOperation = 'Lock' | 'Read' | 'Update' | 'Unlock' | 'CreateAccount' | 'GetJournal';

/** The operations a Batch may carry, by the element of their call (data.wsdl BatchCall). */
export const BATCH_ELEMENTS = Object.freeze({ Lock: 'lock', Update: 'update', Unlock: 'unlock' } as const);
export type BatchableOperation = keyof typeof BATCH_ELEMENTS;

/** One call of a Batch: its own request id, trace context and fields (inner XML, in data.wsdl's order). */
export interface BatchCallXml {
  readonly operation: BatchableOperation;
  readonly requestId: string;
  readonly traceparent: string | undefined;
  readonly fields: string;
}

export interface DataPosting {
  readonly accountId: string;
  /** Signed: negative debits, positive credits; never zero. */
  readonly amountCents: Cents;
}

export function soapActionOf(operation: DataOperation | 'Batch'): string {
  return soapActionHeader(DATA_NAMESPACE, operation);
}

/** The fixed part of every envelope up to the request-id, with this server's credentials. */
export class DataEnvelopes {
  private readonly prefix: string;

  constructor(businessId: string, businessToken: string) {
    this.prefix =
      '<?xml version="1.0" encoding="utf-8"?>' +
      `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:d="${DATA_NAMESPACE}"><soap:Header>` +
      `<d:auth-token>${xmlText(businessToken)}</d:auth-token>` +
      `<d:business-id>${xmlText(businessId)}</d:business-id>`;
  }

  /** The envelope of one operation around its fields (built once, also for a Batch call). */
  wrap(operation: DataOperation, requestId: string, inner: string): string {
    return (
      `${this.prefix}<d:request-id>${xmlText(requestId)}</d:request-id></soap:Header>` +
      `<soap:Body><d:${operation}>${inner}</d:${operation}></soap:Body></soap:Envelope>`
    );
  }

  /** A Batch of calls; the envelope names no request (each call names its own). */
  batch(calls: readonly BatchCallXml[]): string {
    let body = '';
    for (const call of calls) {
      const element = BATCH_ELEMENTS[call.operation];
      const trace = call.traceparent === undefined ? '' : `<d:traceparent>${xmlText(call.traceparent)}</d:traceparent>`;
      body += `<d:call><d:requestId>${xmlText(call.requestId)}</d:requestId>${trace}<d:${element}>${call.fields}</d:${element}></d:call>`;
    }
    return `${this.prefix}</soap:Header><soap:Body><d:Batch>${body}</d:Batch></soap:Body></soap:Envelope>`;
  }

  lock(requestId: string, accountIds: readonly string[], waitMs: number, leaseMs: number | undefined): string {
    return this.wrap('Lock', requestId, lockFields(accountIds, waitMs, leaseMs));
  }

  read(requestId: string, accountIds: readonly string[]): string {
    return this.wrap('Read', requestId, accountIds.map((id) => `<d:accountId>${xmlText(id)}</d:accountId>`).join(''));
  }

  update(requestId: string, update: UpdateFields): string {
    return this.wrap('Update', requestId, updateFields(update));
  }

  unlock(requestId: string, lockId: string): string {
    return this.wrap('Unlock', requestId, unlockFields(lockId));
  }

  createAccount(
    requestId: string,
    ownerId: string,
    transactionId: string,
    initialBalanceCents: Cents | undefined,
    accountsMax: number,
  ): string {
    const initial =
      initialBalanceCents === undefined
        ? ''
        : `<d:initialBalance>${formatCents(initialBalanceCents)}</d:initialBalance>`;
    return this.wrap(
      'CreateAccount',
      requestId,
      `<d:ownerId>${xmlText(ownerId)}</d:ownerId><d:transactionId>${xmlText(transactionId)}</d:transactionId>${initial}` +
        `<d:accountsMax>${integerText(accountsMax)}</d:accountsMax>`,
    );
  }

  getJournal(requestId: string, accountId: string, query: JournalFilter): string {
    const kinds = (query.kinds ?? []).map((k) => `<d:kind>${xmlText(k)}</d:kind>`).join('');
    const before =
      query.beforeEntryId === undefined ? '' : `<d:beforeEntryId>${xmlText(query.beforeEntryId)}</d:beforeEntryId>`;
    return this.wrap(
      'GetJournal',
      requestId,
      `<d:accountId>${xmlText(accountId)}</d:accountId><d:limit>${integerText(query.limit)}</d:limit>${kinds}${before}`,
    );
  }
}

/** Lock's fields; waitMs undefined leaves it out (a Lock in a Batch never waits, data.wsdl BatchLock). */
export function lockFields(
  accountIds: readonly string[],
  waitMs: number | undefined,
  leaseMs: number | undefined,
): string {
  const ids = accountIds.map((id) => `<d:accountId>${xmlText(id)}</d:accountId>`).join('');
  const wait = waitMs === undefined ? '' : `<d:waitMs>${integerText(waitMs)}</d:waitMs>`;
  const lease = leaseMs === undefined ? '' : `<d:leaseMs>${integerText(leaseMs)}</d:leaseMs>`;
  return `${ids}${wait}${lease}`;
}

export interface UpdateFields {
  readonly lockId: string;
  readonly fencingToken: string;
  readonly transactionId: string;
  readonly postings: readonly DataPosting[];
  readonly release: boolean;
}

export function updateFields(u: UpdateFields): string {
  const lines = u.postings
    .map(
      (p) =>
        `<d:posting><d:accountId>${xmlText(p.accountId)}</d:accountId><d:amount>${formatCents(p.amountCents)}</d:amount></d:posting>`,
    )
    .join('');
  return (
    `<d:lockId>${xmlText(u.lockId)}</d:lockId><d:fencingToken>${xmlText(u.fencingToken)}</d:fencingToken>` +
    `<d:transactionId>${xmlText(u.transactionId)}</d:transactionId>${lines}<d:release>${u.release ? 'true' : 'false'}</d:release>`
  );
}

export function unlockFields(lockId: string): string {
  return `<d:lockId>${xmlText(lockId)}</d:lockId>`;
}

function integerText(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
}
