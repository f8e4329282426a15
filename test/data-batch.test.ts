import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_BATCH_CALLS_MAX, DATA_NAMESPACE } from '../common/contract';
import { DataEnvelopes, lockFields, unlockFields, updateFields } from '../business/data-envelope';
import { Cents } from '../common/money';
import { BankRecord } from './helpers/bank-call';
import { callData, dataEnvelope, DataArgPair, DataCallResult, recordsOf, textOf } from './helpers/data-call';
import { DataFixture, describeEachBackend, lockOf } from './helpers/data-server';
import { fetchMetrics, sampleSum } from './helpers/metrics';
import { REPO_DIR } from './helpers/process';
import { schemaOfWsdl, xsdVerdicts } from './helpers/xsd';

// data.wsdl's Batch: several Lock / Update / Unlock calls in one request, each answered on its
// own and in order, a refused call failing only itself; a Lock in a batch never waits.

type Call = readonly [string, readonly DataArgPair[]];

function batchArgs(calls: readonly Call[], requestIdPrefix = 'batch-test'): DataArgPair[] {
  return [
    [
      'call',
      calls.map(([element, args], i): DataArgPair[] => [
        ['requestId', `${requestIdPrefix}-${i}`],
        [element, args],
      ]),
    ],
  ];
}

function answersOf(r: DataCallResult): BankRecord[] {
  if (r.body === undefined) throw new Error(`Batch refused: ${JSON.stringify(r.fault)}`);
  return recordsOf(r.body.answer);
}

function part(answer: BankRecord | undefined, name: string): BankRecord {
  const value = answer?.[name];
  if (value === undefined || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`answer has no <${name}>: ${JSON.stringify(answer)}`);
  return value;
}

async function balanceOf(fx: DataFixture, id: string): Promise<string> {
  const body = await fx.ok('Read', [['accountId', id]]);
  return textOf(recordsOf(body.account)[0]?.balance);
}

describeEachBackend('data server Batch', (fx: () => DataFixture) => {
  it('answers each call on its own, in order: a grant, an ACCOUNT_LOCKED at once (no wait), an unlock', async () => {
    const [a, b] = [await fx().createAccount('10.00'), await fx().createAccount('10.00')];
    const held = lockOf(await fx().lock([a], 'b2', { leaseMs: 5000 }));
    const startedAtMs = Date.now();
    const answers = answersOf(
      await fx().call(
        'Batch',
        batchArgs([
          ['lock', [['accountId', b]]],
          ['lock', [['accountId', a]]],
          ['unlock', [['lockId', 'no-such-lock']]],
        ]),
      ),
    );
    expect(Date.now() - startedAtMs, 'a Lock in a batch never waits').to.be.below(900);
    expect(answers).to.have.length(3);
    expect(textOf(part(answers[0], 'lock').lockId)).to.match(/^[A-Za-z0-9_-]+$/);
    expect(textOf(recordsOf(part(answers[0], 'lock').account)[0]?.accountId)).to.equal(b);
    expect(textOf(part(answers[1], 'fault').code)).to.equal('ACCOUNT_LOCKED');
    expect(textOf(part(answers[1], 'fault').retryable)).to.equal('true');
    expect(textOf(part(answers[1], 'fault').accountId)).to.equal(a);
    expect(textOf(part(answers[2], 'unlock').released)).to.equal('false');
    await fx().call('Unlock', [['lockId', held.lockId]], 'b2');
  });

  it('answers what data.wsdl says: the request and the BatchResponse are valid against its schema (xmllint)', async () => {
    const id = await fx().createAccount('1.00');
    const args = batchArgs([
      ['lock', [['accountId', id]]],
      ['unlock', [['lockId', 'no-such-lock']]],
      ['lock', [['accountId', '999999999']]],
    ]);
    const r = await fx().call('Batch', args);
    const body = /<soap:Body>([\s\S]*)<\/soap:Body>/.exec(r.raw)?.[1] ?? '';
    const request = (/<soap:Body>([\s\S]*)<\/soap:Body>/.exec(dataEnvelope('Batch', args, {}))?.[1] ?? '').replace(
      '<d:Batch>',
      `<d:Batch xmlns:d="${DATA_NAMESPACE}">`,
    );
    const schema = schemaOfWsdl(readFileSync(join(REPO_DIR, 'wsdl', 'data.wsdl'), 'utf8'));
    expect(xsdVerdicts(schema, [request, body]), body).to.deep.equal([true, true]);
    expect(textOf(part(answersOf(r)[2], 'fault').code)).to.equal('ACCOUNT_NOT_FOUND');
    await fx().call('Unlock', [['lockId', textOf(part(answersOf(r)[0], 'lock').lockId)]]);
  });

  it('moves money call by call: a good Update commits, a stale one is refused alone', async () => {
    const [a, b, c] = [
      await fx().createAccount('10.00'),
      await fx().createAccount('10.00'),
      await fx().createAccount('10.00'),
    ];
    const first = lockOf(await fx().lock([a, b]));
    const second = lockOf(await fx().lock([c]));
    const posting = (id: string, amount: string): DataArgPair[] => [
      ['accountId', id],
      ['amount', amount],
    ];
    const answers = answersOf(
      await fx().call(
        'Batch',
        batchArgs([
          [
            'update',
            [
              ['lockId', first.lockId],
              ['fencingToken', first.fencingToken],
              ['transactionId', fx().uniqueId('batch-move')],
              ['posting', [posting(a, '-2.50'), posting(b, '2.50')]],
              ['release', 'true'],
            ],
          ],
          [
            'update',
            [
              ['lockId', second.lockId],
              ['fencingToken', String(Number(second.fencingToken) + 1000)],
              ['transactionId', fx().uniqueId('batch-stale')],
              ['posting', [posting(c, '5.00')]],
            ],
          ],
          ['unlock', [['lockId', second.lockId]]],
        ]),
      ),
    );
    expect(textOf(part(answers[0], 'update').released)).to.equal('true');
    expect(textOf(part(answers[1], 'fault').code)).to.be.oneOf(['STALE_FENCING_TOKEN', 'LOCK_NOT_HELD']);
    expect(textOf(part(answers[2], 'unlock').released)).to.equal('true');
    expect(await balanceOf(fx(), a)).to.equal('7.50');
    expect(await balanceOf(fx(), b)).to.equal('12.50');
    expect(await balanceOf(fx(), c)).to.equal('10.00');
  });

  it('a fault of the envelope answers the whole batch: wrong credentials are AUTHENTICATION_FAILED', async () => {
    const r = await callData(fx().url, 'Batch', batchArgs([['unlock', [['lockId', 'x']]]]), {
      businessId: 'b1',
      authToken: 'wrong',
    });
    expect(r.httpStatus).to.equal(500);
    expect(r.fault?.code).to.equal('AUTHENTICATION_FAILED');
  });

  it('refuses a malformed batch with INVALID_REQUEST: no call, two operations in one call, a waiting Lock, too many calls', async () => {
    const two: DataArgPair[] = [
      [
        'call',
        [
          [
            ['requestId', 'r1'],
            ['unlock', [['lockId', 'x']]],
            ['lock', [['accountId', '1']]],
          ],
        ],
      ],
    ];
    const none: DataArgPair[] = [['call', [[['requestId', 'r1']]]]];
    const waiting = batchArgs([
      [
        'lock',
        [
          ['accountId', '1'],
          ['waitMs', '100'],
        ],
      ],
    ]);
    const tooMany = batchArgs(
      Array.from({ length: DATA_BATCH_CALLS_MAX + 1 }, (): Call => ['unlock', [['lockId', 'x']]]),
    );
    for (const [name, args] of [
      ['two', two],
      ['none', none],
      ['waiting', waiting],
      ['too many', tooMany],
      ['empty', []],
    ] as const) {
      const r = await fx().call('Batch', args);
      expect(r.fault?.code, `${name}: ${r.raw.slice(0, 300)}`).to.equal('INVALID_REQUEST');
    }
  });

  it('counts each call under its own operation in /metrics, and the envelope as Batch', async () => {
    const id = await fx().createAccount('1.00');
    const before = await servedCount(fx(), 'Lock');
    const answers = answersOf(await fx().call('Batch', batchArgs([['lock', [['accountId', id]]]])));
    await fx().call('Unlock', [['lockId', textOf(part(answers[0], 'lock').lockId)]]);
    expect((await servedCount(fx(), 'Lock')) - before).to.equal(1);
    expect(await servedCount(fx(), 'Batch')).to.be.at.least(1);
  });

  it('reports the calls per Batch in distbank_batch_calls (histogram: _count batches, _sum calls)', async () => {
    const before = await metricValues(fx(), ['distbank_batch_calls_count', 'distbank_batch_calls_sum']);
    await fx().call(
      'Batch',
      batchArgs([
        ['unlock', [['lockId', 'none-1']]],
        ['unlock', [['lockId', 'none-2']]],
        ['unlock', [['lockId', 'none-3']]],
      ]),
    );
    const after = await metricValues(fx(), ['distbank_batch_calls_count', 'distbank_batch_calls_sum']);
    expect(after.map((v, i) => v - before[i]!)).to.deep.equal([1, 3]);
  });
});

/** distbank_requests_total of one operation with outcome ok, from /metrics. */
async function servedCount(fx: DataFixture, operation: string): Promise<number> {
  const { text } = await fetchMetrics(fx.url, fx.adminToken);
  return sampleSum(text, 'distbank_requests_total', { operation, outcome: 'ok' });
}

describe('business: the Batch envelope of the data-tier client', () => {
  it('is valid against data.wsdl (xmllint), each call with its request id, trace context and fields', () => {
    const envelopes = new DataEnvelopes('b1', 'token');
    const xml = envelopes.batch([
      { operation: 'Lock', requestId: 'r-1', traceparent: undefined, fields: lockFields(['1', '2'], undefined, 1000) },
      {
        operation: 'Update',
        requestId: 'r-2',
        traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01',
        fields: updateFields({
          lockId: 'L1',
          fencingToken: '7',
          transactionId: 't-1',
          postings: [
            { accountId: '1', amountCents: -150 as Cents },
            { accountId: '2', amountCents: 150 as Cents },
          ],
          release: true,
        }),
      },
      { operation: 'Unlock', requestId: 'r-3', traceparent: undefined, fields: unlockFields('L2') },
    ]);
    const body = (/<soap:Body>([\s\S]*)<\/soap:Body>/.exec(xml)?.[1] ?? '').replace(
      '<d:Batch>',
      `<d:Batch xmlns:d="${DATA_NAMESPACE}">`,
    );
    const schema = schemaOfWsdl(readFileSync(join(REPO_DIR, 'wsdl', 'data.wsdl'), 'utf8'));
    expect(xsdVerdicts(schema, [body]), body).to.deep.equal([true]);
    expect(xml).not.to.include('<d:request-id>');
  });
});

/** The values of unlabelled-but-service series (one sample each), e.g. a histogram's _count and _sum. */
async function metricValues(fx: DataFixture, names: readonly string[]): Promise<number[]> {
  const { text } = await fetchMetrics(fx.url, fx.adminToken);
  return names.map((name) => sampleSum(text, name));
}
