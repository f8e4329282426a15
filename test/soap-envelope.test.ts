import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accountIdArg } from '../business/input';
import { CredentialStore, hashToken } from '../common/credentials';
import { createLogger } from '../common/logger';
import { OperationContext, SoapServer, startSoapServer } from '../common/soap-host';
import { postRaw } from './helpers/bank-call';
import { dataEdgeOptions } from './helpers/data-edge';
import { REPO_DIR } from './helpers/process';
import { BANK_NAMESPACE, DATA_NAMESPACE, SOAP11_ENVELOPE_NS, XSI_NS } from '../common/contract';

/**
 * SOAP 1.1 envelope rules of the shared edge (common/soap-envelope.ts, common/soap-message.ts;
 * wsdl/README.md "Envelope rules"), on a real server on port 0 with the real bank.wsdl and a
 * toy handler that records what it was given.
 */
const TOKEN = 'token-of-alice';
const TIMEOUT_MS = 10_000;
const AUTH = `<b:auth-token>${TOKEN}</b:auth-token><b:client-id>alice</b:client-id>`;
const GET_BALANCE = '<b:GetBalance><b:accountId>7</b:accountId></b:GetBalance>';

function envelope(header: string | null, body: string): string {
  return (
    `<?xml version="1.0"?><soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}" xmlns:xsi="${XSI_NS}">` +
    `${header === null ? '' : `<soap:Header>${header}</soap:Header>`}<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

interface Reply {
  status: number;
  body: string;
}
async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Reply> {
  const reply = await postRaw(url, body, headers, TIMEOUT_MS);
  return { status: reply.httpStatus, body: reply.raw };
}
function codeOf(reply: Reply): string | undefined {
  return /<code>([A-Z_]+)<\/code>/.exec(reply.body)?.[1];
}

/** xmllint's verdict on well-formedness of a reply (a fault must be a well-formed document). */
function wellFormed(xml: string): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'distbank-envelope-'));
  try {
    writeFileSync(join(dir, 'reply.xml'), xml);
    execFileSync('xmllint', ['--noout', join(dir, 'reply.xml')], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('soap-envelope: SOAP 1.1 envelope rules on the bank contract', () => {
  let host: SoapServer;
  let seen: { args: Record<string, unknown>; ctx: OperationContext } | undefined;
  before(async () => {
    const record = (args: Record<string, unknown>, ctx: OperationContext): Promise<Record<string, unknown>> => {
      seen = { args, ctx };
      return Promise.resolve({ accountId: accountIdArg(args, 'accountId'), balance: '1.00' });
    };
    host = await startSoapServer(
      {
        service: 'bank',
        wsdlPath: join(REPO_DIR, 'wsdl', 'bank.wsdl'),
        path: '/bank',
        namespace: BANK_NAMESPACE,
        faultElement: 'BankFault',
        principalHeader: 'client-id',
        credentials: new CredentialStore({ principals: [{ id: 'alice', tokenSha256: hashToken(TOKEN) }] }),
        bodyBytesMax: 64 * 1024,
        logger: createLogger({ service: 'test', level: 'error' }),
        requestIdCharsMax: 64,
        operations: {
          GetBalance: record,
          GetStatement: record,
          OpenAccount: (args, ctx) => {
            seen = { args, ctx };
            return Promise.resolve({ accountId: '7', balance: '0.00' });
          },
        },
      },
      '127.0.0.1',
      0,
    );
  });
  after(() => host.close());
  beforeEach(() => {
    seen = undefined;
  });

  async function expectOk(xml: string, headers: Record<string, string> = {}): Promise<NonNullable<typeof seen>> {
    const reply = await post(host.url, xml, headers);
    expect(reply.status, reply.body).to.equal(200);
    expect(seen).to.not.equal(undefined);
    return seen!;
  }
  async function expectFault(xml: string, code: string): Promise<Reply> {
    const reply = await post(host.url, xml);
    expect(reply.status, reply.body).to.equal(500);
    expect(codeOf(reply), reply.body).to.equal(code);
    return reply;
  }

  describe('xsi:nil', () => {
    it('reads the JAX-WS nilled request-id header block as "no request-id"', async () => {
      const jaxws = `<request-id xmlns="${BANK_NAMESPACE}" xmlns:xsi="${XSI_NS}" xsi:nil="true"/>`;
      const { ctx } = await expectOk(envelope(AUTH + jaxws, GET_BALANCE));
      expect(ctx.requestIdGiven).to.equal(false);
    });

    it('falls back to the HTTP request-id header when the block is nil (the balancer assigns one)', async () => {
      const { ctx } = await expectOk(envelope(AUTH + '<b:request-id xsi:nil="1"></b:request-id>', GET_BALANCE), {
        'request-id': 'lb-123',
      });
      expect([ctx.requestId, ctx.requestIdGiven]).to.deep.equal(['lb-123', true]);
    });

    it('reads xsi:nil="false" as a normal value', async () => {
      const { ctx } = await expectOk(envelope(AUTH + '<b:request-id xsi:nil="false">r-1</b:request-id>', GET_BALANCE));
      expect(ctx.requestId).to.equal('r-1');
    });

    it('reads a nilled optional body element as absent', async () => {
      const { args } = await expectOk(
        envelope(AUTH, '<b:GetStatement><b:accountId>7</b:accountId><b:limit xsi:nil="true"/></b:GetStatement>'),
      );
      expect(args).to.deep.equal({ accountId: '7' });
      const open = await expectOk(envelope(AUTH, '<b:OpenAccount><b:initialDeposit xsi:nil="true"/></b:OpenAccount>'));
      expect(open.args).to.deep.equal({});
    });

    for (const [name, header, body] of [
      ['a nilled required body element', AUTH, '<b:GetBalance><b:accountId xsi:nil="true"/></b:GetBalance>'],
      [
        'a nilled required header block (auth-token)',
        `<b:auth-token xsi:nil="true"/><b:client-id>alice</b:client-id>`,
        GET_BALANCE,
      ],
      ['a nilled element with content', AUTH + '<b:request-id xsi:nil="true">r-1</b:request-id>', GET_BALANCE],
      ['an xsi:nil that is not a boolean', AUTH + '<b:request-id xsi:nil="yes"/>', GET_BALANCE],
      [
        'a nilled optional element given twice',
        AUTH,
        '<b:GetStatement><b:accountId>7</b:accountId><b:limit xsi:nil="true"/><b:limit>5</b:limit></b:GetStatement>',
      ],
    ] as const) {
      it(`refuses ${name} with INVALID_REQUEST`, async () => {
        await expectFault(envelope(header, body), 'INVALID_REQUEST');
      });
    }
  });

  describe('structure', () => {
    for (const [name, xml] of [
      [
        'soap:Body before soap:Header',
        `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}"><soap:Body>${GET_BALANCE}</soap:Body><soap:Header>${AUTH}</soap:Header></soap:Envelope>`,
      ],
      [
        'two soap:Header elements',
        `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}"><soap:Header><b:auth-token>${TOKEN}</b:auth-token></soap:Header><soap:Header><b:client-id>alice</b:client-id></soap:Header><soap:Body>${GET_BALANCE}</soap:Body></soap:Envelope>`,
      ],
      [
        'two soap:Body elements',
        `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}"><soap:Header>${AUTH}</soap:Header><soap:Body>${GET_BALANCE}</soap:Body><soap:Body>${GET_BALANCE}</soap:Body></soap:Envelope>`,
      ],
      ['text directly in soap:Body', envelope(AUTH, `junk${GET_BALANCE}`)],
      [
        'text directly in the operation element',
        envelope(AUTH, '<b:GetBalance>junk<b:accountId>7</b:accountId></b:GetBalance>'),
      ],
      ['text directly in soap:Header', envelope(`junk${AUTH}`, GET_BALANCE)],
      [
        'text directly in soap:Envelope',
        `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}">junk<soap:Header>${AUTH}</soap:Header><soap:Body>${GET_BALANCE}</soap:Body></soap:Envelope>`,
      ],
      ['two operation elements', envelope(AUTH, GET_BALANCE + GET_BALANCE)],
      [
        'an element after soap:Body',
        `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}"><soap:Header>${AUTH}</soap:Header><soap:Body>${GET_BALANCE}</soap:Body><b:x/></soap:Envelope>`,
      ],
      [
        'a header block with element children (mixed content)',
        envelope(
          `<b:auth-token>TOK1<b:x>IGNORED</b:x>TOK2</b:auth-token><b:client-id>alice</b:client-id>`,
          GET_BALANCE,
        ),
      ],
      [
        'a leaf element with an element child',
        envelope(AUTH, '<b:GetBalance><b:accountId>7<b:x/></b:accountId></b:GetBalance>'),
      ],
      ['an unqualified header block', envelope(AUTH + '<request-id>r-1</request-id>', GET_BALANCE)],
      [
        'a soap:mustUnderstand that is not 0 or 1',
        envelope(
          `<b:auth-token soap:mustUnderstand="true">${TOKEN}</b:auth-token><b:client-id>alice</b:client-id>`,
          GET_BALANCE,
        ),
      ],
    ] as const) {
      it(`refuses ${name} with INVALID_REQUEST`, async () => {
        await expectFault(xml, 'INVALID_REQUEST');
      });
    }

    it('names the rule an out-of-order envelope breaks', async () => {
      const wrap = (parts: string): string =>
        `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}">${parts}</soap:Envelope>`;
      const header = `<soap:Header>${AUTH}</soap:Header>`;
      const body = `<soap:Body>${GET_BALANCE}</soap:Body>`;
      for (const [parts, message] of [
        [body + header, 'soap:Header, when present, must come before soap:Body'],
        [header + header + body, 'soap:Header appears more than once'],
        [header, 'soap:Envelope holds no soap:Body'],
        [`<b:x/>${body}`, 'unexpected element in soap:Envelope: x'],
      ] as const) {
        const reply = await expectFault(wrap(parts), 'INVALID_REQUEST');
        expect(reply.body).to.contain(message);
      }
    });

    it('accepts whitespace and comments between the parts (pretty-printed envelopes)', async () => {
      const xml = `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}">\n  <soap:Header>\n    ${AUTH}\n  </soap:Header>\n  <!-- c -->\n  <soap:Body>\n    <b:GetBalance>\n      <b:accountId>\n 7\t</b:accountId>\n    </b:GetBalance>\n  </soap:Body>\n</soap:Envelope>\n`;
      const { args } = await expectOk(xml);
      expect(args).to.deep.equal({ accountId: '7' });
    });
  });

  describe('header blocks by namespace and actor', () => {
    it('does not authenticate with same-named blocks in another namespace', async () => {
      const evil = `<e:auth-token xmlns:e="urn:evil">${TOKEN}</e:auth-token><e:client-id xmlns:e="urn:evil">alice</e:client-id>`;
      await expectFault(envelope(evil, GET_BALANCE), 'AUTHENTICATION_FAILED');
    });

    it('ignores a same-named block in another namespace next to the real ones', async () => {
      const { ctx } = await expectOk(
        envelope(
          `<e:request-id xmlns:e="urn:evil">evil-1</e:request-id>${AUTH}<e:auth-token xmlns:e="urn:evil">x</e:auth-token>`,
          GET_BALANCE,
        ),
      );
      expect([ctx.principalId, ctx.requestIdGiven]).to.deep.equal(['alice', false]);
    });

    it('keeps working when every known block says mustUnderstand="1" (gSOAP)', async () => {
      const gsoap = `<b:auth-token soap:mustUnderstand="1">${TOKEN}</b:auth-token><b:client-id soap:mustUnderstand="1">alice</b:client-id><b:request-id soap:mustUnderstand="1">g-1</b:request-id>`;
      const { ctx } = await expectOk(envelope(gsoap, GET_BALANCE));
      expect(ctx.requestId).to.equal('g-1');
    });

    it('ignores unknown blocks with mustUnderstand="0" or addressed to another actor', async () => {
      await expectOk(
        envelope(
          `${AUTH}<w:Security xmlns:w="urn:wsse" soap:mustUnderstand="0"><w:t>x</w:t></w:Security>`,
          GET_BALANCE,
        ),
      );
      await expectOk(
        envelope(
          `${AUTH}<w:Security xmlns:w="urn:wsse" soap:actor="urn:some-gateway" soap:mustUnderstand="1"><w:t>x</w:t></w:Security>`,
          GET_BALANCE,
        ),
      );
    });

    it('ignores even a known block addressed to another actor', async () => {
      await expectFault(
        envelope(
          `<b:auth-token soap:actor="urn:gateway">${TOKEN}</b:auth-token><b:client-id>alice</b:client-id>`,
          GET_BALANCE,
        ),
        'AUTHENTICATION_FAILED',
      );
    });

    for (const [name, block] of [
      ['with no actor', '<w:Security xmlns:w="urn:wsse" soap:mustUnderstand="1"><w:t>x</w:t></w:Security>'],
      [
        'for the next actor',
        `<w:Security xmlns:w="urn:wsse" soap:mustUnderstand=" 1 " soap:actor="http://schemas.xmlsoap.org/soap/actor/next"/>`,
      ],
      ['in the service namespace with an unknown name', '<b:trace-id soap:mustUnderstand="1">t</b:trace-id>'],
      [
        'named like a known block in another namespace',
        '<e:auth-token xmlns:e="urn:evil" soap:mustUnderstand="1">x</e:auth-token>',
      ],
    ] as const) {
      it(`answers an unknown mustUnderstand="1" block ${name} with soap:MustUnderstand, HTTP 500`, async () => {
        const reply = await post(host.url, envelope(AUTH + block, GET_BALANCE));
        expect(reply.status).to.equal(500);
        expect(reply.body).to.contain('<faultcode>soap:MustUnderstand</faultcode>');
        expect(reply.body).to.match(/<faultstring>header block \{[^}]*\}[\w-]+ is not understood<\/faultstring>/);
        expect(reply.body).to.not.contain('<detail>');
        expect(wellFormed(reply.body), reply.body).to.equal(true);
        expect(seen).to.equal(undefined);
      });
    }
  });
});

describe('soap-envelope: the same rules on the data contract', () => {
  let host: SoapServer;
  let requestIdGiven: boolean | undefined;
  before(async () => {
    host = await startSoapServer(
      dataEdgeOptions(TOKEN, {
        operations: {
          Unlock: (_args, ctx) => {
            requestIdGiven = ctx.requestIdGiven;
            return Promise.resolve({ released: 'false' });
          },
        },
      }),
      '127.0.0.1',
      0,
    );
  });
  after(() => host.close());
  const dataEnvelope = (extra: string, body = '<d:Unlock><d:lockId>L1</d:lockId></d:Unlock>'): string =>
    `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:d="${DATA_NAMESPACE}" xmlns:xsi="${XSI_NS}"><soap:Header>` +
    `<d:auth-token>${TOKEN}</d:auth-token><d:business-id>b1</d:business-id>${extra}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`;

  it('reads a nilled request-id as absent', async () => {
    const reply = await post(host.url, dataEnvelope('<d:request-id xsi:nil="true"/>'));
    expect([reply.status, requestIdGiven]).to.deep.equal([200, false]);
  });

  it('answers an unknown mustUnderstand="1" block with soap:MustUnderstand', async () => {
    const reply = await post(host.url, dataEnvelope('<x:Trace xmlns:x="urn:x" soap:mustUnderstand="1"/>'));
    expect(reply.status).to.equal(500);
    expect(reply.body).to.contain('<faultcode>soap:MustUnderstand</faultcode>').and.not.contain('<detail>');
  });

  it('refuses a nilled required element and stray text with INVALID_REQUEST', async () => {
    for (const body of [
      '<d:Unlock><d:lockId xsi:nil="true"/></d:Unlock>',
      '<d:Unlock>junk<d:lockId>L1</d:lockId></d:Unlock>',
    ]) {
      const reply = await post(host.url, dataEnvelope('', body));
      expect(codeOf(reply), body).to.equal('INVALID_REQUEST');
    }
  });
});
