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

/** What both CLIs take as an amount: plain decimal notation (client-py's money.py writes no other). */
const PLAIN_DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;

/**
 * An amount typed on the command line, checked before anything is sent, by the same rule as the
 * Python CLI (client-py/distbank/cli.py `_amount`; test/cli-parity.test.ts): plain decimal
 * notation (`10`, `10.5`, `0.010`; not `+5`, `.5`, `5.`, `1e3`) and more than 0 — or 0 or more
 * for an opening deposit (`zeroOk`). Precision and the maximum stay the server's rule.
 */
export function cliAmount(text: string, zeroOk = false): DecimalString {
  if (!PLAIN_DECIMAL.test(text)) {
    const shown = text.slice(0, DECIMAL_CHARS_MAX);
    throw new DecimalFormatError(text, `amount ${shown} is not a plain decimal number like 10.00 (nothing was sent)`);
  }
  const value = decimal(text);
  const zero = !/[1-9]/.test(value);
  if (value.startsWith('-') && !zero) throw new DecimalFormatError(value, notPositive(value, zeroOk));
  if (zero && !zeroOk) throw new DecimalFormatError(value, notPositive(value, zeroOk));
  return value;
}

function notPositive(value: string, zeroOk: boolean): string {
  return `amount ${value} must be ${zeroOk ? '0 or more' : 'more than 0'} (nothing was sent)`;
}

/** Decimal text in the form balances are shown in: 10 → 10.00, 10.5 → 10.50, +.5 → 0.50. */
export function twoDecimals(value: DecimalString): string {
  const [whole = '', fraction = ''] = value.replace(/^[+-]/, '').split('.');
  const sign = value.startsWith('-') ? '-' : '';
  const digits = fraction.length <= 2 ? fraction.padEnd(2, '0') : fraction.replace(/0+$/, '').padEnd(2, '0');
  return `${sign}${BigInt(whole === '' ? '0' : whole).toString()}.${digits}`;
}
