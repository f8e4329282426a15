/**
 * The TypeScript client of the distbank bank service: `import { BankClient, decimal } from './client-ts'`.
 * See client-ts/README.md.
 */
export {
  BankClient,
  BANK_NAMESPACE,
  BANK_WSDL_PATH,
  REQUEST_ID_PATTERN,
  newRequestId,
  headerBlocksXml,
} from './bank-client';
export type { BankClientOptions, BankSoapHeaders, CallOptions, StatementOptions } from './bank-client';
export { decimal, isDecimalString, DecimalFormatError } from './decimal';
export type { DecimalString } from './decimal';
export * from './errors';
export { ACCOUNT_ID_PATTERN, ENTRY_KINDS } from './responses';
export type {
  AccountId,
  AccountBalance,
  BalanceResult,
  DepositResult,
  EntryKind,
  OpenAccountResult,
  StatementEntry,
  StatementResult,
  TransferResult,
  WithdrawResult,
} from './responses';
