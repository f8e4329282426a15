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

// Strict lexical forms (stricter than xsd:decimal on purpose, see wsdl/README.md):
// no sign on amounts, no exponent, no leading zeros, no lone dot, at most 2 fraction digits.
const UNSIGNED_DECIMAL = /^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$/;
const SIGNED_DECIMAL = /^-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$/;

function textToCents(text: string): number {
  const negative = text.startsWith('-');
  const unsigned = negative ? text.slice(1) : text;
  const [whole = '0', fraction = ''] = unsigned.split('.');
  const cents = Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  return negative ? -cents : cents;
}

export function isCents(value: number): value is Cents {
  return Number.isSafeInteger(value);
}

export function asCents(value: number): Cents {
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer number of cents: ${value}`);
  return value as Cents;
}

/** An amount a caller asks to move: > 0, ≤ amountCentsMax. Throws INVALID_AMOUNT otherwise. */
export function parseAmount(text: unknown, amountCentsMax: Cents = AMOUNT_CENTS_MAX_DEFAULT): Cents {
  if (typeof text !== 'string' || !UNSIGNED_DECIMAL.test(text)) {
    throw fault('INVALID_AMOUNT', 'amount must be a decimal greater than 0 with at most 2 fraction digits, e.g. 10.00');
  }
  const cents = textToCents(text);
  if (cents <= 0) throw fault('INVALID_AMOUNT', 'amount must be greater than 0');
  if (cents > amountCentsMax) throw fault('INVALID_AMOUNT', `amount must be at most ${formatCents(amountCentsMax)}`);
  return cents as Cents;
}

/** A balance: ≥ 0, ≤ BALANCE_CENTS_MAX. Throws INVALID_AMOUNT otherwise. */
export function parseBalance(text: unknown): Cents {
  if (typeof text !== 'string' || !UNSIGNED_DECIMAL.test(text)) {
    throw fault('INVALID_AMOUNT', 'balance must be a decimal of at least 0 with at most 2 fraction digits');
  }
  const cents = textToCents(text);
  if (cents > BALANCE_CENTS_MAX) throw fault('INVALID_AMOUNT', `balance must be at most ${formatCents(BALANCE_CENTS_MAX)}`);
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
