import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { readRequestBody } from '../common/request-body';
import { fault } from '../common/service-fault';
import { SoapServer, startSoapServer } from '../common/soap-host';
import { postRaw } from './helpers/bank-call';
import { dataEdgeOptions } from './helpers/data-edge';
import { DATA_NAMESPACE, SOAP11_ENVELOPE_NS, soapActionHeader } from '../common/contract';

// The SOAP edge on its own, with the data contract and a toy handler: every guard of docs/ARCHITECTURE.md §7.
const TOKEN = 'test-token-of-b1';

function envelope(
  body: string,
  headers = `<d:auth-token>${TOKEN}</d:auth-token><d:business-id>b1</d:business-id>`,
): string {
  return (
    `<?xml version="1.0"?><soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:d="${DATA_NAMESPACE}">` +
    `<soap:Header>${headers}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}
const READ = '<d:Read><d:accountId>7</d:accountId></d:Read>';

interface Reply {
  status: number;
  body: string;
}
async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const reply = await postRaw(url, body, { SOAPAction: soapActionHeader(DATA_NAMESPACE, 'Read'), ...headers }, 10_000);
  return { status: reply.httpStatus, body: reply.raw };
}
function faultCode(reply: Reply): string | undefined {
  return /<code>([A-Z_]+)<\/code>/.exec(reply.body)?.[1];
}

describe('soap-host: the SOAP edge', () => {
  let host: SoapServer;
  let seenArgs: Record<string, unknown> | undefined;
  before(async () => {
    host = await startSoapServer(
      dataEdgeOptions(TOKEN, {
        operations: {
          Read: (args) => {
            seenArgs = args;
            const id = ([] as unknown[]).concat(args.accountId)[0];
            if (id === '404') return Promise.reject(fault('ACCOUNT_NOT_FOUND', 'no such account', '404'));
            if (id === '500') return Promise.reject(new Error('secret internal detail'));
            return Promise.resolve({
              account: [{ accountId: String(id), ownerId: 'alice', balance: '10.50', version: '3', locked: false }],
            });
          },
        },
      }),
      '127.0.0.1',
      0,
    );
  });
  after(() => host.close());

  it('answers an authenticated call and keeps decimals/longs as text', async () => {
    const reply = await post(host.url, envelope(READ));
    expect(reply.status).to.equal(200);
    expect(reply.body).to.contain('<balance>10.50</balance>').and.contain('<version>3</version>');
    // node-soap makes an element with maxOccurs > 1 an array even when it appears once.
    expect(seenArgs).to.deep.equal({ accountId: ['7'] });
  });

  it('accepts the credentials as plain HTTP headers', async () => {
    const reply = await post(host.url, envelope(READ, ''), { 'auth-token': TOKEN, 'business-id': 'b1' });
    expect(reply.status).to.equal(200);
  });

  for (const [name, headers, http] of [
    ['missing headers', '', {}],
    ['no soap:Header at all', null, {}],
    ['a wrong token', `<d:auth-token>nope</d:auth-token><d:business-id>b1</d:business-id>`, {}],
    ['an unknown business id', `<d:auth-token>${TOKEN}</d:auth-token><d:business-id>b9</d:business-id>`, {}],
  ] as const) {
    it(`refuses ${name} with AUTHENTICATION_FAILED, HTTP 500`, async () => {
      const xml =
        headers === null
          ? `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:d="${DATA_NAMESPACE}"><soap:Body>${READ}</soap:Body></soap:Envelope>`
          : envelope(READ, headers);
      const reply = await post(host.url, xml, http);
      expect(reply.status).to.equal(500);
      expect(faultCode(reply)).to.equal('AUTHENTICATION_FAILED');
      expect(reply.body)
        .to.contain('<faultcode>soap:Client</faultcode>')
        .and.contain(`<DataFault xmlns="${DATA_NAMESPACE}">`);
    });
  }

  it('turns a ServiceFault into its fault and any other error into INTERNAL_ERROR without leaking', async () => {
    const notFound = await post(host.url, envelope('<d:Read><d:accountId>404</d:accountId></d:Read>'));
    expect(notFound.status).to.equal(500);
    expect(faultCode(notFound)).to.equal('ACCOUNT_NOT_FOUND');
    expect(notFound.body).to.contain('<accountId>404</accountId>');
    const internal = await post(host.url, envelope('<d:Read><d:accountId>500</d:accountId></d:Read>'));
    expect(internal.status).to.equal(500);
    expect(faultCode(internal)).to.equal('INTERNAL_ERROR');
    expect(internal.body).to.not.contain('secret');
    expect(internal.body).to.contain('<faultcode>soap:Server</faultcode>');
  });

  const attacks: Array<[string, () => Promise<Reply>]> = [
    ['an oversized body', () => post(host.url, envelope(READ + ' '.repeat(70 * 1024)))],
    [
      'a gzip bomb',
      () => post(host.url, gzipSync(envelope(READ + ' '.repeat(10 * 1024 * 1024))), { 'Content-Encoding': 'gzip' }),
    ],
    [
      'a DTD with entities',
      () => post(host.url, `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>` + envelope(READ)),
    ],
    [
      'a mismatched SOAPAction',
      () => post(host.url, envelope(READ), { SOAPAction: soapActionHeader(DATA_NAMESPACE, 'Update') }),
    ],
    ['an unknown SOAPAction', () => post(host.url, envelope(READ), { SOAPAction: 'nonsense' })],
    [
      'a __proto__ element',
      () => post(host.url, envelope('<d:Read><__proto__><x>1</x></__proto__><d:accountId>7</d:accountId></d:Read>')),
    ],
    ['broken XML', () => post(host.url, '<soap:Envelope')],
    ['an unknown operation', () => post(host.url, envelope('<d:Explode/>'), { SOAPAction: '' })],
    [
      'an invalid request-id',
      () =>
        post(
          host.url,
          envelope(
            READ,
            `<d:auth-token>${TOKEN}</d:auth-token><d:business-id>b1</d:business-id><d:request-id>a b</d:request-id>`,
          ),
        ),
    ],
  ];
  for (const [name, attack] of attacks) {
    it(`refuses ${name} with INVALID_REQUEST and keeps serving`, async () => {
      const reply = await attack();
      expect(reply.status).to.equal(500);
      expect(faultCode(reply)).to.equal('INVALID_REQUEST');
      const after = await post(host.url, envelope(READ));
      expect(after.status).to.equal(200);
    });
  }

  it('answers a request target that is not a URL with 400 and keeps serving', async () => {
    const { port } = new URL(host.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () =>
        socket.end('GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (c) => (text += c.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).to.match(/^HTTP\/1\.1 400/);
    expect((await post(host.url, envelope(READ))).status).to.equal(200);
  });

  it('ends the read of a gzip body whose sender went away (no request left hanging)', async () => {
    const outcome = new Promise<string>((resolve) => {
      const server = http.createServer((req) => {
        readRequestBody(req, 64 * 1024)
          .then(
            () => resolve('read'),
            (e: unknown) => resolve(String((e as { code?: string }).code)),
          )
          .finally(() => server.close());
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        const body = gzipSync(envelope(READ + ' '.repeat(20_000)));
        const req = http.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          headers: { 'Content-Encoding': 'gzip', 'Content-Length': body.length },
        });
        req.on('error', () => undefined);
        req.write(body.subarray(0, body.length >> 1));
        setTimeout(() => req.destroy(), 100);
      });
    });
    const settled = await Promise.race([
      outcome,
      new Promise<string>((r) => setTimeout(() => r('still waiting'), 3000)),
    ]);
    expect(settled).to.equal('INVALID_REQUEST');
  });

  it('serves ?wsdl with its own address and /health', async () => {
    const wsdl = await new Promise<string>((resolve) =>
      http.get(`${host.url}?wsdl`, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve(text));
      }),
    );
    expect(wsdl).to.contain(`<soap:address location="${host.url}"/>`);
  });
});
