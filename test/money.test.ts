import { expect } from 'chai';
import {
  AMOUNT_CENTS_MAX_DEFAULT,
  asCents,
  BALANCE_CENTS_MAX,
  formatCents,
  negateCents,
  parseAmount,
  parseBalance,
  parseSignedAmount,
} from '../common/money';
import { isServiceFault } from '../common/service-fault';

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isServiceFault(error)) return error.code;
    throw error;
  }
  return 'NO_FAULT';
}

describe('money: parsing decimals to integer cents (docs/ARCHITECTURE.md §3)', () => {
  // Every invalid amount of docs/ARCHITECTURE.md §3 and wsdl/README.md, plus the neighbours a lax parser lets through.
  const INVALID_AMOUNTS: readonly unknown[] = [
    '1e3',
    '0.001',
    '0.011',
    '1.0001',
    '-0',
    'NaN',
    '',
    '.',
    '+',
    '-',
    '+.',
    '-1',
    '-.5',
    '0',
    '0.00',
    '-0.00',
    '+0',
    '000',
    ' 5',
    '5 ',
    '1,00',
    '++5',
    '+-5',
    'Infinity',
    '0x10',
    '1_000',
    '١٠',
    '5.5.5',
    '10000000.00',
    '1000000.01',
    '99999999999999999',
    '9'.repeat(400),
    `-${'9'.repeat(400)}`,
    `0.${'0'.repeat(400)}1`,
    `1.${'0'.repeat(9)}`,
    `${'0'.repeat(17)}1`,
    `${'0'.repeat(65_000)}x`,
    5,
    5.5,
    null,
    undefined,
    {},
  ];
  for (const text of INVALID_AMOUNTS) {
    it(`parseAmount refuses ${text === undefined ? 'undefined' : JSON.stringify(text)} with INVALID_AMOUNT`, () => {
      expect(codeOf(() => parseAmount(text))).to.equal('INVALID_AMOUNT');
    });
  }

  it("parseAmount reads every xsd:decimal form by value (as the WSDL's Amount type does)", () => {
    for (const [text, cents] of [
      ['0.010', 1],
      ['1.000', 100],
      ['+5', 500],
      ['.5', 50],
      ['5.', 500],
      ['007', 700],
      ['00.50', 50],
      ['+.01', 1],
      ['0000000000000001.00000000', 100],
      ['1000000.000', 100_000_000],
    ] as const) {
      expect(parseAmount(text), text).to.equal(cents);
    }
  });

  it('parseAmount accepts the strict forms exactly (no float on the way)', () => {
    expect(parseAmount('0.01')).to.equal(1);
    expect(parseAmount('0.07')).to.equal(7); // 0.07 * 100 = 7.000000000000001 in floats
    expect(parseAmount('5')).to.equal(500);
    expect(parseAmount('5.5')).to.equal(550);
    expect(parseAmount('19.99')).to.equal(1999);
    expect(parseAmount('1000000.00')).to.equal(AMOUNT_CENTS_MAX_DEFAULT);
    expect(parseAmount('1234.56', asCents(200_000))).to.equal(123_456);
    expect(codeOf(() => parseAmount('2000.01', asCents(200_000)))).to.equal('INVALID_AMOUNT');
  });

  it('parseSignedAmount: non-zero, signed, bounded; -0 refused', () => {
    expect(parseSignedAmount('-5.25')).to.equal(-525);
    expect(parseSignedAmount('0.01')).to.equal(1);
    for (const text of ['-0', '0', '0.00', '-0.00', '+1', '--1', '1e3', '-.5', '', '-', ' -1', '-10000000000000.01']) {
      expect(
        codeOf(() => parseSignedAmount(text)),
        text,
      ).to.equal('INVALID_AMOUNT');
    }
    expect(parseSignedAmount('-10000000000000.00')).to.equal(negateCents(BALANCE_CENTS_MAX));
  });

  it('parseBalance: zero allowed, negative and above BALANCE_CENTS_MAX refused', () => {
    expect(parseBalance('0')).to.equal(0);
    expect(parseBalance('0.00')).to.equal(0);
    expect(parseBalance('9999999999999.99')).to.equal(999_999_999_999_999);
    expect(parseBalance('10000000000000.00')).to.equal(BALANCE_CENTS_MAX);
    for (const text of ['-1', '-0', '10000000000000.01', '1e3', '0.001', 'NaN', '']) {
      expect(
        codeOf(() => parseBalance(text)),
        text,
      ).to.equal('INVALID_AMOUNT');
    }
  });

  it('formatCents writes exactly two fraction digits, sign included', () => {
    expect(formatCents(0)).to.equal('0.00');
    expect(formatCents(5)).to.equal('0.05');
    expect(formatCents(-5)).to.equal('-0.05');
    expect(formatCents(123_456)).to.equal('1234.56');
    expect(formatCents(BALANCE_CENTS_MAX)).to.equal('10000000000000.00');
    expect(() => formatCents(0.5)).to.throw();
  });

  it('round-trips every cent value of a sample through text and back', () => {
    for (let c = 1; c < 100_000; c += 7) expect(parseAmount(formatCents(c))).to.equal(c);
  });
});
