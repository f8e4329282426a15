import { fault } from './service-fault';

/**
 * Money inside distbank: an integer number of cents, branded so that a plain number (or a
 * float) cannot be passed where cents are meant. Decimals exist only at the XML edge, as text.
 * All cents values stay far below Number.MAX_SAFE_INTEGER (see BALANCE_CENTS_MAX), so integer
 * arithmetic on them is exact.
 */
export type Cents = number & { readonly __brand: 'Cents' };

/** The largest balance an account may hold: 10,000,000,000,000.00. Sums of two stay exact. */
export const BALANCE_CENTS_MAX = 1_000_000_000_000_000 as Cents;
/** The default for the configured maximum of one amount: 1,000,000.00. */
export const AMOUNT_CENTS_MAX_DEFAULT = 100_000_000 as Cents;

// The data tier's internal forms (data.wsdl states them as pattern facets): no sign on
// balances, no exponent, no leading zeros, no lone dot, at most 2 fraction digits as written.
const UNSIGNED_DECIMAL = /^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$/;
const SIGNED_DECIMAL = /^-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$/;

/**
 * The cents of a text that matched UNSIGNED_DECIMAL or SIGNED_DECIMAL, by a loop over its digits
 * (split, padEnd and Number were ~1 % of a business server's CPU). Exact below 2^53; a text
 * past that is past BALANCE_CENTS_MAX either way, and refused by the caller.
 */
function textToCents(text: string): number {
  const negative = text.charCodeAt(0) === 0x2d; // '-'
  let i = negative ? 1 : 0;
  let whole = 0;
  for (; i < text.length && text.charCodeAt(i) !== 0x2e; i++) whole = whole * 10 + (text.charCodeAt(i) - 0x30); // up to '.'
  let fraction = 0;
  let fractionDigits = 0;
  for (i++; i < text.length; i++, fractionDigits++) fraction = fraction * 10 + (text.charCodeAt(i) - 0x30);
  const cents = whole * 100 + (fractionDigits === 1 ? fraction * 10 : fraction);
  return negative ? -cents : cents;
}

/** xsd:decimal's lexical space (XML Schema 1.0 part 2, 3.2.3.1): no exponent, no NaN/INF. */
const XSD_DECIMAL = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/;
/**
 * bank.wsdl's Amount pattern: at most 16 integer and 8 fraction digits as written (zeros
 * included), so that every XML Schema processor can hold the value (libxml2 keeps 24 digits;
 * XML Schema 1.0 §3.2.3 requires 18 and lets processors document their own limit).
 */
export const AMOUNT_LEXICAL = /^[+-]?([0-9]{1,16}(\.[0-9]{0,8})?|\.[0-9]{1,8})$/;
/** Integer digits beyond which a value is past every bound we have (BALANCE_CENTS_MAX: 14). */
const WHOLE_DIGITS_MAX = 16;

/**
 * The value, in cents, of any xsd:decimal lexical form — by value, as XML Schema reads it:
 * `0.010` is 1 cent, `+5`, `.5`, `5.` and `007` are fine. Why there is no such value otherwise:
 * 'not-decimal' (not the lexical space: `1e3`, `NaN`, `""`, `.`), 'sub-cent' (more than 2
 * fraction digits of value: `0.011`), 'too-large' (more than WHOLE_DIGITS_MAX integer digits).
 * Exact: digit strings, never a float on the way.
 */
export function decimalCents(text: string): number | 'not-decimal' | 'sub-cent' | 'too-large' {
  const match = XSD_DECIMAL.exec(text);
  if (match === null) return 'not-decimal';
  const [, sign, whole = '', fraction = ''] = match;
  if (whole === '' && fraction === '') return 'not-decimal';
  let first = 0;
  while (first < whole.length && whole.charCodeAt(first) === 0x30) first++;
  let last = fraction.length;
  while (last > 0 && fraction.charCodeAt(last - 1) === 0x30) last--;
  const wholeDigits = whole.slice(first);
  const fractionDigits = fraction.slice(0, last);
  if (fractionDigits.length > 2) return 'sub-cent';
  if (wholeDigits.length > WHOLE_DIGITS_MAX) return 'too-large';
  // 16 digits and 2 more stay below 2^63; BigInt keeps them exact before the range checks.
  const cents = BigInt(wholeDigits === '' ? '0' : wholeDigits) * BigInt(100) + BigInt(fractionDigits.padEnd(2, '0'));
  if (cents > BigInt(Number.MAX_SAFE_INTEGER)) return 'too-large';
  const value = Number(cents);
  return sign === '-' && value !== 0 ? -value : value;
}

export function isCents(value: number): value is Cents {
  return Number.isSafeInteger(value);
}

/** The opposite sign: the debit posting of a withdrawal or a transfer. */
export function negateCents(cents: Cents): Cents {
  return -(cents as number) as Cents;
}

export function asCents(value: number): Cents {
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer number of cents: ${value}`);
  return value as Cents;
}

/**
 * An amount a caller asks to move, read by value (decimalCents): > 0, at most 2 fraction digits
 * of value, ≤ amountCentsMax, written as AMOUNT_LEXICAL allows. Throws INVALID_AMOUNT otherwise. bank.wsdl's Amount type says the
 * same (test/wsdl-lexical.test.ts holds the two to the same verdicts).
 */
export function parseAmount(text: unknown, amountCentsMax: Cents = AMOUNT_CENTS_MAX_DEFAULT): Cents {
  const cents = typeof text === 'string' && AMOUNT_LEXICAL.test(text) ? decimalCents(text) : 'not-decimal';
  if (cents === 'not-decimal') {
    throw fault(
      'INVALID_AMOUNT',
      'amount must be a decimal number such as 10.00: no exponent, at most 16 integer and 8 fraction digits',
    );
  }
  if (cents === 'sub-cent')
    throw fault('INVALID_AMOUNT', 'amount must be a whole number of cents (at most 2 fraction digits)');
  if (cents === 'too-large' ? (text as string).startsWith('-') : cents <= 0)
    throw fault('INVALID_AMOUNT', 'amount must be greater than 0');
  if (cents === 'too-large' || cents > amountCentsMax)
    throw fault('INVALID_AMOUNT', `amount must be at most ${formatCents(amountCentsMax)}`);
  return cents as Cents;
}

/** A balance: ≥ 0, ≤ BALANCE_CENTS_MAX. Throws INVALID_AMOUNT otherwise. */
export function parseBalance(text: unknown): Cents {
  if (typeof text !== 'string' || !UNSIGNED_DECIMAL.test(text)) {
    throw fault('INVALID_AMOUNT', 'balance must be a decimal of at least 0 with at most 2 fraction digits');
  }
  const cents = textToCents(text);
  if (cents > BALANCE_CENTS_MAX)
    throw fault('INVALID_AMOUNT', `balance must be at most ${formatCents(BALANCE_CENTS_MAX)}`);
  return cents as Cents;
}

/** A posting: non-zero, |amount| ≤ BALANCE_CENTS_MAX. "-0" and "0.00" are refused. */
export function parseSignedAmount(text: unknown): Cents {
  if (typeof text !== 'string' || !SIGNED_DECIMAL.test(text)) {
    throw fault('INVALID_AMOUNT', 'posting amount must be a non-zero decimal with at most 2 fraction digits');
  }
  const cents = textToCents(text);
  if (cents === 0) throw fault('INVALID_AMOUNT', 'posting amount must not be zero');
  if (Math.abs(cents) > BALANCE_CENTS_MAX) throw fault('INVALID_AMOUNT', 'posting amount is too large');
  return cents as Cents;
}

/** Cents to the wire's decimal text, always with 2 fraction digits: 1234 -> "12.34", -5 -> "-0.05". */
export function formatCents(cents: Cents | number): string {
  if (!Number.isSafeInteger(cents)) throw new Error(`not an integer number of cents: ${cents}`);
  const negative = cents < 0;
  const abs = Math.abs(cents);
  const whole = Math.trunc(abs / 100);
  const fraction = String(abs % 100).padStart(2, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}
