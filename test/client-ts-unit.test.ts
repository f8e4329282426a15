/**
 * BankClient against a real local HTTP server on port 0 that answers scripted SOAP envelopes
 * (no cluster needed): decimal branding, header blocks, fault mapping for every registry code,
 * request-id reuse on retry after a dropped connection / timeout / retryable fault, bounds.
 */
import { expect } from 'chai';
import { parseStringPromise } from 'xml2js';
import { FAULT_CODES, FAULT_CODE_NAMES } from '../common/fault-codes';
import { BankClient, retryPauseMs } from '../client-ts/bank-client';
import { cliAmount, decimal, DecimalFormatError, DecimalString, twoDecimals } from '../client-ts/decimal';
import {
  BANK_ERROR_CLASSES,
  BankError,
  BankProtocolError,
  BankTransportError,
  InsufficientFundsError,
} from '../client-ts/errors';
import {
  dropConnection,
  envelope,
  faultResponse,
  neverAnswer,
  okResponse,
  requestIdOf,
  ScriptedServer,
} from './helpers/scripted-bank';
import { BANK_NAMESPACE, soapActionHeader } from '../common/contract';
import { XmlCharError } from '../common/xml-writer';

async function headerBlocks(body: string): Promise<Record<string, { ns: string; text: string }>> {
  const doc = (await parseStringPromise(body, { xmlns: true, explicitArray: true })) as Record<string, unknown>;
  const envelopeNode = Object.values(doc)[0] as Record<string, unknown[]>;
  const headerKey = Object.keys(envelopeNode).find((k) => k.endsWith('Header'));
  expect(headerKey, 'soap:Header present').to.not.equal(undefined);
  const header = (envelopeNode[headerKey!] as Record<string, unknown>[])[0]!;
  const out: Record<string, { ns: string; text: string }> = {};
  for (const [key, value] of Object.entries(header)) {
    if (key === '$' || key === '$ns') continue;
    const node = (value as { _: string; $ns: { uri: string; local: string } }[])[0]!;
    out[node.$ns.local] = { ns: node.$ns.uri, text: node._ };
  }
  return out;
}

describe('client-ts: DecimalString', () => {
  it('accepts decimal text, including amounts only the server may refuse', () => {
    for (const text of ['10.00', '0', '-1', '0.001', '1000000000.5', '.5', '+3']) {
      expect(decimal(text)).to.equal(text);
    }
  });
  it('refuses numbers and non-decimal text before any network call', () => {
    for (const bad of [10, 0.1, '1e3', 'NaN', '', ' 1', '1,000.00', '10.00 ', 'Infinity', '0x10']) {
      expect(() => decimal(bad as unknown as string), String(bad)).to.throw(DecimalFormatError);
    }
  });
});

describe('client-ts: the CLI amount rules and the retry pause', () => {
  it("cliAmount takes plain decimals > 0 (>= 0 to open); twoDecimals shows balances' form", () => {
    for (const bad of ['-1', '0', '0.00', '-0.5', '+0', '+5', '.5', '5.', '1e3', ' 1', ''])
      expect(() => cliAmount(bad), JSON.stringify(bad)).to.throw(DecimalFormatError);
    for (const bad of ['-1', '-0.01', '+0']) expect(() => cliAmount(bad, true), bad).to.throw(DecimalFormatError);
    expect(['0.01', '10', '0.010', '0.001'].map((t) => cliAmount(t))).to.deep.equal(['0.01', '10', '0.010', '0.001']);
    expect(['0', '0.00'].map((t) => cliAmount(t, true))).to.deep.equal(['0', '0.00']);
    expect(['10', '10.5', '+.5', '007.10', '0.010'].map((t) => twoDecimals(decimal(t)))).to.deep.equal([
      '10.00',
      '10.50',
      '0.50',
      '7.10',
      '0.01',
    ]);
  });
  it('retryPauseMs: exponential, capped, jittered down to half (not a fixed pause)', () => {
    const policy = { retries: 3, firstPauseMs: 100, pauseMaxMs: 5_000, jitter: 0.5 };
    expect([1, 2, 3].map((a) => retryPauseMs(a, policy, () => 1))).to.deep.equal([100, 200, 400]);
    expect(retryPauseMs(10, policy, () => 1)).to.equal(5_000);
    expect(retryPauseMs(1, policy, () => 0)).to.equal(50);
  });
});

describe('client-ts: BankClient against a scripted server', () => {
  const server = new ScriptedServer();
  let url = '';
  let client: BankClient;
  before(async () => {
    url = await server.start();
    client = new BankClient({
      url,
      clientId: 'alice',
      authToken: 's3cr<t&',
      timeoutMs: 2_000,
      retries: 2,
      retryDelayMs: 10,
    });
  });
  after(async () => {
    client.close();
    await server.stop();
  });

  it('sends each header block as its own element in the bank namespace, and the SOAPAction', async () => {
    server.script(okResponse('GetBalanceResponse', { accountId: '7', balance: '1.50' }));
    await client.getBalance('7');
    const seen = server.seen[0]!;
    expect(seen.soapAction).to.equal(soapActionHeader(BANK_NAMESPACE, 'GetBalance'));
    const blocks = await headerBlocks(seen.body);
    expect(Object.keys(blocks).sort()).to.deep.equal(['auth-token', 'client-id', 'request-id']);
    for (const block of Object.values(blocks)) expect(block.ns).to.equal(BANK_NAMESPACE);
    expect(blocks['auth-token']!.text).to.equal('s3cr<t&');
    expect(blocks['client-id']!.text).to.equal('alice');
    expect(blocks['request-id']!.text).to.match(/^[0-9a-f-]{36}$/);
  });

  it('refuses a header value XML 1.0 cannot carry before sending anything (XmlCharError, no retry)', async () => {
    const controlled = new BankClient({
      url,
      clientId: 'alice',
      authToken: 'tok\u001ben',
      retries: 2,
      retryDelayMs: 10,
    });
    try {
      const seenBefore = server.seen.length;
      const error = await controlled.getBalance('7').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(XmlCharError);
      expect(String(error)).to.contain('U+001B').and.not.contain('\u001b');
      expect(server.seen.length).to.equal(seenBefore);
    } finally {
      controlled.close();
    }
  });

  it('keeps money as text both ways (no float on the way in or out)', async () => {
    server.script(
      okResponse('WithdrawResponse', { transactionId: 't1', accountId: '7', balance: '12345678901234567.10' }),
    );
    const result = await client.withdraw('7', decimal('0.10'));
    expect(result.balance).to.equal('12345678901234567.10');
    expect(typeof result.balance).to.equal('string');
    expect(server.seen[0]!.body).to.contain('<amount>0.10</amount>');
  });

  it('sends amounts as given, so that the server decides what is invalid', async () => {
    server.script(faultResponse('INVALID_AMOUNT', 'amount must be greater than 0'));
    for (const amount of ['0', '-1', '0.001']) {
      const error = await client.deposit('7', decimal(amount)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(BANK_ERROR_CLASSES.INVALID_AMOUNT);
      expect(server.seen.at(-1)!.body).to.contain(`<amount>${amount}</amount>`);
    }
  });

  it('maps every fault code of the registry to its own BankError subclass', async () => {
    for (const code of FAULT_CODE_NAMES) {
      const retryable = FAULT_CODES[code].retryable;
      server.script(faultResponse(code, `msg for ${code}`, '42'));
      const once = new BankClient({ url, clientId: 'a', authToken: 't', retries: 0 });
      const error = await once.getBalance('42').then(
        () => undefined,
        (e: unknown) => e,
      );
      once.close();
      expect(error, code).to.be.instanceOf(BankError);
      expect(error, code).to.be.instanceOf(BANK_ERROR_CLASSES[code]);
      const bankError = error as BankError;
      expect(bankError.code).to.equal(code);
      expect(bankError.message).to.equal(`msg for ${code}`);
      expect(bankError.accountId).to.equal('42');
      expect(bankError.retryable).to.equal(retryable);
      expect(bankError.faultcode).to.equal(`soap:${FAULT_CODES[code].soapFaultCode}`);
      // The class name spells the code, so the table cannot be crossed by mistake.
      const camel = code.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
      const expectedName = camel.endsWith('Error') ? camel : camel + 'Error';
      expect(bankError.name).to.equal(expectedName);
    }
    const classes = new Set(Object.values(BANK_ERROR_CLASSES));
    expect(classes.size).to.equal(FAULT_CODE_NAMES.length);
  });

  it('uses a fresh request-id per call', async () => {
    server.script(okResponse('GetBalanceResponse', { accountId: '7', balance: '1.00' }));
    const a = await client.getBalance('7');
    const b = await client.getBalance('7');
    expect(a.requestId).to.not.equal(b.requestId);
    expect(server.seen.map((s) => requestIdOf(s.body))).to.deep.equal([a.requestId, b.requestId]);
  });

  it('retries a dropped connection with the SAME request-id and body', async () => {
    server.script(
      dropConnection,
      okResponse('TransferResponse', { transactionId: 't9', fromAccountId: '7', balance: '90.00' }),
    );
    const result = await client.transfer('7', '8', decimal('10.00'));
    expect(server.seen).to.have.length(2);
    expect(requestIdOf(server.seen[0]!.body)).to.equal(result.requestId);
    expect(server.seen[1]!.body).to.equal(server.seen[0]!.body);
    expect(result).to.deep.equal({
      transactionId: 't9',
      fromAccountId: '7',
      balance: '90.00',
      requestId: result.requestId,
    });
  });

  it('retries after a timeout with the same request-id', async () => {
    const quick = new BankClient({
      url,
      clientId: 'alice',
      authToken: 't',
      timeoutMs: 300,
      retries: 1,
      retryDelayMs: 0,
    });
    try {
      server.script(neverAnswer, okResponse('DepositResponse', { transactionId: 't2', accountId: '8' }));
      const started = Date.now();
      const result = await quick.deposit('8', decimal('5.00'), { requestId: 'my-key-1' });
      expect(Date.now() - started).to.be.within(250, 3_000);
      expect(result.requestId).to.equal('my-key-1');
      expect(result.balance).to.equal(undefined);
      expect(server.seen.map((s) => requestIdOf(s.body))).to.deep.equal(['my-key-1', 'my-key-1']);
    } finally {
      quick.close();
    }
  });

  it('retries a retryable fault (ACCOUNT_LOCKED) with the same request-id, not a final one', async () => {
    server.script(
      faultResponse('ACCOUNT_LOCKED', 'locked', '7'),
      okResponse('WithdrawResponse', { transactionId: 't3', accountId: '7', balance: '1.00' }),
    );
    const result = await client.withdraw('7', decimal('1.00'));
    expect(server.seen.map((s) => requestIdOf(s.body))).to.deep.equal([result.requestId, result.requestId]);

    server.script(faultResponse('INSUFFICIENT_FUNDS', 'no', '7'));
    const error = await client.withdraw('7', decimal('1.00')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(InsufficientFundsError);
    expect(server.seen).to.have.length(1);
  });

  it('gives up after the bounded retries with a BankTransportError carrying the request-id', async () => {
    server.script(dropConnection);
    const error = await client.transfer('7', '8', decimal('1.00')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(BankTransportError);
    expect(server.seen).to.have.length(3); // 1 + retries (2)
    expect((error as BankTransportError).requestId).to.equal(requestIdOf(server.seen[0]!.body));
    expect((error as BankTransportError).attempts).to.equal(3);
  });

  it('turns a non-SOAP answer into a BankProtocolError without retrying', async () => {
    server.script((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html>nope</html>');
    });
    const error = await client.getBalance('7').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(BankProtocolError);
    expect(server.seen).to.have.length(1);
  });

  it('reads no response body past responseBytesMax (and does not retry it)', async () => {
    const small = new BankClient({
      url,
      clientId: 'a',
      authToken: 't',
      responseBytesMax: 2048,
      retries: 2,
      retryDelayMs: 0,
    });
    try {
      server.script(okResponse('GetBalanceResponse', { accountId: '7', balance: '1.00', padding: 'x'.repeat(10_000) }));
      const error = await small.getBalance('7').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(BankProtocolError);
      expect(server.seen).to.have.length(1);
    } finally {
      small.close();
    }
  });

  it('refuses a response that breaks the contract (missing balance)', async () => {
    server.script(okResponse('GetBalanceResponse', { accountId: '7' }));
    const error = await client.getBalance('7').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(BankProtocolError);
    expect((error as Error).message).to.contain('balance');
  });

  it('normalises statement entries: none, one, many', async () => {
    const entry = (id: string) =>
      `<b:entry><b:transactionId>${id}</b:transactionId><b:kind>TRANSFER_OUT</b:kind><b:amount>-10.00</b:amount>` +
      `<b:balanceAfter>90.00</b:balanceAfter><b:counterpartyAccountId>8</b:counterpartyAccountId><b:at>2026-11-26T15:00:00Z</b:at><b:entryId>4${id.slice(1)}</b:entryId></b:entry>`;
    for (const count of [0, 1, 3]) {
      const entries = Array.from({ length: count }, (_v, i) => entry(`t${i}`)).join('');
      server.script((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          envelope(
            `<b:GetStatementResponse xmlns:b="${BANK_NAMESPACE}"><b:accountId>7</b:accountId><b:balance>90.00</b:balance>${entries}</b:GetStatementResponse>`,
          ),
        );
      });
      const statement = await client.getStatement('7', 10);
      expect(statement.entries, String(count)).to.have.length(count);
      if (count > 0) {
        expect(statement.entries[0]).to.deep.equal({
          transactionId: 't0',
          kind: 'TRANSFER_OUT',
          amount: '-10.00',
          balanceAfter: '90.00',
          counterpartyAccountId: '8',
          at: '2026-11-26T15:00:00Z',
          entryId: '40',
        });
      }
      expect(server.seen[0]!.body).to.contain('<limit>10</limit>');
    }
  });

  it('validates its own options and request-ids', () => {
    expect(() => new BankClient({ url: 'not a url', clientId: 'a', authToken: 't' })).to.throw(TypeError);
    expect(() => new BankClient({ url, clientId: 'a', authToken: 't', retries: 11 })).to.throw(RangeError);
    expect(() => new BankClient({ url, clientId: 'a', authToken: 't', timeoutMs: 0 })).to.throw(RangeError);
    return client.getBalance('7', { requestId: 'has space' }).then(
      () => expect.fail('accepted a bad request-id'),
      (e: unknown) => expect(e).to.be.instanceOf(TypeError),
    );
  });

  it('refuses a number where a DecimalString is expected, even past the type checker', async () => {
    const error = await client.deposit('7', 10 as unknown as DecimalString).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(DecimalFormatError);
  });
});
