import { expect } from 'chai';
import { charsetOf } from '../common/charset';
import { decimalCents, parseBalance, parseSignedAmount } from '../common/money';
import { SeededRandom } from '../common/seeded-random';
import { isServiceFault } from '../common/service-fault';
import { int8 } from '../server/postgres-rows';

/**
 * The per-request parsers made cheaper for the hot path (digit loops, one-entry memos, a
 * number fast path) give the answers the plain ones gave: checked here against the exact
 * references (decimalCents reads by BigInt) and on the edge cases the fast paths skip.
 */
function refusal(run: () => unknown): string {
  try {
    return `ok ${String(run())}`;
  } catch (error) {
    return isServiceFault(error) ? error.code : error instanceof Error ? error.message : String(error);
  }
}

describe('hot-path parsers keep their answers', () => {
  it('balances and postings: the value in cents of every decimal form the data tier writes', () => {
    const seeded = new SeededRandom(20261201);
    const random = (): number => seeded.next();
    const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(random() * 10))).join('');
    for (let i = 0; i < 20_000; i++) {
      const whole = i % 7 === 0 ? '0' : String(1 + Math.floor(random() * 9)) + digits(Math.floor(random() * 13));
      const text = i % 3 === 0 ? whole : `${whole}.${digits(1 + (i % 2))}`;
      const expected = decimalCents(text) as number;
      expect(parseBalance(text), text).to.equal(expected);
      const signed = `-${text}`;
      if (expected !== 0) {
        expect(parseSignedAmount(text), text).to.equal(expected);
        expect(parseSignedAmount(signed), signed).to.equal(-expected);
      }
    }
    expect(parseBalance('10000000000000.00')).to.equal(1_000_000_000_000_000);
    expect(refusal(() => parseBalance('10000000000000.01'))).to.equal('INVALID_AMOUNT');
    expect(refusal(() => parseBalance('9999999999999999.99'))).to.equal('INVALID_AMOUNT');
    expect(refusal(() => parseSignedAmount('-9999999999999999'))).to.equal('INVALID_AMOUNT');
    expect(refusal(() => parseSignedAmount('-0'))).to.equal('INVALID_AMOUNT');
    expect(refusal(() => parseSignedAmount('0.0'))).to.equal('INVALID_AMOUNT');
    expect(Object.is(parseBalance('0'), 0)).to.equal(true);
    expect(parseBalance('0.5')).to.equal(50);
    expect(parseSignedAmount('-0.05')).to.equal(-5);
  });

  it('int8: JSON numbers and query texts alike, the number -0 as 0, nothing unsafe', () => {
    for (const [value, expected] of [
      [0, 0],
      [-0, 0],
      [42, 42],
      [-42, -42],
      [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
      ['9007199254740991', Number.MAX_SAFE_INTEGER],
      ['-17', -17],
      ['-0', -0], // Number('-0'), as before
    ] as const) {
      const got = int8(value);
      expect(Object.is(got, expected), `${String(value)} gave ${got}`).to.equal(true);
    }
    expect(refusal(() => int8(Number.MAX_SAFE_INTEGER + 1))).to.equal('BIGINT out of the safe range: 9007199254740992');
    expect(refusal(() => int8(1e20))).to.equal('not a BIGINT: 100000000000000000000');
    expect(refusal(() => int8(1.5))).to.equal('not a BIGINT: 1.5');
    expect(refusal(() => int8(Number.NaN))).to.equal('not a BIGINT: NaN');
    expect(refusal(() => int8('12345678901234567'))).to.equal('not a BIGINT: 12345678901234567');
    expect(refusal(() => int8(null))).to.equal('not a BIGINT: null');
  });

  it('charsetOf: the same answer for a repeated Content-Type, and for each of several alternating', () => {
    const cases: Array<[string | undefined, string | undefined]> = [
      ['text/xml; charset=utf-8', 'utf-8'],
      ['text/xml; charset="UTF-16"', 'utf-16'],
      ['text/xml', undefined],
      [undefined, undefined],
      ['text/xml; boundary=x; Charset = UTF-16LE ', 'utf-16le'],
      ['text/xml;charset=', ''],
    ];
    for (let round = 0; round < 3; round++)
      for (const [type, expected] of cases) {
        expect(charsetOf(type), String(type)).to.equal(expected);
        expect(charsetOf(type), String(type)).to.equal(expected);
      }
  });
});
