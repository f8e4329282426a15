import { AMOUNT_CENTS_MAX_DEFAULT, BALANCE_CENTS_MAX, Cents, formatCents, parseAmount } from './money';
import type { Env } from './settings';
import { wsdlWithFacets } from './wsdl-facets';

/**
 * The largest BANK_AMOUNT_MAX allowed: 1/10,000 of the balance ceiling. A credit that would pass
 * the ceiling is refused, and anyone may deposit into any account, so refused-or-not tells a
 * sender whether the recipient's balance is within one maximum amount of the ceiling; keeping
 * the maximum this small keeps that to balances within 0.01 % of the ceiling.
 */
export const AMOUNT_CENTS_MAX_LIMIT = (BALANCE_CENTS_MAX / 10_000) as Cents;

/**
 * BANK_AMOUNT_MAX, read by the business servers (which enforce it) and by the balancer (which
 * serves the WSDL clients read it from): both must state the same maximum.
 */
export function amountMaxSetting(env: Env): Cents {
  const text = env['BANK_AMOUNT_MAX'];
  if (text === undefined || text === '') return AMOUNT_CENTS_MAX_DEFAULT;
  try {
    return parseAmount(text, AMOUNT_CENTS_MAX_LIMIT);
  } catch {
    throw new Error(
      `BANK_AMOUNT_MAX must be a decimal > 0 with at most 2 fraction digits, at most ${formatCents(AMOUNT_CENTS_MAX_LIMIT)}; got ${JSON.stringify(text)}`,
    );
  }
}

/** bank.wsdl as served: the checked-in contract with the configured maximum amount stated. */
export function bankWsdlText(wsdlPath: string, amountCentsMax: Cents): string {
  return wsdlWithFacets(wsdlPath, [
    { simpleType: 'Amount', facet: 'maxInclusive', value: formatCents(amountCentsMax) },
  ]);
}
