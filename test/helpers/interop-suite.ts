import { expect } from 'chai';
import { balanceOf, cents, statementOf } from './cluster';
import { TRANSACTION_ID_PATTERN } from '../../common/contract';
import {
  DECIMAL_LEXICAL,
  InteropRun,
  InteropStack,
  OPENING_BALANCE,
  prepareRun,
  requireStack,
  StepLine,
  TRANSFER_AMOUNT,
} from './interop';

/**
 * The steps every stack's client program does, in this order, each printed as one JSON line
 * `{"step": name, ...}` with either the stack's values, or `faultCode` (BankFault/code read from
 * the fault detail), or `error`:
 *   getBalance      a. GetBalance of alice's account, no request-id       -> accountId, balance
 *   transfer        b. Transfer 1.25 alice -> bob with INTEROP_REQUEST_ID  -> transactionId, balance
 *   replay          c. the same call again                                 -> transactionId, balance
 *   badToken        d. GetBalance with a wrong token                       -> faultCode
 *   foreignAccount  e. GetBalance of bob's account as alice                -> faultCode
 *   decimal         f. Transfer of the stack's own 0.10 * 0.1 (scale kept) -> amount, transactionId, balance
 */
const SUITE_TIMEOUT_MS = 600_000;

function stepOf(run: InteropRun | undefined, name: string): StepLine {
  expect(run, 'the client program did not run (see the before-all hook)').to.not.equal(undefined);
  const line = run!.steps.get(name);
  expect(line, `no "${name}" line in the client's output:\n${run!.stdout}`).to.not.equal(undefined);
  return line!;
}

/** A success line: no fault, no error, the named fields present. */
export function success(run: InteropRun | undefined, name: string, ...fields: string[]): StepLine {
  const line = stepOf(run, name);
  expect(line['faultCode'], `${name}: fault ${String(line['faultCode'])}: ${String(line['faultMessage'])}`).to.equal(
    undefined,
  );
  expect(line['error'], `${name}: ${String(line['error'])}`).to.equal(undefined);
  for (const f of fields) expect(line[f], `${name}.${f} in ${JSON.stringify(line)}`).to.be.a('string');
  return line;
}

function fault(run: InteropRun | undefined, name: string): string | undefined {
  const line = stepOf(run, name);
  expect(line['error'], `${name}: ${String(line['error'])}`).to.equal(undefined);
  return line['faultCode'];
}

const opening = cents(OPENING_BALANCE);
const moved = cents(TRANSFER_AMOUNT);

/**
 * Declares the whole suite of one stack: before-all starts a cluster on port 0, opens alice's
 * and bob's accounts (100.00 each), and runs the stack's client; one `it` per step, one for the
 * bank's state. `extra` may add its of the stack's own (they get the same run).
 */
export function interopSuite(stack: InteropStack, extra?: (run: () => InteropRun | undefined) => void): void {
  describe(`interop: ${stack.title} against a real cluster (client generated from the served WSDL)`, function () {
    this.timeout(SUITE_TIMEOUT_MS);
    let run: InteropRun | undefined;
    let cleanup: (() => Promise<void>) | undefined;

    before(async function () {
      await requireStack(this, stack);
      const prepared = await prepareRun(stack);
      cleanup = prepared.cleanup;
      run = prepared.run;
    });
    after(async () => {
      await cleanup?.();
    });

    it('a. GetBalance without a request-id answers the balance', () => {
      const line = success(run, 'getBalance', 'accountId', 'balance');
      expect(line['accountId']).to.equal(run!.aliceAccount);
      expect(cents(line['balance']!)).to.equal(opening);
    });
    it('b. a Transfer with a request-id moves the money', () => {
      const line = success(run, 'transfer', 'transactionId', 'balance');
      expect(line['transactionId']).to.match(TRANSACTION_ID_PATTERN);
      expect(cents(line['balance']!)).to.equal(opening - moved);
    });
    it('c. its replay with the same request-id answers the same transactionId and moves nothing', () => {
      const first = success(run, 'transfer', 'transactionId', 'balance');
      const replay = success(run, 'replay', 'transactionId', 'balance');
      expect(replay['transactionId'], 'a different transactionId: the request-id did not reach the server').to.equal(
        first['transactionId'],
      );
      expect(cents(replay['balance']!)).to.equal(opening - moved);
    });
    it('d. a bad token is AUTHENTICATION_FAILED, read from the fault detail', () => {
      expect(fault(run, 'badToken')).to.equal('AUTHENTICATION_FAILED');
    });
    it('e. a foreign account is NOT_AUTHORIZED, read from the fault detail', () => {
      expect(fault(run, 'foreignAccount')).to.equal('NOT_AUTHORIZED');
    });
    it(`f. the stack's own decimal ${DECIMAL_LEXICAL} (0.10 * 0.1, trailing zero) is accepted as 0.01`, () => {
      const line = success(run, 'decimal', 'amount', 'transactionId', 'balance');
      expect(line['amount'], 'the lexical form the stack sent').to.equal(DECIMAL_LEXICAL);
      expect(line['transactionId']).to.match(TRANSACTION_ID_PATTERN);
      expect(cents(line['balance']!)).to.equal(opening - moved - 1);
    });
    it("the bank's own state: the transfer once, 0.01 once, nothing else", async () => {
      await expectBankState(run);
    });
    extra?.(() => run);
  });
}

/** Read back through the balancer with the project's own caller, not the stack under test. */
async function expectBankState(run: InteropRun | undefined): Promise<void> {
  expect(run, 'the client program did not run').to.not.equal(undefined);
  const { cluster, aliceAccount, bobAccount } = run!;
  const alice = cluster.client('alice');
  const statement = await statementOf(cluster.balancerUrl, alice, aliceAccount);
  const outgoing = statement.entries
    .filter((e) => e.kind === 'TRANSFER_OUT')
    .map((e) => cents(e.amount))
    .sort((a, b) => a - b);
  expect(outgoing, `alice's transfers out: ${JSON.stringify(statement.entries)}`).to.deep.equal([-moved, -1]);
  expect(cents(statement.balance)).to.equal(opening - moved - 1);
  expect(cents(await balanceOf(cluster.balancerUrl, cluster.client('bob'), bobAccount))).to.equal(opening + moved + 1);
}
