import { expect } from 'chai';
import { parseStringPromise } from 'xml2js';
import { callBank, postRaw } from './helpers/bank-call';
import { balanceOf, field, openAccount, startCluster, TestCluster } from './helpers/cluster';
import { BANK_NAMESPACE, SOAP11_ENVELOPE_NS, soapActionHeader } from '../common/contract';
import { ifAssigned } from './helpers/if-assigned';

/**
 * Exactly-once across the tier (the same request-id through the balancer and directly through
 * every business server) and the caller checks, end to end through the balancer.
 */
const TIMEOUT_MS = 10_000;
const GET_BALANCE = `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}"><soap:Body><b:GetBalance><b:accountId>1</b:accountId></b:GetBalance></soap:Body></soap:Envelope>`;

/** A strict look at a fault answer: well-formed XML, SOAP 1.1 fault, BankFault detail. */
async function strictFault(raw: string): Promise<{ faultcode: string; code: string; retryable: string }> {
  const doc = (await parseStringPromise(raw, { explicitArray: false })) as Record<
    string,
    Record<string, Record<string, Record<string, unknown>>>
  >;
  const envelope = doc['soap:Envelope'] ?? doc['soapenv:Envelope'] ?? doc['S:Envelope'];
  expect(envelope, raw).to.not.equal(undefined);
  const body = Object.entries(envelope!).find(([k]) => k.endsWith('Body'))![1];
  const faultEntry = Object.entries(body).find(([k]) => k.endsWith('Fault'));
  expect(faultEntry, raw).to.not.equal(undefined);
  const faultEl = faultEntry![1];
  const detail = faultEl['detail'] as Record<string, unknown>;
  const bankFaultEntry = Object.entries(detail).find(([k]) => k.endsWith('BankFault'))!;
  const bankFault = bankFaultEntry[1] as Record<string, unknown>;
  const attrs = (bankFault['$'] ?? {}) as Record<string, string>;
  expect(Object.values(attrs)).to.include(BANK_NAMESPACE);
  const textOf = (k: string): string => {
    const entry = Object.entries(bankFault).find(([name]) => name === k || name.endsWith(':' + k));
    return String(entry?.[1]);
  };
  return { faultcode: String(faultEl['faultcode']), code: textOf('code'), retryable: textOf('retryable') };
}

describe('cluster: idempotency and caller checks through the balancer', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let aliceAccount: string;
  let bobAccount: string;
  before(async () => {
    cluster = await startCluster({ businessCount: 3 });
    aliceAccount = await openAccount(cluster.balancerUrl, cluster.client('alice'), '100.00');
    bobAccount = await openAccount(cluster.balancerUrl, cluster.client('bob'), '100.00');
  });
  after(async () => {
    await ifAssigned(cluster)?.stop();
  });

  it('the same request-id moves money once, through the balancer and through every business server', async () => {
    const alice = cluster.client('alice');
    const args = [
      ['fromAccountId', aliceAccount],
      ['toAccountId', bobAccount],
      ['amount', '7.25'],
    ] as const;
    const headers = { ...alice, requestId: 'same-key-1' };
    const first = await callBank(cluster.balancerUrl, 'Transfer', args, headers, { timeoutMs: TIMEOUT_MS });
    const transactionId = field(first, 'transactionId');
    expect(field(first, 'balance')).to.equal('92.75');
    const again = await callBank(cluster.balancerUrl, 'Transfer', args, headers, { timeoutMs: TIMEOUT_MS });
    expect(field(again, 'transactionId')).to.equal(transactionId);
    for (const url of cluster.businessUrls) {
      const direct = await callBank(url, 'Transfer', args, headers, { timeoutMs: TIMEOUT_MS });
      expect(field(direct, 'transactionId')).to.equal(transactionId);
    }
    expect(await balanceOf(cluster.balancerUrl, alice, aliceAccount)).to.equal('92.75');
    expect(await balanceOf(cluster.balancerUrl, cluster.client('bob'), bobAccount)).to.equal('107.25');
  });

  it('the same request-id as an HTTP header works the same way', async () => {
    const alice = cluster.client('alice');
    const args = [
      ['accountId', aliceAccount],
      ['amount', '1.00'],
    ] as const;
    const options = { timeoutMs: TIMEOUT_MS, httpHeaders: { 'request-id': 'http-key-1' } };
    const first = await callBank(cluster.balancerUrl, 'Withdraw', args, alice, options);
    const second = await callBank(cluster.businessUrls[2]!, 'Withdraw', args, alice, options);
    expect(field(second, 'transactionId')).to.equal(field(first, 'transactionId'));
    expect(await balanceOf(cluster.balancerUrl, alice, aliceAccount)).to.equal('91.75');
  });

  it('the same request-id with a different amount is REQUEST_ID_CONFLICT and moves nothing', async () => {
    const alice = cluster.client('alice');
    const r = await callBank(
      cluster.balancerUrl,
      'Transfer',
      [
        ['fromAccountId', aliceAccount],
        ['toAccountId', bobAccount],
        ['amount', '8.00'],
      ],
      { ...alice, requestId: 'same-key-1' },
      { timeoutMs: TIMEOUT_MS },
    );
    expect(r.httpStatus).to.equal(500);
    expect(r.fault?.code).to.equal('REQUEST_ID_CONFLICT');
    expect(await balanceOf(cluster.balancerUrl, alice, aliceAccount)).to.equal('91.75');
  });

  it('two clients may use the same request-id without colliding', async () => {
    const bob = cluster.client('bob');
    const r = await callBank(
      cluster.balancerUrl,
      'Transfer',
      [
        ['fromAccountId', bobAccount],
        ['toAccountId', aliceAccount],
        ['amount', '7.25'],
      ],
      { ...bob, requestId: 'same-key-1' },
      { timeoutMs: TIMEOUT_MS },
    );
    expect(r.fault).to.equal(undefined);
    expect(await balanceOf(cluster.balancerUrl, bob, bobAccount)).to.equal('100.00');
  });

  it("another client's account: NOT_AUTHORIZED, HTTP 500, well-formed fault", async () => {
    const bob = cluster.client('bob');
    for (const [op, args] of [
      [
        'Withdraw',
        [
          ['accountId', aliceAccount],
          ['amount', '1.00'],
        ],
      ],
      ['GetBalance', [['accountId', aliceAccount]]],
      [
        'Transfer',
        [
          ['fromAccountId', aliceAccount],
          ['toAccountId', bobAccount],
          ['amount', '1.00'],
        ],
      ],
      ['GetStatement', [['accountId', aliceAccount]]],
    ] as const) {
      const r = await callBank(cluster.balancerUrl, op, args, bob, { timeoutMs: TIMEOUT_MS });
      expect(r.httpStatus, op).to.equal(500);
      expect(await strictFault(r.raw), op).to.deep.equal({
        faultcode: 'soap:Client',
        code: 'NOT_AUTHORIZED',
        retryable: 'false',
      });
    }
  });

  it('bad token, unknown client, no headers at all: AUTHENTICATION_FAILED, HTTP 500, well-formed fault', async () => {
    const alice = cluster.client('alice');
    const cases: Array<{ name: string; raw: () => Promise<{ httpStatus: number; raw: string }> }> = [
      {
        name: 'bad token',
        raw: () =>
          callBank(
            cluster.balancerUrl,
            'GetBalance',
            [['accountId', aliceAccount]],
            { clientId: 'alice', authToken: alice.authToken.slice(1) + 'x' },
            { timeoutMs: TIMEOUT_MS },
          ),
      },
      {
        name: 'unknown client',
        raw: () =>
          callBank(
            cluster.balancerUrl,
            'GetBalance',
            [['accountId', aliceAccount]],
            { clientId: 'mallory', authToken: alice.authToken },
            { timeoutMs: TIMEOUT_MS },
          ),
      },
      {
        name: 'token without client-id',
        raw: () =>
          callBank(
            cluster.balancerUrl,
            'GetBalance',
            [['accountId', aliceAccount]],
            { authToken: alice.authToken },
            { timeoutMs: TIMEOUT_MS },
          ),
      },
      {
        name: 'no soap:Header, no HTTP headers',
        raw: () =>
          postRaw(
            cluster.balancerUrl,
            GET_BALANCE,
            { soapaction: soapActionHeader(BANK_NAMESPACE, 'GetBalance') },
            TIMEOUT_MS,
          ),
      },
      {
        name: 'bad token as HTTP headers',
        raw: () =>
          postRaw(
            cluster.balancerUrl,
            GET_BALANCE,
            { soapaction: soapActionHeader(BANK_NAMESPACE, 'GetBalance'), 'client-id': 'alice', 'auth-token': 'nope' },
            TIMEOUT_MS,
          ),
      },
    ];
    for (const c of cases) {
      const r = await c.raw();
      expect(r.httpStatus, c.name).to.equal(500);
      expect(await strictFault(r.raw), c.name).to.deep.equal({
        faultcode: 'soap:Client',
        code: 'AUTHENTICATION_FAILED',
        retryable: 'false',
      });
    }
    // The right credentials as plain HTTP headers (the seed's form) are accepted through the balancer.
    const ok = await postRaw(
      cluster.balancerUrl,
      GET_BALANCE.replace('<b:accountId>1<', `<b:accountId>${aliceAccount}<`),
      {
        soapaction: soapActionHeader(BANK_NAMESPACE, 'GetBalance'),
        'client-id': 'alice',
        'auth-token': alice.authToken,
      },
      TIMEOUT_MS,
    );
    expect(ok.httpStatus, ok.raw).to.equal(200);
  });

  it('GET /bank?wsdl through the balancer points soap:address at the balancer', async () => {
    const res = await fetch(cluster.balancerUrl + '?wsdl');
    const wsdl = await res.text();
    expect(res.status).to.equal(200);
    expect(wsdl).to.contain(`<soap:address location="${cluster.balancerUrl}"/>`);
  });
});
