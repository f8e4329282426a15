import { fault, ServiceFault } from '../common/service-fault';

/**
 * The accounts-per-owner limit of CreateAccount (data.wsdl accountsMax). The business tier
 * chooses the limit; the store counts the owner's accounts inside the transaction that would
 * add one, so concurrent creates cannot both pass it: SQLite has one writer, and PostgreSQL's
 * bank_create_account (server/postgres-functions.ts) takes a transaction-scoped advisory lock
 * per owner first, which also holds across several data servers sharing the database. A replay of a create that
 * succeeded is answered before the count, so it still returns its account.
 */
export function accountsLimitFault(ownerId: string, accountsMax: number): ServiceFault {
  return fault('LIMIT_EXCEEDED', `owner ${ownerId} holds ${accountsMax} accounts, the most allowed`);
}
