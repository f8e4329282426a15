/**
 * The TypeScript client of the distbank bank service: `import { BankClient, decimal } from './client-ts'`.
 * See client-ts/README.md.
 */
export { BankClient, BANK_WSDL_PATH, newRequestId, headerBlocksXml } from './bank-client';
/** The contract's constants the client checks against (common/contract.ts; bank.wsdl). */
export {
  ACCOUNT_ID_PATTERN,
  BANK_NAMESPACE,
  BANK_REQUEST_ID_PATTERN as REQUEST_ID_PATTERN,
  ENTRY_KINDS,
} from '../common/contract';
export type { AccountId, EntryKind } from '../common/contract';
/** Thrown before sending when a header value has a character XML 1.0 cannot carry. */
export { XmlCharError } from '../common/xml-writer';
export type { BankClientOptions, BankSoapHeaders, CallOptions, StatementOptions } from './bank-client';
export { decimal, isDecimalString, DecimalFormatError } from './decimal';
export type { DecimalString } from './decimal';
export * from './errors';
export type {
  AccountBalance,
  BalanceResult,
  DepositResult,
  OpenAccountResult,
  StatementEntry,
  StatementResult,
  TransferResult,
  WithdrawResult,
} from './responses';
