import { expect } from 'chai';
import { healthDetails } from './helpers/admin';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { parseBankResponse } from './helpers/bank-call';
import { dataEnvelope, DataCallResult, postData, recordsOf, textOf } from './helpers/data-call';
import { DataFixture, sqliteBackend } from './helpers/data-server';
import { BANK_NAMESPACE, DATA_NAMESPACE, SOAP_CONTENT_TYPE, soapAction, soapActionHeader } from '../common/contract';
import { ifAssigned } from './helpers/if-assigned';

// The SOAP edge's guards (common/soap-host.ts) as the real data server applies them: each hostile
// request gets a well-formed fault (HTTP 500) and the server keeps serving. And the contract
// loads in Debian's zeep with its header parts.
const DEBIAN_PYTHON = '/usr/bin/python3';

function postBytes(url: string, body: Buffer, headers: Record<string, string>): Promise<DataCallResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'content-type': SOAP_CONTENT_TYPE, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          parseBankResponse(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')).then(resolve, reject);
        });
      },
    );
    // The server may answer (and close) before reading the whole body: that is not an error here.
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error),
    );
    req.end(body);
  });
}

describe('data server hardening and contract', () => {
  let fx: DataFixture;
  let account: string;
  before(async () => {
    fx = await DataFixture.start(sqliteBackend(), { BANK_BODY_BYTES_MAX: String(64 * 1024) });
    account = await fx.createAccount('7.00');
  });
  after(async () => {
    await ifAssigned(fx)?.stop();
  });

  async function stillServing(): Promise<void> {
    expect((await fx.balances([account])).get(account)?.balance).to.equal('7.00');
  }
  const read = () => dataEnvelope('Read', [['accountId', account]], fx.credentials.b1);
  const action = (op: string) => ({ soapaction: soapActionHeader(DATA_NAMESPACE, op) });

  const hostile: Array<[string, () => Promise<DataCallResult>]> = [
    [
      'an oversized body (1 MiB)',
      () =>
        postBytes(
          fx.url,
          Buffer.from(read().replace('<soap:Body>', `<soap:Body><!--${'x'.repeat(1024 * 1024)}-->`)),
          action('Read'),
        ),
    ],
    [
      'a gzip bomb (10 MiB inflated)',
      () =>
        postBytes(fx.url, gzipSync(read().replace('<soap:Body>', `<soap:Body>${' '.repeat(10 * 1024 * 1024)}`)), {
          ...action('Read'),
          'content-encoding': 'gzip',
        }),
    ],
    [
      'a DTD with entities',
      () =>
        postBytes(
          fx.url,
          Buffer.from(
            read().replace(
              '<?xml version="1.0" encoding="utf-8"?>',
              '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
            ),
          ),
          action('Read'),
        ),
    ],
    [
      'a SOAPAction naming another operation',
      () => postData(fx.url, 'Read', read(), { soapAction: soapAction(DATA_NAMESPACE, 'Update') }),
    ],
    [
      'a SOAPAction of another service',
      () => postData(fx.url, 'Read', read(), { soapAction: soapAction(BANK_NAMESPACE, 'Transfer') }),
    ],
    [
      'a __proto__ element',
      () =>
        postData(
          fx.url,
          'Read',
          read().replace('<d:accountId>', '<d:__proto__><d:x>1</d:x></d:__proto__><d:accountId>'),
        ),
    ],
    ['not XML at all', () => postBytes(fx.url, Buffer.from('hello'), action('Read'))],
    ['an unknown operation', () => postData(fx.url, 'Drain', dataEnvelope('Drain', [], fx.credentials.b1))],
  ];
  for (const [name, send] of hostile) {
    it(`${name}: a well-formed fault, HTTP 500, and the server keeps serving`, async () => {
      const r = await send();
      expect(r.httpStatus, r.raw.slice(0, 300)).to.equal(500);
      expect(r.fault?.code, r.raw.slice(0, 300)).to.be.oneOf(['INVALID_REQUEST', 'AUTHENTICATION_FAILED']);
      expect(r.fault?.faultcode).to.match(/:Client$/);
      expect(r.raw).not.to.match(/at .*\.js:\d+|TypeError|stack/i);
      await stillServing();
    });
  }

  it('money never passes through a float: 0.07 and 9999999999999.99 stay exact end to end', async () => {
    const a = await fx.createAccount('9999999999999.92');
    const lock = (await fx.lock([a])).body!;
    const r = await fx.update(
      { lockId: textOf(lock.lockId), fencingToken: textOf(lock.fencingToken) },
      fx.uniqueId('t'),
      [[a, '0.07']],
      'b1',
      true,
    );
    expect(textOf(recordsOf(r.body?.account)[0]?.balance)).to.equal('9999999999999.99');
  });

  it('serves ?wsdl with soap:address set to its own URL, and /health', async () => {
    const wsdl = await (await fetch(`${fx.url}?wsdl`)).text();
    expect(wsdl).to.include(`<soap:address location="${fx.url}"/>`);
    expect(await (await fetch(new URL('/health', fx.url))).json()).to.deep.equal({ status: 'ok' });
    const health = await healthDetails(fx.url, fx.adminToken);
    expect(health).to.deep.include({ status: 'ok', service: 'data', store: 'sqlite' });
  });

  it('Debian zeep loads data.wsdl from the running server and shows the header parts', function () {
    const probe = spawnSync(DEBIAN_PYTHON, ['-c', 'import zeep'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      if (process.env.CI) throw new Error(`zeep is not importable by ${DEBIAN_PYTHON} under CI: ${probe.stderr}`);
      this.skip();
    }
    const shown = spawnSync(DEBIAN_PYTHON, ['-m', 'zeep', `${fx.url}?wsdl`], { encoding: 'utf8', timeout: 30_000 });
    expect(shown.status, shown.stderr).to.equal(0);
    for (const op of ['Lock', 'Read', 'Update', 'Unlock', 'CreateAccount', 'GetJournal'])
      expect(shown.stdout).to.include(`${op}(`);
    expect(shown.stdout).to.match(
      /_soapheaders=\{auth-token: \w+:auth-token, business-id: \w+:business-id, request-id: \w+:request-id\}/,
    );
    // And a real call through zeep, headers as _soapheaders, money as Decimal.
    const script = [
      'import sys, zeep',
      'client = zeep.Client(sys.argv[1])',
      "r = client.service.Read(accountId=[sys.argv[2]], _soapheaders={'auth-token': sys.argv[3], 'business-id': 'b1', 'request-id': 'zeep-1'})",
      'print(type(r[0].balance).__name__, r[0].balance, r[0].locked)',
    ].join('\n');
    const called = spawnSync(DEBIAN_PYTHON, ['-c', script, `${fx.url}?wsdl`, account, fx.credentials.b1.authToken], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(called.status, called.stderr).to.equal(0);
    expect(called.stdout.trim()).to.equal('Decimal 7.00 False');
  });
});
