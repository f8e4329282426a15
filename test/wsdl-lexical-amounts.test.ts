import { expect } from 'chai';
import { parseBalance } from '../common/money';
import { BankCallResult, callBank } from './helpers/bank-call';
import { BankFixture, startBankFixture, TestClient } from './helpers/bank-fixture';
import { ifAssigned } from './helpers/if-assigned';

/**
 * Amounts as .NET and Java BigDecimal send them (scale kept: 0.10m * 0.1m = 0.010), through a
 * real business server and data server: every xsd:decimal form whose value is a whole number of
 * cents moves exactly that value; a value with a third fraction digit is INVALID_AMOUNT.
 */
const TIMEOUT_MS = 10_000;

describe('wsdl lexical rules: amounts by value through a real business server', function () {
  this.timeout(30_000);
  let fixture: BankFixture;
  let alice: TestClient;
  let account: string;

  before(async () => {
    fixture = await startBankFixture({ clients: 1 });
    alice = fixture.clients[0]!;
    const opened = await call('OpenAccount', []);
    account = opened.body?.['accountId'] as string;
  });
  after(async () => {
    await ifAssigned(fixture)?.stop();
  });

  function call(operation: string, args: readonly (readonly [string, string])[]): Promise<BankCallResult> {
    return callBank(
      fixture.business[0]!.url,
      operation,
      args,
      { authToken: alice.authToken, clientId: alice.clientId },
      { timeoutMs: TIMEOUT_MS },
    );
  }
  async function balanceCents(): Promise<number> {
    const r = await call('GetBalance', [['accountId', account]]);
    return parseBalance(r.body?.['balance']);
  }

  for (const [text, cents] of [
    ['0.010', 1],
    ['1.000', 100],
    ['+5', 500],
    ['.5', 50],
    ['5.', 500],
    ['007', 700],
    [' 0.20 ', 20],
  ] as const) {
    it(`deposits ${JSON.stringify(text)} as ${cents} cents`, async () => {
      const before = await balanceCents();
      const r = await call('Deposit', [
        ['accountId', account],
        ['amount', text],
      ]);
      expect(r.httpStatus, r.raw).to.equal(200);
      expect(await balanceCents()).to.equal(before + cents);
    });
  }

  for (const text of ['0.011', '1e3', 'NaN', '', '-0', '-5', '0.000']) {
    it(`refuses ${JSON.stringify(text)} with INVALID_AMOUNT and moves nothing`, async () => {
      const before = await balanceCents();
      const r = await call('Deposit', [
        ['accountId', account],
        ['amount', text],
      ]);
      expect(r.fault?.code, r.raw).to.equal('INVALID_AMOUNT');
      expect(await balanceCents()).to.equal(before);
    });
  }

  it('opens an account with a scaled initial deposit (0.10 x 0.1 = 0.010)', async () => {
    const r = await call('OpenAccount', [['initialDeposit', '0.010']]);
    expect(r.httpStatus, r.raw).to.equal(200);
    expect(r.body?.['balance']).to.equal('0.01');
  });
});
