import { expect } from 'chai';
import sax from 'sax';
import { AccountQueue, compareAccountIds } from '../business/account-queue';
import { loadBusinessConfig } from '../business/config';
import { checkDataContract, dataWsdlPath } from '../business/data-contract';
import { readFileSync } from 'node:fs';
import { DataEnvelopes } from '../business/data-envelope';
import {
  BadDataResponse,
  parseEnvelope,
  readGetJournalResponse,
  readLockResponse,
  readUpdateResponse,
} from '../business/data-response';
import { accountIdArg, statementLimitArg } from '../business/input';
import { OwnerCache } from '../business/owner-cache';
import { transactionIdFor } from '../business/transaction-id';
import { parseXml, XmlSyntaxError } from '../common/xml-reader';
import { Cents } from '../common/money';
import { isServiceFault } from '../common/service-fault';
import { DATA_NAMESPACE, SOAP11_ENVELOPE_NS, soapAction } from '../common/contract';

function faultCodeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isServiceFault(error)) return error.code;
    throw error;
  }
  return 'no fault';
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('business unit: transaction id', () => {
  it('is t + the first 32 hex digits of sha256(clientId \\n requestId): known answers', () => {
    // Fixed values, not recomputed: a change of the derivation would break idempotency across a
    // rolling deploy (a retry through an old and a new business server would get two ids).
    expect(transactionIdFor('alice', 'r-1')).to.equal('t6e4f35870ae37fe407dfba3536076910');
    expect(transactionIdFor('bob', 'r-1')).to.equal('t8911f2f34528e04d9024c69aa7e2a9e6');
    expect(transactionIdFor('alice', 'r-1')).to.match(/^t[0-9a-f]{32}$/);
  });
  it('differs between clients that pick the same request id', () => {
    expect(transactionIdFor('alice', 'r-1')).to.not.equal(transactionIdFor('bob', 'r-1'));
    // The separator keeps ("a", "b\nc") apart from ("a\nb", "c").
    expect(transactionIdFor('ab', 'c')).to.not.equal(transactionIdFor('a', 'bc'));
  });
});

describe('business unit: input validation', () => {
  it('accepts account ids of 1..15 digits without a leading zero, nothing else', () => {
    expect(accountIdArg({ a: '1' }, 'a')).to.equal('1');
    expect(accountIdArg({ a: '999999999999999' }, 'a')).to.equal('999999999999999');
    for (const bad of ['0', '01', '-1', '1.0', '1e3', '', ' 1', '1000000000000000', 'abc']) {
      expect(
        faultCodeOf(() => accountIdArg({ a: bad }, 'a')),
        bad,
      ).to.equal('INVALID_REQUEST');
    }
    expect(faultCodeOf(() => accountIdArg({}, 'a'))).to.equal('INVALID_REQUEST');
    expect(faultCodeOf(() => accountIdArg({ a: ['1', '2'] }, 'a'))).to.equal('INVALID_REQUEST');
    expect(faultCodeOf(() => accountIdArg({ a: { attributes: {} } }, 'a'))).to.equal('INVALID_REQUEST');
  });
  it('bounds the statement limit to 1..1000, default 100', () => {
    expect(statementLimitArg({}, 'limit')).to.equal(100);
    expect(statementLimitArg({ limit: '1' }, 'limit')).to.equal(1);
    expect(statementLimitArg({ limit: '1000' }, 'limit')).to.equal(1000);
    for (const bad of ['0', '1001', '-1', '1.5', '', 'ten', '99999']) {
      expect(
        faultCodeOf(() => statementLimitArg({ limit: bad }, 'limit')),
        bad,
      ).to.equal('INVALID_REQUEST');
    }
  });
});

/** These cases are about one caller, the accounts' owner (fairness: test/fairness.test.ts). */
const OWNER = { clientId: 'owner', owns: (): boolean => true };

describe('business unit: account queue', () => {
  it('orders account ids numerically', () => {
    expect(['10', '9', '100', '11'].sort(compareAccountIds)).to.deep.equal(['9', '10', '11', '100']);
  });

  it('runs requests on one account one at a time, in arrival order', async () => {
    const queue = new AccountQueue({ lengthMax: 10, perClientMax: 10, waitMs: 1000 });
    const log: string[] = [];
    let running = 0;
    const job = (name: string) =>
      queue.run(['7'], OWNER, async () => {
        running++;
        expect(running).to.equal(1);
        log.push(`start ${name}`);
        await sleep(5);
        log.push(`end ${name}`);
        running--;
      });
    await Promise.all([job('a'), job('b'), job('c')]);
    expect(log).to.deep.equal(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(queue.busyAccounts).to.equal(0);
  });

  it('lets different accounts run in parallel', async () => {
    const queue = new AccountQueue({ lengthMax: 10, perClientMax: 10, waitMs: 1000 });
    let running = 0;
    let peak = 0;
    await Promise.all(
      ['1', '2', '3'].map((id) =>
        queue.run([id], OWNER, async () => {
          running++;
          peak = Math.max(peak, running);
          await sleep(10);
          running--;
        }),
      ),
    );
    expect(peak).to.equal(3);
  });

  it('refuses past the length bound with ACCOUNT_LOCKED and the account id', async () => {
    const queue = new AccountQueue({ lengthMax: 2, perClientMax: 2, waitMs: 1000 });
    const first = queue.run(['5'], OWNER, () => sleep(30));
    const second = queue.run(['5'], OWNER, () => sleep(1));
    const third = await rejection(queue.run(['5'], OWNER, () => sleep(1)));
    expect(isServiceFault(third) && third.code).to.equal('ACCOUNT_LOCKED');
    expect(isServiceFault(third) && third.accountId).to.equal('5');
    expect(isServiceFault(third) && third.retryable).to.equal(true);
    await Promise.all([first, second]);
    expect(queue.lengthOf('5')).to.equal(0);
  });

  it('gives up a waiter after waitMs and keeps serving the others', async () => {
    const queue = new AccountQueue({ lengthMax: 10, perClientMax: 10, waitMs: 30 });
    const slow = queue.run(['5'], OWNER, () => sleep(80));
    const timedOut = await rejection(queue.run(['5'], OWNER, () => sleep(1)));
    expect(isServiceFault(timedOut) && timedOut.code).to.equal('ACCOUNT_LOCKED');
    await slow;
    expect(queue.lengthOf('5')).to.equal(0);
    await queue.run(['5'], OWNER, () => sleep(1));
    expect(queue.busyAccounts).to.equal(0);
  });

  it('keeps its count right while waiters keep timing out behind a slow request', async () => {
    const queue = new AccountQueue({ lengthMax: 3, perClientMax: 3, waitMs: 25 });
    // The slow request holds the account until every waiter has given up (not for a fixed
    // time: on a loaded machine the loop below can outlast any fixed sleep).
    let finishSlow: () => void = () => undefined;
    const slow = queue.run(['9'], OWNER, () => new Promise<void>((resolve) => (finishSlow = resolve)));
    const attempts: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      attempts.push(rejection(queue.run(['9'], OWNER, () => sleep(1))));
      expect(queue.lengthOf('9')).to.be.at.most(3);
      await sleep(10);
    }
    const errors = await Promise.all(attempts);
    expect(errors.every((e) => isServiceFault(e) && e.code === 'ACCOUNT_LOCKED')).to.equal(true);
    finishSlow();
    await slow;
    expect(queue.lengthOf('9')).to.equal(0);
    expect(queue.busyAccounts).to.equal(0);
  });

  it('releases the places when the work throws', async () => {
    const queue = new AccountQueue({ lengthMax: 10, perClientMax: 10, waitMs: 100 });
    await rejection(queue.run(['1', '2'], OWNER, () => Promise.reject(new Error('boom'))));
    expect(queue.busyAccounts).to.equal(0);
  });

  it('never deadlocks opposite transfers', async () => {
    const queue = new AccountQueue({ lengthMax: 1000, perClientMax: 1000, waitMs: 5000 });
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const pair = i % 2 === 0 ? ['1', '2'] : ['2', '1'];
      jobs.push(queue.run(pair, OWNER, () => sleep(0)));
    }
    await Promise.all(jobs);
    expect(queue.busyAccounts).to.equal(0);
  });
});

describe('business unit: owner cache', () => {
  it('drops the least recently used entry past its bound', () => {
    const cache = new OwnerCache(2);
    cache.set('1', 'alice');
    cache.set('2', 'bob');
    expect(cache.get('1')).to.equal('alice'); // 1 is now the most recent
    cache.set('3', 'carol');
    expect(cache.get('2')).to.equal(undefined);
    expect(cache.get('1')).to.equal('alice');
    expect(cache.get('3')).to.equal('carol');
    expect(cache.size).to.equal(2);
  });
});

describe('business unit: data-tier envelopes', () => {
  const envelopes = new DataEnvelopes('b1', 'tok<&>"en');

  it('builds well-formed envelopes with escaped text and the header blocks of data.wsdl', () => {
    const xml = envelopes.update('req-1', {
      lockId: 'L1',
      fencingToken: '42',
      transactionId: 'tabc',
      postings: [
        { accountId: '1', amountCents: -1050 as Cents },
        { accountId: '2', amountCents: 1050 as Cents },
      ],
      release: true,
    });
    // sax (strict, namespace-aware) as an independent judge of well-formedness.
    const names: string[] = [];
    const texts: Record<string, string> = {};
    const parser = sax.parser(true, { xmlns: true });
    let current = '';
    parser.onopentag = (tag) => {
      const qualified = tag as sax.QualifiedTag;
      names.push(`{${qualified.uri}}${qualified.local}`);
      current = qualified.local;
    };
    parser.ontext = (text) => {
      texts[current] = (texts[current] ?? '') + text;
    };
    parser.write(xml).close();
    expect(names).to.include(`{${DATA_NAMESPACE}}auth-token`);
    expect(names).to.include(`{${DATA_NAMESPACE}}business-id`);
    expect(names).to.include(`{${DATA_NAMESPACE}}request-id`);
    expect(names).to.include(`{${DATA_NAMESPACE}}Update`);
    expect(names.filter((n) => n === `{${DATA_NAMESPACE}}posting`)).to.have.length(2);
    expect(texts['auth-token']).to.equal('tok<&>"en');
    expect(xml).to.contain('<d:amount>-10.50</d:amount>');
    expect(xml).to.contain('<d:release>true</d:release>');
  });

  it('puts waitMs after the account ids and leaseMs only when given', () => {
    expect(envelopes.lock('r', ['1', '2'], 1000, undefined)).to.contain(
      '<d:Lock><d:accountId>1</d:accountId><d:accountId>2</d:accountId><d:waitMs>1000</d:waitMs></d:Lock>',
    );
    expect(envelopes.lock('r', ['1'], 0, 5000)).to.contain('<d:waitMs>0</d:waitMs><d:leaseMs>5000</d:leaseMs>');
  });
});

describe('business unit: xml reader and data-tier responses', () => {
  const wrap = (inner: string): string =>
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" ` +
    `xmlns:tns="${DATA_NAMESPACE}"><soap:Body>${inner}</soap:Body></soap:Envelope>`;

  it('reads a LockResponse, money as cents and longs as text', () => {
    const parsed = parseEnvelope(
      wrap(
        '<tns:LockResponse><tns:lockId>L-1</tns:lockId><tns:fencingToken>9007199254740993</tns:fencingToken>' +
          '<tns:leaseExpiresAt>2026-11-26T10:00:00Z</tns:leaseExpiresAt>' +
          '<tns:account><tns:accountId>12</tns:accountId><tns:ownerId>alice</tns:ownerId><tns:balance>100.5</tns:balance><tns:version>3</tns:version></tns:account>' +
          '</tns:LockResponse>',
      ),
      'Lock',
    );
    expect(parsed.kind).to.equal('body');
    if (parsed.kind !== 'body') return;
    const grant = readLockResponse(parsed.element);
    expect(grant.fencingToken).to.equal('9007199254740993');
    expect(grant.accounts).to.deep.equal([{ accountId: '12', ownerId: 'alice', balanceCents: 10050, version: '3' }]);
  });

  it('reads an UpdateResponse with several accounts, unprefixed elements and whitespace', () => {
    const parsed = parseEnvelope(
      wrap(`
      <UpdateResponse xmlns="${DATA_NAMESPACE}">
        <transactionId>tx</transactionId><replayed>false</replayed><released>true</released>
        <account><accountId>1</accountId><ownerId>a</ownerId><balance>0.00</balance><version>2</version></account>
        <account><accountId>2</accountId><ownerId>b</ownerId><balance>20.00</balance><version>5</version></account>
      </UpdateResponse>`),
      'Update',
    );
    if (parsed.kind !== 'body') throw new Error(parsed.kind);
    const outcome = readUpdateResponse(parsed.element);
    expect(outcome.released).to.equal(true);
    expect(outcome.accounts.map((a) => a.balanceCents)).to.deep.equal([0, 2000]);
  });

  it('reads a DataFault', () => {
    const parsed = parseEnvelope(
      wrap(
        '<soap:Fault><faultcode>soap:Client</faultcode><faultstring>INSUFFICIENT_FUNDS: no</faultstring>' +
          `<detail><DataFault xmlns="${DATA_NAMESPACE}"><code>INSUFFICIENT_FUNDS</code><message>a &lt; b &amp; c</message>` +
          '<accountId>7</accountId><retryable>false</retryable></DataFault></detail></soap:Fault>',
      ),
      'Update',
    );
    expect(parsed).to.deep.equal({
      kind: 'fault',
      fault: { code: 'INSUFFICIENT_FUNDS', message: 'a < b & c', accountId: '7', retryable: false },
    });
  });

  it('reads a journal with and without counterparty, and a zero opening', () => {
    const entry = (kind: string, amount: string, extra = ''): string =>
      `<entry><transactionId>t1</transactionId><kind>${kind}</kind><amount>${amount}</amount><balanceAfter>5.00</balanceAfter>${extra}<at>2026-11-26T10:00:00.000Z</at><entryId>7</entryId></entry>`;
    const parsed = parseEnvelope(
      wrap(
        '<GetJournalResponse><accountId>3</accountId><ownerId>bob</ownerId><balance>5.00</balance>' +
          entry('TRANSFER_OUT', '-5.00', '<counterpartyAccountId>4</counterpartyAccountId>') +
          entry('OPENING', '0.00') +
          '</GetJournalResponse>',
      ),
      'GetJournal',
    );
    if (parsed.kind !== 'body') throw new Error(parsed.kind);
    const journal = readGetJournalResponse(parsed.element);
    expect(journal.entries).to.have.length(2);
    expect(journal.entries[0]).to.include({ amountCents: -500, counterpartyAccountId: '4' });
    expect(journal.entries[1]).to.include({ amountCents: 0 });
    expect(journal.entries[1]).to.not.have.property('counterpartyAccountId');
  });

  it('refuses responses that are not what data.wsdl says', () => {
    expect(() => parseEnvelope(wrap('<ReadResponse/>'), 'Update')).to.throw(BadDataResponse);
    expect(() => parseEnvelope('<html>oops</html>', 'Update')).to.throw(BadDataResponse);
    expect(() => parseEnvelope('not xml', 'Update')).to.throw(BadDataResponse);
    const parsed = parseEnvelope(
      wrap(
        '<LockResponse><lockId>L</lockId><fencingToken>1.5</fencingToken><leaseExpiresAt>x</leaseExpiresAt>' +
          '<account><accountId>1</accountId><ownerId>a</ownerId><balance>1</balance><version>1</version></account></LockResponse>',
      ),
      'Lock',
    );
    if (parsed.kind !== 'body') throw new Error(parsed.kind);
    expect(() => readLockResponse(parsed.element)).to.throw(BadDataResponse, /fencingToken/);
    const floaty = parseEnvelope(
      wrap(
        '<LockResponse><lockId>L</lockId><fencingToken>1</fencingToken><leaseExpiresAt>x</leaseExpiresAt>' +
          '<account><accountId>1</accountId><ownerId>a</ownerId><balance>1e3</balance><version>1</version></account></LockResponse>',
      ),
      'Lock',
    );
    if (floaty.kind !== 'body') throw new Error(floaty.kind);
    expect(() => readLockResponse(floaty.element)).to.throw(BadDataResponse, /balance/);
  });

  it('is strict about XML: DOCTYPE, mismatched tags, bad entities, depth', () => {
    expect(() => parseXml('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')).to.throw(XmlSyntaxError);
    expect(() => parseXml('<a><b></a></b>')).to.throw(XmlSyntaxError);
    expect(() => parseXml('<a>&bogus;</a>')).to.throw(XmlSyntaxError);
    expect(() => parseXml('<a>& b</a>')).to.throw(XmlSyntaxError);
    expect(() => parseXml('<a>')).to.throw(XmlSyntaxError);
    expect(() => parseXml('<a/><b/>')).to.throw(XmlSyntaxError);
    expect(() => parseXml('<a>'.repeat(40) + '</a>'.repeat(40))).to.throw(XmlSyntaxError, /deeply/);
    expect(() => parseXml('<1a/>')).to.throw(XmlSyntaxError, /name/);
    expect(() => parseXml('<a></ab>')).to.throw(XmlSyntaxError, /mismatched/);
    expect(() => parseXml('<ab></a>')).to.throw(XmlSyntaxError, /mismatched/);
    expect(() => parseXml('<a></a b>')).to.throw(XmlSyntaxError, /mismatched/);
    expect(() => parseXml('<a$b/>')).to.throw(XmlSyntaxError, /name/);
    expect(parseXml('<p:a\n  xmlns:p="u" ><p:b/><c  /></p:a >').children.map((c) => c.name)).to.deep.equal(['b', 'c']);
    const ok = parseXml('<?xml version="1.0"?><!-- c --><a x="1>2" y=\'q\'><b>&#65;&#x42;<![CDATA[<c>]]></b><e/></a>');
    expect(ok.children.map((c) => c.name)).to.deep.equal(['b', 'e']);
    expect(ok.children[0]?.text).to.equal('AB<c>');
  });
});

describe('business unit: config', () => {
  const base = { BANK_BUSINESS_TOKEN: 'secret' };
  it('has the documented defaults and is frozen', () => {
    const config = loadBusinessConfig(base, []);
    expect(config.port).to.equal(8081);
    expect(config.dataUrls).to.deep.equal(['http://127.0.0.1:8090/data']);
    expect(config.amountCentsMax).to.equal(100_000_000);
    expect(config.bodyBytesMax).to.equal(65_536);
    expect(Object.isFrozen(config)).to.equal(true);
  });
  it('takes flags over env and refuses nonsense', () => {
    expect(loadBusinessConfig({ ...base, BANK_PORT: '9000' }, ['--port', '0']).port).to.equal(0);
    expect(loadBusinessConfig({ ...base, BANK_AMOUNT_MAX: '50.00' }, []).amountCentsMax).to.equal(5000);
    expect(() => loadBusinessConfig({}, [])).to.throw(/BANK_BUSINESS_TOKEN/);
    expect(() => loadBusinessConfig(base, ['--port', 'x'])).to.throw(/BANK_PORT/);
    expect(() => loadBusinessConfig(base, ['--bogus', '1'])).to.throw(/unknown flag/);
    expect(() => loadBusinessConfig({ ...base, BANK_AMOUNT_MAX: '1e3' }, [])).to.throw(/BANK_AMOUNT_MAX/);
    // A maximum near the balance ceiling would let refused deposits probe others' balances.
    expect(loadBusinessConfig({ ...base, BANK_AMOUNT_MAX: '1000000000.00' }, []).amountCentsMax).to.equal(
      100_000_000_000,
    );
    expect(() => loadBusinessConfig({ ...base, BANK_AMOUNT_MAX: '10000000000000.00' }, [])).to.throw(
      /at most 1000000000.00/,
    );
    expect(() => loadBusinessConfig({ ...base, BANK_LOCK_WAIT_MS: '6000' }, [])).to.throw(/must exceed/);
    expect(() => loadBusinessConfig({ ...base, BANK_DATA_URL: 'ftp://x' }, [])).to.throw(/BANK_DATA_URL/);
  });
});

describe('business unit: data-tier templates vs wsdl/data.wsdl', () => {
  const wsdl = readFileSync(dataWsdlPath(), 'utf8');
  it('match the contract', async () => {
    await checkDataContract(wsdl);
  });
  it('notice a contract that moved on', async () => {
    const reordered = wsdl.replace(
      '<xsd:element name="waitMs" type="tns:Millis" minOccurs="0" nillable="true"/>\n            <xsd:element name="leaseMs" type="tns:LeaseMillis" minOccurs="0" nillable="true"/>',
      '<xsd:element name="leaseMs" type="tns:LeaseMillis" minOccurs="0" nillable="true"/>\n            <xsd:element name="waitMs" type="tns:Millis" minOccurs="0" nillable="true"/>',
    );
    expect(reordered).to.not.equal(wsdl);
    const error = await rejection(checkDataContract(reordered));
    expect(String(error)).to.contain('element Lock');
    const renamed = wsdl.replace(
      `soapAction="${soapAction(DATA_NAMESPACE, 'Update')}"`,
      'soapAction="urn:distbank:data:v2#Update"',
    );
    expect(String(await rejection(checkDataContract(renamed)))).to.contain('operation Update');
  });
});
