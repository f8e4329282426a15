import { expect } from 'chai';
import { delayMsOf } from '../business/fault-actions';
import { FaultInjector, FaultRequest } from '../business/fault-injector';
import { parseFaultRules } from '../business/fault-rules';

/**
 * The rules format is read strictly (every mistake named), and a seed reproduces the same
 * sequence of fired rules for the same sequence of requests.
 */
describe('fault rules: strict format', () => {
  const refused: ReadonlyArray<readonly [unknown, RegExp]> = [
    [
      { rules: [{ operation: 'Transfer', probabilty: 0.3, action: 'drop-after-commit' }] },
      /rules\[0\]: unknown field "probabilty"/,
    ],
    [{ rules: [{ operation: 'Transfer', action: 'explode' }] }, /rules\[0\]\.action must be one of delay, fault/],
    [
      { rules: [{ operation: 'Withdraw', action: 'fault', code: 'OOPS' }] },
      /rules\[0\]\.code must be a registry fault code/,
    ],
    [{ rules: [{ operation: 'Withdraw', action: 'fault' }] }, /rules\[0\]\.code is required/],
    [{ rules: [{ operation: 'Wire', action: 'reset' }] }, /rules\[0\]\.operation must be "\*" or one of/],
    [{ rules: [{ action: 'reset' }] }, /rules\[0\]\.operation is required/],
    [
      { rules: [{ operation: '*', probability: 1.5, action: 'reset' }] },
      /rules\[0\]\.probability must be a number in \(0, 1\]/,
    ],
    [{ rules: [{ operation: '*', every: 0, action: 'reset' }] }, /rules\[0\]\.every must be an integer from 1/],
    [
      { rules: [{ operation: '*', action: 'delay', delayMs: [500, 50] }] },
      /rules\[0\]\.delayMs\[1\] must be an integer from 500/,
    ],
    [{ rules: [{ operation: '*', action: 'reset', delayMs: 5 }] }, /unknown field "delayMs" for action reset/],
    [{ rules: [{ operation: '*', action: 'slow-response' }] }, /rules\[0\]\.durationMs is required/],
    [{ rules: [{ operation: '*', action: 'reset', accountId: '007' }] }, /rules\[0\]\.accountId must match/],
    [{ seed: -1, rules: [] }, /seed must be an integer/],
    [{ rules: [], extra: 1 }, /unknown field "extra"/],
    [[], /must be a JSON object/],
  ];
  for (const [value, message] of refused) {
    it(`refuses ${JSON.stringify(value)}`, () => {
      expect(() => parseFaultRules(value)).to.throw(message);
    });
  }

  it('reads the example of the issue', () => {
    const rules = parseFaultRules({
      seed: 42,
      rules: [
        { operation: 'Transfer', clientId: 'alice', probability: 0.3, action: 'drop-after-commit' },
        { operation: '*', probability: 0.1, action: 'delay', delayMs: [50, 500] },
        { operation: 'Withdraw', every: 3, action: 'fault', code: 'SERVICE_UNAVAILABLE' },
      ],
    });
    expect(rules.seed).to.equal(42);
    expect(rules.rules.map((r) => r.action)).to.deep.equal(['drop-after-commit', 'delay', 'fault']);
    expect(rules.rules[1]!.delay).to.deep.equal({ kind: 'uniform', minMs: 50, maxMs: 500 });
  });
});

describe('fault injector: matching and reproducibility', () => {
  const requests: FaultRequest[] = Array.from({ length: 400 }, (_v, i) => ({
    operation: ['Transfer', 'Withdraw', 'GetBalance'][i % 3]!,
    clientId: i % 2 === 0 ? 'alice' : 'bob',
    accountIds: [String(1 + (i % 5))],
  }));
  const example = {
    rules: [
      { operation: 'Transfer', clientId: 'alice', probability: 0.3, action: 'drop-after-commit' },
      { operation: '*', probability: 0.1, action: 'delay', delayMs: [50, 500] },
      { operation: 'Withdraw', every: 3, action: 'fault', code: 'SERVICE_UNAVAILABLE' },
      { operation: 'GetBalance', accountId: '2', count: 4, action: 'reset' },
    ],
  };

  function firedSequence(seed: number): string[] {
    const injector = new FaultInjector(() => rules);
    const rules = parseFaultRules({ seed, ...example });
    return requests.map((r) => {
      const fired = injector.decide(r);
      return fired === undefined
        ? '-'
        : `${fired.index}:${fired.rule.action}${fired.rule.delay ? `:${delayMsOf(fired.rule.delay, fired.values)}` : ''}`;
    });
  }

  it('the same seed and requests fire the same rules (and draw the same delays); another seed does not', () => {
    const first = firedSequence(42);
    expect(firedSequence(42)).to.deep.equal(first);
    expect(firedSequence(43)).to.not.deep.equal(first);
  });

  it('probability, every, count and the match fields do what they say', () => {
    const fired = firedSequence(7);
    const at = (rule: number) => fired.map((f, i) => (f.startsWith(`${rule}:`) ? i : -1)).filter((i) => i >= 0);
    // Rule 0 only on alice's transfers, at about 30 % of them (67 of 400 requests).
    const aliceTransfers = requests.filter((r) => r.operation === 'Transfer' && r.clientId === 'alice').length;
    expect(at(0).every((i) => requests[i]!.operation === 'Transfer' && requests[i]!.clientId === 'alice')).to.equal(
      true,
    );
    expect(at(0).length / aliceTransfers).to.be.within(0.15, 0.45);
    // Rule 3 fires at most 4 times, only on account 2's GetBalance.
    expect(at(3).length).to.be.at.most(4).and.at.least(1);
    expect(
      at(3).every((i) => requests[i]!.accountIds.includes('2') && requests[i]!.operation === 'GetBalance'),
    ).to.equal(true);
    // Rule 2: every 3rd Withdraw that reached it (none taken by rule 1 before it).
    expect(at(2).length).to.be.above(20);
    for (const f of fired.filter((x) => x.startsWith('1:'))) {
      const ms = Number(f.split(':')[2]);
      expect(ms).to.be.within(50, 500);
    }
  });

  it('a lognormal delay stays in [min, max] around the geometric mean', () => {
    const rules = parseFaultRules({
      seed: 1,
      rules: [{ operation: '*', action: 'delay', delayMs: [10, 1000], distribution: 'lognormal' }],
    });
    const injector = new FaultInjector(() => rules);
    const delays = Array.from({ length: 500 }, () => {
      const fired = injector.decide(requests[0]!)!;
      return delayMsOf(fired.rule.delay!, fired.values);
    }).sort((a, b) => a - b);
    expect(delays[0]).to.be.at.least(10);
    expect(delays[delays.length - 1]).to.be.at.most(1000);
    expect(delays[250]).to.be.within(60, 170); // median ≈ √(10·1000) = 100
  });
});
