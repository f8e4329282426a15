import { ACCOUNT_ID_PATTERN, ENTRY_ID_PATTERN, ENTRY_KINDS, isEntryKind } from '../common/contract';
import { Cents, parseAmount } from '../common/money';
import { fault } from '../common/service-fault';

/**
 * Validation of the client's arguments. node-soap hands every leaf over as text (or as an
 * object/array when the element has attributes or is repeated); anything that is not exactly
 * the expected text is refused here, before any data-tier call.
 */
/** xsd:int's lexical space; the value decides (`+5`, `007` are 5 and 7), as bank.wsdl's StatementLimit. */
const XSD_INTEGER = /^[+-]?[0-9]+$/;
export const STATEMENT_LIMIT_DEFAULT = 100;
export const STATEMENT_LIMIT_MAX = 1000;

export function accountIdArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string' || !ACCOUNT_ID_PATTERN.test(value)) {
    throw fault('INVALID_REQUEST', `${name} must be an account id: 1 to 15 digits, no leading zero`);
  }
  return value;
}

export function amountArg(args: Record<string, unknown>, name: string, amountCentsMax: Cents): Cents {
  return parseAmount(args[name], amountCentsMax);
}

export function optionalAmountArg(
  args: Record<string, unknown>,
  name: string,
  amountCentsMax: Cents,
): Cents | undefined {
  return args[name] === undefined ? undefined : parseAmount(args[name], amountCentsMax);
}

export function statementLimitArg(args: Record<string, unknown>, name: string): number {
  const value = args[name];
  if (value === undefined) return STATEMENT_LIMIT_DEFAULT;
  const digits = typeof value === 'string' && XSD_INTEGER.test(value) ? value.replace(/^[+-]?0*/, '') : undefined;
  const negative = typeof value === 'string' && value.startsWith('-');
  const limit = digits !== undefined && !negative && digits.length <= 4 ? Number(digits) : NaN;
  if (!(limit >= 1 && limit <= STATEMENT_LIMIT_MAX)) {
    throw fault('INVALID_REQUEST', `${name} must be an integer from 1 to ${STATEMENT_LIMIT_MAX}`);
  }
  return limit;
}

/** GetStatement's kind filter: 0..5 distinct entry kinds (none = every kind). */
export function entryKindsArg(args: Record<string, unknown>, name: string): readonly string[] | undefined {
  const value = args[name];
  if (value === undefined) return undefined;
  const kinds = Array.isArray(value) ? value : [value];
  if (kinds.some((k) => !isEntryKind(k)) || new Set(kinds).size !== kinds.length) {
    throw fault('INVALID_REQUEST', `${name} must be one of ${ENTRY_KINDS.join(', ')}, each at most once`);
  }
  return kinds as string[];
}

/** GetStatement's paging cursor: an entryId of an earlier page (decimal text, kept as text). */
export function optionalEntryIdArg(args: Record<string, unknown>, name: string): string | undefined {
  const value = args[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !ENTRY_ID_PATTERN.test(value))
    throw fault('INVALID_REQUEST', `${name} must be an entryId: a positive integer`);
  return value;
}
