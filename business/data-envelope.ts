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

export interface DataPosting {
  readonly accountId: string;
  /** Signed: negative debits, positive credits; never zero. */
  readonly amountCents: Cents;
}

export function soapActionOf(operation: DataOperation): string {
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

  private wrap(operation: DataOperation, requestId: string, inner: string): string {
    return (
      `${this.prefix}<d:request-id>${xmlText(requestId)}</d:request-id></soap:Header>` +
      `<soap:Body><d:${operation}>${inner}</d:${operation}></soap:Body></soap:Envelope>`
    );
  }

  lock(requestId: string, accountIds: readonly string[], waitMs: number, leaseMs: number | undefined): string {
    const ids = accountIds.map((id) => `<d:accountId>${xmlText(id)}</d:accountId>`).join('');
    const lease = leaseMs === undefined ? '' : `<d:leaseMs>${integerText(leaseMs)}</d:leaseMs>`;
    return this.wrap('Lock', requestId, `${ids}<d:waitMs>${integerText(waitMs)}</d:waitMs>${lease}`);
  }

  read(requestId: string, accountIds: readonly string[]): string {
    return this.wrap('Read', requestId, accountIds.map((id) => `<d:accountId>${xmlText(id)}</d:accountId>`).join(''));
  }

  update(
    requestId: string,
    lockId: string,
    fencingToken: string,
    transactionId: string,
    postings: readonly DataPosting[],
    release: boolean,
  ): string {
    const lines = postings
      .map(
        (p) =>
          `<d:posting><d:accountId>${xmlText(p.accountId)}</d:accountId><d:amount>${formatCents(p.amountCents)}</d:amount></d:posting>`,
      )
      .join('');
    return this.wrap(
      'Update',
      requestId,
      `<d:lockId>${xmlText(lockId)}</d:lockId><d:fencingToken>${xmlText(fencingToken)}</d:fencingToken>` +
        `<d:transactionId>${xmlText(transactionId)}</d:transactionId>${lines}<d:release>${release ? 'true' : 'false'}</d:release>`,
    );
  }

  unlock(requestId: string, lockId: string): string {
    return this.wrap('Unlock', requestId, `<d:lockId>${xmlText(lockId)}</d:lockId>`);
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

function integerText(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
}
