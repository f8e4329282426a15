import { expect } from 'chai';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { SoapServer, startSoapServer } from '../common/soap-host';
import { dataEdgeOptions } from './helpers/data-edge';
import { bankEnvelope, parseBankResponse } from './helpers/bank-call';
import { openAccount, startCluster, TestCluster } from './helpers/cluster';
import { BANK_NAMESPACE, DATA_NAMESPACE, SOAP11_ENVELOPE_NS, soapActionHeader } from '../common/contract';
import { ifAssigned } from './helpers/if-assigned';

/**
 * Request encodings at the SOAP edge (issue 7, item 3): UTF-8 with or without BOM and UTF-16
 * LE/BE (BOM and/or charset) are read; any other charset, a charset that contradicts the BOM
 * or the XML declaration, and bytes that are not valid in the encoding are INVALID_REQUEST.
 * First against the SOAP edge on its own (data.wsdl, a handler that records its arguments),
 * then through a real cluster (balancer → business → data) the way Mono's ASMX client sends.
 */
const TOKEN = 'test-token-of-b1';
const BODY_BYTES_MAX = 64 * 1024;
/** Text that survives only a correct decoding: Latin-1, CJK and a character beyond the BMP. */
const WORD = 'zoë-名-😀';

function envelope(value: string, declaration = '<?xml version="1.0"?>'): string {
  return (
    `${declaration}<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:d="${DATA_NAMESPACE}">` +
    `<soap:Header><d:auth-token>${TOKEN}</d:auth-token><d:business-id>b1</d:business-id></soap:Header>` +
    `<soap:Body><d:Read><d:accountId>${value}</d:accountId></d:Read></soap:Body></soap:Envelope>`
  );
}

const BOM_UTF8 = Buffer.from([0xef, 0xbb, 0xbf]);
const BOM_LE = Buffer.from([0xff, 0xfe]);
const BOM_BE = Buffer.from([0xfe, 0xff]);

function utf16le(text: string): Buffer {
  return Buffer.from(text, 'utf16le');
}

function utf16be(text: string): Buffer {
  return utf16le(text).swap16();
}

interface Reply {
  status: number;
  body: string;
}

function post(
  url: string,
  body: Buffer,
  headers: Readonly<Record<string, string>>,
  soapAction = soapActionHeader(DATA_NAMESPACE, 'Read'),
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { SOAPAction: soapAction, 'Content-Length': String(body.length), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function faultOf(reply: Reply): { code: string | undefined; message: string | undefined } {
  return {
    code: /<code>([A-Z_]+)<\/code>/.exec(reply.body)?.[1],
    message: /<message>([^<]*)<\/message>/.exec(reply.body)?.[1],
  };
}

describe('request encodings at the SOAP edge', () => {
  let host: SoapServer;
  let seen: unknown[] = [];
  before(async () => {
    host = await startSoapServer(
      dataEdgeOptions(TOKEN, {
        bodyBytesMax: BODY_BYTES_MAX,
        operations: {
          Read: (args) => {
            seen.push(args.accountId);
            return Promise.resolve({ account: [] });
          },
        },
      }),
      '127.0.0.1',
      0,
    );
  });
  after(() => host.close());
  beforeEach(() => {
    seen = [];
  });

  const utf16Declaration = '<?xml version="1.0" encoding="UTF-16"?>';
  const accepted: readonly (readonly [string, () => Buffer, Record<string, string>])[] = [
    ['UTF-8 without BOM or charset', () => Buffer.from(envelope(WORD), 'utf8'), { 'Content-Type': 'text/xml' }],
    [
      'UTF-8 with BOM and charset=utf-8',
      () => Buffer.concat([BOM_UTF8, Buffer.from(envelope(WORD), 'utf8')]),
      { 'Content-Type': 'text/xml; charset=utf-8' },
    ],
    [
      'UTF-8 declared encoding="utf-8"',
      () => Buffer.from(envelope(WORD, '<?xml version="1.0" encoding="utf-8"?>'), 'utf8'),
      { 'Content-Type': 'text/xml; charset="UTF-8"' },
    ],
    [
      'UTF-16LE with BOM and charset=utf-16 (Mono)',
      () => Buffer.concat([BOM_LE, utf16le(envelope(WORD, utf16Declaration))]),
      { 'Content-Type': 'text/xml; charset=utf-16' },
    ],
    [
      'UTF-16BE with BOM and charset=utf-16',
      () => Buffer.concat([BOM_BE, utf16be(envelope(WORD, utf16Declaration))]),
      { 'Content-Type': 'text/xml; charset=utf-16' },
    ],
    [
      'UTF-16LE with BOM, no charset',
      () => Buffer.concat([BOM_LE, utf16le(envelope(WORD))]),
      { 'Content-Type': 'text/xml' },
    ],
    ['UTF-16BE with BOM, no Content-Type at all', () => Buffer.concat([BOM_BE, utf16be(envelope(WORD))]), {}],
    [
      'UTF-16LE with BOM and charset=utf-16le',
      () => Buffer.concat([BOM_LE, utf16le(envelope(WORD))]),
      { 'Content-Type': 'text/xml; charset=utf-16le' },
    ],
    [
      'UTF-16LE without BOM, charset=utf-16le',
      () => utf16le(envelope(WORD)),
      { 'Content-Type': 'text/xml; charset=utf-16le' },
    ],
    [
      'UTF-16BE without BOM, charset=UTF-16BE',
      () => utf16be(envelope(WORD)),
      { 'Content-Type': 'text/xml;charset=UTF-16BE' },
    ],
    [
      'UTF-16LE without BOM, charset=utf-16',
      () => utf16le(envelope(WORD)),
      { 'Content-Type': 'text/xml; charset=utf-16' },
    ],
    [
      'UTF-16BE without BOM, charset="utf-16"',
      () => utf16be(envelope(WORD)),
      { 'Content-Type': 'text/xml; charset="utf-16"' },
    ],
    [
      'UTF-16LE without BOM or charset, declared encoding="UTF-16"',
      () => utf16le(envelope(WORD, utf16Declaration)),
      { 'Content-Type': 'text/xml' },
    ],
    [
      'UTF-16BE without BOM or charset, declared encoding="utf-16be"',
      () => utf16be(envelope(WORD, '<?xml version="1.0" encoding="utf-16be"?>')),
      {},
    ],
    [
      'gzip of UTF-16LE with BOM',
      () => gzipSync(Buffer.concat([BOM_LE, utf16le(envelope(WORD))])),
      { 'Content-Type': 'text/xml; charset=utf-16', 'Content-Encoding': 'gzip' },
    ],
  ];
  for (const [name, body, headers] of accepted) {
    it(`reads ${name}`, async () => {
      const reply = await post(host.url, body(), headers);
      expect(reply.status, reply.body).to.equal(200);
      expect(seen).to.deep.equal([[WORD]]);
    });
  }

  const refused: readonly (readonly [string, () => Buffer, Record<string, string>, RegExp])[] = [
    [
      'charset=iso-8859-1',
      () => Buffer.from(envelope('1'), 'latin1'),
      { 'Content-Type': 'text/xml; charset=iso-8859-1' },
      /charset iso-8859-1 is not accepted/,
    ],
    [
      'charset=us-ascii',
      () => Buffer.from(envelope('1'), 'latin1'),
      { 'Content-Type': 'text/xml; charset=us-ascii' },
      /charset us-ascii is not accepted/,
    ],
    [
      'a charset that is not a name',
      () => Buffer.from(envelope('1')),
      { 'Content-Type': 'text/xml; charset="a b<c>"' },
      /charset .*not accepted/,
    ],
    [
      'declared encoding="ISO-8859-1"',
      () => Buffer.from(envelope('1', '<?xml version="1.0" encoding="ISO-8859-1"?>')),
      { 'Content-Type': 'text/xml' },
      /encoding ISO-8859-1 .*not accepted/,
    ],
    [
      'declared encoding="windows-1252" with charset=utf-8',
      () => Buffer.from(envelope('1', '<?xml version="1.0" encoding="windows-1252"?>')),
      { 'Content-Type': 'text/xml; charset=utf-8' },
      /encoding windows-1252 .*not accepted/,
    ],
    [
      'charset=utf-8 on a UTF-16LE BOM',
      () => Buffer.concat([BOM_LE, utf16le(envelope('1'))]),
      { 'Content-Type': 'text/xml; charset=utf-8' },
      /charset utf-8 contradicts the byte-order mark \(UTF-16LE\)/,
    ],
    [
      'charset=utf-16le on a UTF-16BE BOM',
      () => Buffer.concat([BOM_BE, utf16be(envelope('1'))]),
      { 'Content-Type': 'text/xml; charset=utf-16le' },
      /contradicts the byte-order mark \(UTF-16BE\)/,
    ],
    [
      'charset=utf-16 on a UTF-8 BOM',
      () => Buffer.concat([BOM_UTF8, Buffer.from(envelope('1'))]),
      { 'Content-Type': 'text/xml; charset=utf-16' },
      /contradicts the byte-order mark \(UTF-8\)/,
    ],
    [
      'declared encoding="UTF-16" in UTF-8 bytes',
      () => Buffer.from(envelope('1', utf16Declaration)),
      { 'Content-Type': 'text/xml; charset=utf-8' },
      /UTF-16 in the XML declaration contradicts the encoding of the body \(UTF-8\)/,
    ],
    [
      'declared encoding="utf-8" in UTF-16LE bytes',
      () => Buffer.concat([BOM_LE, utf16le(envelope('1', '<?xml version="1.0" encoding="utf-8"?>'))]),
      { 'Content-Type': 'text/xml; charset=utf-16' },
      /utf-8 in the XML declaration contradicts .*\(UTF-16LE\)/,
    ],
    [
      'declared encoding="UTF-16LE" in UTF-16BE bytes',
      () => Buffer.concat([BOM_BE, utf16be(envelope('1', '<?xml version="1.0" encoding="UTF-16LE"?>'))]),
      {},
      /UTF-16LE in the XML declaration contradicts .*\(UTF-16BE\)/,
    ],
    [
      'bytes that are not UTF-8',
      () => Buffer.concat([Buffer.from(envelope('1').replace('>1<', '>\u0001<')).map((b) => (b === 1 ? 0xc3 : b))]),
      { 'Content-Type': 'text/xml; charset=utf-8' },
      /not valid UTF-8/,
    ],
    [
      'UTF-16 with an odd number of bytes',
      () => Buffer.concat([BOM_LE, utf16le(envelope('1')), Buffer.from([0x20])]),
      { 'Content-Type': 'text/xml; charset=utf-16' },
      /not valid UTF-16LE/,
    ],
    [
      'UTF-16 with a lone surrogate',
      () =>
        Buffer.concat([
          BOM_LE,
          utf16le(envelope('1')).subarray(0, 20),
          Buffer.from([0x00, 0xd8]),
          utf16le(envelope('1')).subarray(20),
        ]),
      { 'Content-Type': 'text/xml; charset=utf-16' },
      /not valid UTF-16LE/,
    ],
    [
      'a UTF-32LE byte-order mark',
      () => Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.from(envelope('1'))]),
      {},
      /UTF-32 is not accepted/,
    ],
  ];
  for (const [name, body, headers, message] of refused) {
    it(`refuses ${name} as INVALID_REQUEST`, async () => {
      const reply = await post(host.url, body(), headers);
      expect(reply.status).to.equal(500);
      const { code, message: text } = faultOf(reply);
      expect(code, reply.body).to.equal('INVALID_REQUEST');
      expect(text).to.match(message);
      expect(seen).to.deep.equal([]);
    });
  }

  for (const [name, text, message] of [
    ['a raw ESC', envelope('1\u001b'), /not acceptable XML: character U\+001B is not allowed/],
    ['&#27;', envelope('1&#27;'), /not acceptable XML: reference to a character not allowed in XML \(U\+001B\)/],
    [
      'a duplicate attribute',
      envelope('1').replace('<d:Read>', '<d:Read a="1" a="2">'),
      /not acceptable XML: duplicate attribute a/,
    ],
    [
      'an XML declaration after white space',
      ` ${envelope('1')}`,
      /not acceptable XML: an XML declaration is allowed only at the start/,
    ],
  ] as const) {
    it(`answers INVALID_REQUEST for XML that is not well-formed: ${name}, without echoing control characters`, async () => {
      const reply = await post(host.url, Buffer.from(text, 'utf8'), { 'Content-Type': 'text/xml; charset=utf-8' });
      const fault = faultOf(reply);
      expect(fault.code, reply.body).to.equal('INVALID_REQUEST');
      expect(fault.message).to.match(message);
      expect(reply.body).to.not.match(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
      expect(seen).to.deep.equal([]);
    });
  }

  it('hands the handler XSD-trimmed text only: <accountId>&#160;1&#x2028;</accountId> stays "\u00a01\u2028"', async () => {
    const reply = await post(host.url, Buffer.from(envelope(' \t&#160;1&#x2028;\r\n'), 'utf8'), {
      'Content-Type': 'text/xml; charset=utf-8',
    });
    expect(reply.status, reply.body).to.equal(200);
    expect(seen).to.deep.equal([['\u00a01\u2028']]);
  });

  it('applies the body limit to the bytes as received: a UTF-16 body of 40 Ki characters is too large', async () => {
    const padding = ' '.repeat(40 * 1024 - envelope('1').length);
    const text = envelope('1').replace('</soap:Envelope>', `${padding}</soap:Envelope>`);
    expect(Buffer.byteLength(text, 'utf8')).to.be.below(BODY_BYTES_MAX);
    expect(
      (await post(host.url, Buffer.from(text, 'utf8'), { 'Content-Type': 'text/xml; charset=utf-8' })).status,
    ).to.equal(200);
    const reply = await post(host.url, Buffer.concat([BOM_LE, utf16le(text)]), {
      'Content-Type': 'text/xml; charset=utf-16',
    });
    expect(faultOf(reply)).to.deep.equal({
      code: 'INVALID_REQUEST',
      message: `request body exceeds ${BODY_BYTES_MAX} bytes`,
    });
  });
});

describe('request encodings through the balancer, business and data tiers', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ businessCount: 1, clients: ['alice'], env: { BANK_LOG_LEVEL: 'warn' } });
  });
  after(() => ifAssigned(cluster)?.stop());

  it('answers GetBalance sent as UTF-16LE with BOM and charset=utf-16 (Mono), and as UTF-16BE without BOM', async () => {
    const alice = cluster.client('alice');
    const accountId = await openAccount(cluster.balancerUrl, alice, '12.34');
    const headers = { authToken: alice.authToken, clientId: alice.clientId, requestId: 'utf16-1' };
    const text = bankEnvelope('GetBalance', [['accountId', accountId]], headers).replace(
      'encoding="utf-8"',
      'encoding="utf-16"',
    );
    const action = soapActionHeader(BANK_NAMESPACE, 'GetBalance');
    for (const [body, contentType] of [
      [Buffer.concat([BOM_LE, utf16le(text)]), 'text/xml; charset=utf-16'],
      [utf16be(text), 'text/xml; charset=utf-16be'],
    ] as const) {
      const reply = await post(cluster.balancerUrl, body, { 'Content-Type': contentType }, action);
      const result = await parseBankResponse(reply.status, reply.body);
      expect(result.body, reply.body).to.deep.include({ accountId, balance: '12.34' });
    }
    const mismatched = await post(
      cluster.balancerUrl,
      Buffer.concat([BOM_LE, utf16le(text)]),
      { 'Content-Type': 'text/xml; charset=utf-8' },
      action,
    );
    expect((await parseBankResponse(mismatched.status, mismatched.body)).fault?.code).to.equal('INVALID_REQUEST');
  });
});
