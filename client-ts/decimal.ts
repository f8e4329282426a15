/**
 * Money on the client side is text: a `DecimalString` such as "10.00", exactly as it travels in
 * the XML. The brand stops a `number` (a binary float) from ever being passed or returned as an
 * amount; converting to arithmetic is the caller's choice (e.g. integer cents, or a decimal
 * library), never ours.
 *
 * `decimal(text)` accepts any xsd:decimal lexical form ("10", "10.5", "-1", "0.001", "0.010"):
 * the client deliberately does not apply the bank's business rules (> 0, at most 2 fraction
 * digits of value, maximum) so that the server's INVALID_AMOUNT fault is what the user sees, one
 * source of truth. The server reads amounts by value, as the WSDL's XML Schema does: "0.010" is
 * 0.01, "+5" and ".5" are fine, "0.011" is INVALID_AMOUNT.
 * What is not a decimal at all ("1e3", "NaN", "", "ten") is refused here, before any network
 * call, with a DecimalFormatError.
 */
export type DecimalString = string & { readonly __brand: 'DecimalString' };

/** xsd:decimal's lexical space (XML Schema part 2, 3.2.3.1). No exponent, no NaN/INF. */
const XSD_DECIMAL = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$/;
/** Longer text is not an amount anyone means; it would only bloat the request. */
export const DECIMAL_CHARS_MAX = 40;

export class DecimalFormatError extends TypeError {
  readonly text: unknown;
  constructor(text: unknown, why: string) {
    super(why);
    this.name = 'DecimalFormatError';
    this.text = text;
  }
}

export function isDecimalString(value: unknown): value is DecimalString {
  return typeof value === 'string' && value.length <= DECIMAL_CHARS_MAX && XSD_DECIMAL.test(value);
}

/** Brand decimal text; throws DecimalFormatError for numbers and non-decimal text. */
export function decimal(text: string): DecimalString {
  const value: unknown = text;
  if (typeof value === 'number' || typeof value === 'bigint') {
    throw new DecimalFormatError(
      value,
      `amounts are decimal text such as "10.00", not a ${typeof value} (${String(value)}): a float cannot hold money exactly`,
    );
  }
  if (typeof value !== 'string')
    throw new DecimalFormatError(value, `amount must be decimal text such as "10.00", got ${typeof value}`);
  if (value.length > DECIMAL_CHARS_MAX)
    throw new DecimalFormatError(value, `amount is longer than ${DECIMAL_CHARS_MAX} characters`);
  if (!XSD_DECIMAL.test(value))
    throw new DecimalFormatError(
      value,
      `not a decimal number: ${JSON.stringify(value)} (write e.g. 10.00; no exponent, no thousands separators)`,
    );
  return value as DecimalString;
}

/**
 * An amount the service can accept (> 0), checked before anything is sent: the CLIs refuse
 * `transfer 1 2 -- -1` locally (INVALID_AMOUNT) rather than asking the bank.
 */
export function positiveDecimal(text: string): DecimalString {
  const value = decimal(text);
  if (value.startsWith('-') || !/[1-9]/.test(value))
    throw new DecimalFormatError(value, `amount ${value} must be more than 0 (nothing was sent)`);
  return value;
}

/** Decimal text in the form balances are shown in: 10 → 10.00, 10.5 → 10.50, +.5 → 0.50. */
export function twoDecimals(value: DecimalString): string {
  const [whole = '', fraction = ''] = value.replace(/^[+-]/, '').split('.');
  const sign = value.startsWith('-') ? '-' : '';
  const digits = fraction.length <= 2 ? fraction.padEnd(2, '0') : fraction.replace(/0+$/, '').padEnd(2, '0');
  return `${sign}${BigInt(whole === '' ? '0' : whole).toString()}.${digits}`;
}
