import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { postRaw } from './helpers/bank-call';
import { BankFixture, startBankFixture } from './helpers/bank-fixture';
import { REPO_DIR } from './helpers/process';
import { schemaOfWsdl, xsdVerdicts } from './helpers/xsd';
import { BANK_NAMESPACE, DATA_NAMESPACE, SOAP11_ENVELOPE_NS, XSI_NS } from '../common/contract';
import { xmlText } from '../common/xml-writer';
import { ifAssigned } from './helpers/if-assigned';

/**
 * Verdict equality: for every simple type a caller puts on the wire, the service's verdict on a
 * lexical form equals `xmllint --schema`'s verdict on the same element against the XSD taken
 * from the WSDL the server serves (`?wsdl`). Each form goes into one request element; xmllint
 * validates exactly that element, and a real business server and data server (port 0) answer
 * it inside an envelope. The service "refuses" a form when it answers with one of the probe's
 * refusal codes (INVALID_REQUEST / INVALID_AMOUNT, or AUTHENTICATION_FAILED for a credential);
 * anything else (success, ACCOUNT_NOT_FOUND, LOCK_NOT_HELD, …) means the form was accepted as a
 * value of its type. The business server runs with BANK_AMOUNT_MAX=2500.50, so the served
 * WSDL's Amount maximum is a configured one.
 */
const TIMEOUT_MS = 10_000;
const AMOUNT_MAX = '2500.50';
const NIL = Symbol('xsi:nil');
type Form = string | typeof NIL;

function leaf(name: string, form: Form): string {
  return form === NIL ? `<${name} xsi:nil="true"/>` : `<${name}>${xmlText(form)}</${name}>`;
}
/** An element in the service namespace that declares what it uses, so it stands alone for xmllint. */
function rooted(ns: string, name: string, inner: string): string {
  return `<${name} xmlns="${ns}" xmlns:xsi="${XSI_NS}">${inner}</${name}>`;
}
function show(form: Form): string {
  return form === NIL ? 'xsi:nil' : JSON.stringify(form.length > 40 ? `${form.slice(0, 20)}…(${form.length})` : form);
}

interface Probe {
  readonly name: string;
  readonly service: 'bank' | 'data';
  readonly forms: readonly Form[];
  /** Fault codes that mean "this form is not a value of its type". */
  readonly refusedBy: readonly string[];
  /** The probed element as it stands alone (validated by xmllint) and the request carrying it. */
  build(
    form: Form,
    index: number,
  ): { readonly probed: string; readonly headers: readonly string[]; readonly body: string };
}

function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
}

const ACCOUNT_ID_FORMS: readonly Form[] = [
  '7',
  '999999999999',
  '123456789012345',
  ' 7 ',
  '\t7\n',
  '1234567890123456',
  '0',
  '07',
  '-7',
  '+7',
  '7a',
  '',
  '7 7',
  '\u00a07',
  '7\u2028',
  '٧',
  '7.0',
  NIL,
];
const REFUSED_AS_INVALID = ['INVALID_REQUEST', 'INVALID_AMOUNT'];
const REFUSED_AS_CREDENTIAL = ['AUTHENTICATION_FAILED', 'INVALID_REQUEST'];

function bankProbes(credentials: { token: string; clientId: string }): Probe[] {
  const headerBlock = (name: string, form: Form): string =>
    form === NIL
      ? `<${name} xmlns="${BANK_NAMESPACE}" xmlns:xsi="${XSI_NS}" xsi:nil="true"/>`
      : rooted(BANK_NAMESPACE, name, xmlText(form));
  const auth = (): string[] => [
    headerBlock('auth-token', credentials.token),
    headerBlock('client-id', credentials.clientId),
  ];
  const noSuchBalance = rooted(BANK_NAMESPACE, 'GetBalance', '<accountId>999999999999</accountId>');
  return [
    {
      name: 'bank Amount (Deposit/amount)',
      service: 'bank',
      refusedBy: REFUSED_AS_INVALID,
      forms: [
        '0.01',
        '1',
        '19.99',
        '0.010',
        '1.000',
        '+5',
        '.5',
        '5.',
        '007',
        '00.50',
        '+.01',
        ' 5 ',
        '\t5\n',
        AMOUNT_MAX,
        `${AMOUNT_MAX}0`,
        '2500.51',
        '2500.501',
        '1e3',
        '1E3',
        'NaN',
        'INF',
        '-INF',
        '',
        '.',
        '+',
        '-',
        '-0',
        '+0',
        '0',
        '0.00',
        '0.000',
        '-5',
        '-0.01',
        '-.5',
        '0.011',
        '0.001',
        '1,00',
        '1 000',
        '0x10',
        '+-5',
        '5-',
        '٥',
        '\u00a05',
        '5\u2028',
        '１',
        '1234567890123456',
        '12345678901234567',
        '0000000000000001.00',
        '00000000000000001.00',
        '1.00000000',
        '1.000000000',
        '0.01000000',
        NIL,
      ],
      build: (form) => {
        const probed = rooted(BANK_NAMESPACE, 'Deposit', `<accountId>999999999999</accountId>${leaf('amount', form)}`);
        return { probed, headers: auth(), body: probed };
      },
    },
    {
      name: 'bank AccountId (GetBalance/accountId)',
      service: 'bank',
      refusedBy: REFUSED_AS_INVALID,
      forms: ACCOUNT_ID_FORMS,
      build: (form) => {
        const probed = rooted(BANK_NAMESPACE, 'GetBalance', leaf('accountId', form));
        return { probed, headers: auth(), body: probed };
      },
    },
    {
      name: 'bank StatementLimit (GetStatement/limit)',
      service: 'bank',
      refusedBy: REFUSED_AS_INVALID,
      forms: [
        '1',
        '5',
        '1000',
        '1001',
        '0',
        '-1',
        '-0',
        '+5',
        '007',
        '00000000000000000000000005',
        ' 5 ',
        '1.0',
        '1e2',
        '',
        '+',
        '2147483648',
        'abc',
        '５',
        NIL,
      ],
      build: (form) => {
        const probed = rooted(
          BANK_NAMESPACE,
          'GetStatement',
          `<accountId>999999999999</accountId>${leaf('limit', form)}`,
        );
        return { probed, headers: auth(), body: probed };
      },
    },
    {
      name: 'bank request-id header',
      service: 'bank',
      refusedBy: REFUSED_AS_INVALID,
      forms: ['r-1', 'A.b:c_d-e', 'a'.repeat(64), 'a'.repeat(65), ' r-1 ', '\tr-1\n', '', 'a b', 'r/1', 'é', NIL],
      build: (form) => {
        const probed = headerBlock('request-id', form);
        return { probed, headers: [...auth(), probed], body: noSuchBalance };
      },
    },
    {
      name: 'bank client-id header (spellings of the real one)',
      service: 'bank',
      refusedBy: REFUSED_AS_CREDENTIAL,
      forms: [
        credentials.clientId,
        ` ${credentials.clientId} `,
        `\t${credentials.clientId}\n`,
        '',
        `${credentials.clientId} x`,
        'c'.repeat(65),
        NIL,
      ],
      build: (form) => {
        const probed = headerBlock('client-id', form);
        return { probed, headers: [auth()[0]!, probed], body: noSuchBalance };
      },
    },
    {
      name: 'bank auth-token header (spellings of the real one)',
      service: 'bank',
      refusedBy: REFUSED_AS_CREDENTIAL,
      forms: [
        credentials.token,
        ` ${credentials.token} `,
        `${' '.repeat(300)}${credentials.token}`,
        'x'.repeat(257),
        NIL,
      ],
      build: (form) => {
        const probed = headerBlock('auth-token', form);
        return { probed, headers: [probed, auth()[1]!], body: noSuchBalance };
      },
    },
  ];
}

function dataProbes(credentials: { token: string; businessId: string }): Probe[] {
  const block = (name: string, form: Form): string =>
    form === NIL
      ? `<${name} xmlns="${DATA_NAMESPACE}" xmlns:xsi="${XSI_NS}" xsi:nil="true"/>`
      : rooted(DATA_NAMESPACE, name, xmlText(form));
  const auth = [block('auth-token', credentials.token), block('business-id', credentials.businessId)];
  const body = (probed: string): { probed: string; headers: readonly string[]; body: string } => ({
    probed,
    headers: auth,
    body: probed,
  });
  const update = (
    index: number,
    parts: { lockId?: string; fencingToken?: string; transactionId?: string; amount?: string; release?: string },
  ) =>
    rooted(
      DATA_NAMESPACE,
      'Update',
      (parts.lockId ?? '<lockId>nolock</lockId>') +
        (parts.fencingToken ?? '<fencingToken>1</fencingToken>') +
        (parts.transactionId ?? `<transactionId>t-verdict-${index}</transactionId>`) +
        `<posting><accountId>999999999</accountId>${parts.amount ?? '<amount>1.00</amount>'}</posting>` +
        (parts.release ?? ''),
    );
  return [
    {
      name: 'data AccountId (Read/accountId)',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: ACCOUNT_ID_FORMS,
      build: (form) => body(rooted(DATA_NAMESPACE, 'Read', leaf('accountId', form))),
    },
    {
      name: 'data Millis (Lock/waitMs)',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: [
        '0',
        '5',
        '+5',
        '007',
        '-0',
        '0000000005',
        '00000000005',
        '2147483647',
        '2147483648',
        '-1',
        '1.0',
        '',
        'abc',
        ' 5 ',
        NIL,
      ],
      build: (form) => body(rooted(DATA_NAMESPACE, 'Lock', `<accountId>999999999</accountId>${leaf('waitMs', form)}`)),
    },
    {
      name: 'data LeaseMillis (Lock/leaseMs)',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: ['100', '5000', '30000', '99', '30001', '+100', '0100', '-100', '', ' 5000 ', NIL],
      build: (form) =>
        body(
          rooted(DATA_NAMESPACE, 'Lock', `<accountId>999999999</accountId><waitMs>0</waitMs>${leaf('leaseMs', form)}`),
        ),
    },
    {
      name: 'data FencingToken (Update/fencingToken)',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: ['1', '123456789012345', '1234567890123456', '0', '01', '-1', '+1', '', ' 7 ', '1.0', NIL],
      build: (form, i) => body(update(i, { fencingToken: leaf('fencingToken', form) })),
    },
    {
      name: 'data LockId (Unlock/lockId)',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: ['abc', 'A_b-9', 'a'.repeat(64), 'a'.repeat(65), 'a.b', '', ' abc ', 'a b', NIL],
      build: (form) => body(rooted(DATA_NAMESPACE, 'Unlock', leaf('lockId', form))),
    },
    {
      name: 'data TransactionId (Update/transactionId)',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: ['t-1', 'a'.repeat(128), 'a'.repeat(129), 'a b', '', ' t-2 ', 'a/b', NIL],
      build: (form, i) => body(update(i, { transactionId: leaf('transactionId', form) })),
    },
    {
      name: 'data PostingAmount (Update/posting/amount)',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: [
        '1.00',
        '-1.00',
        '0.01',
        '-0.01',
        '0.1',
        '0.10',
        '10000000000000.00',
        '-10000000000000.00',
        '10000000000000.01',
        '0',
        '0.00',
        '-0',
        '-0.00',
        '+1',
        '1.000',
        '007',
        '.5',
        '5.',
        '1e3',
        '',
        ' 1.00 ',
        '0.001',
        NIL,
      ],
      build: (form, i) => body(update(i, { amount: leaf('amount', form) })),
    },
    {
      name: 'data boolean (Update/release)',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: ['true', 'false', '1', '0', ' true ', 'TRUE', 'yes', '', NIL],
      build: (form, i) => body(update(i, { release: leaf('release', form) })),
    },
    {
      name: 'data Balance (CreateAccount/initialBalance)',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: [
        '0',
        '0.00',
        '5',
        '5.5',
        '10000000000000.00',
        '10000000000000.01',
        '-1',
        '-0',
        '007',
        '+5',
        '.5',
        '5.',
        '0.001',
        '1.000',
        '',
        NIL,
      ],
      build: (form, i) =>
        body(
          rooted(
            DATA_NAMESPACE,
            'CreateAccount',
            `<ownerId>verdict</ownerId><transactionId>t-balance-${i}</transactionId>${leaf('initialBalance', form)}`,
          ),
        ),
    },
    {
      name: 'data ClientId (CreateAccount/ownerId)',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: ['verdict1', 'a'.repeat(64), 'a'.repeat(65), 'a b', '', ' v ', 'a/b', NIL],
      build: (form, i) =>
        body(
          rooted(
            DATA_NAMESPACE,
            'CreateAccount',
            `${leaf('ownerId', form)}<transactionId>t-owner-${i}</transactionId>`,
          ),
        ),
    },
    {
      name: 'data JournalLimit (GetJournal/limit)',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: ['1', '1000', '1001', '0', '+5', '007', '0000000005', '00000000005', '', ' 5 ', NIL],
      build: (form) =>
        body(rooted(DATA_NAMESPACE, 'GetJournal', `<accountId>999999999</accountId>${leaf('limit', form)}`)),
    },
    {
      name: 'data request-id header',
      service: 'data',
      refusedBy: REFUSED_AS_INVALID,
      forms: ['r-1', 'a'.repeat(128), 'a'.repeat(129), 'a b', '', ' r-1 ', NIL],
      build: (form) => {
        const probed = block('request-id', form);
        return {
          probed,
          headers: [...auth, probed],
          body: rooted(DATA_NAMESPACE, 'Read', '<accountId>999999999</accountId>'),
        };
      },
    },
    {
      name: 'data business-id header (spellings of the real one)',
      service: 'data',
      refusedBy: REFUSED_AS_CREDENTIAL,
      forms: [credentials.businessId, ` ${credentials.businessId} `, '', `${credentials.businessId} x`, NIL],
      build: (form) => {
        const probed = block('business-id', form);
        return {
          probed,
          headers: [auth[0]!, probed],
          body: rooted(DATA_NAMESPACE, 'Read', '<accountId>999999999</accountId>'),
        };
      },
    },
  ];
}

/** The service's verdict: true when it took the form as a value of its type. */
async function serviceVerdict(
  url: string,
  probe: Probe,
  request: { headers: readonly string[]; body: string },
): Promise<{ accepted: boolean; answer: string }> {
  const envelope =
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}">` +
    `<soap:Header>${request.headers.join('')}</soap:Header><soap:Body>${request.body}</soap:Body></soap:Envelope>`;
  const reply = await postRaw(url, envelope, {}, TIMEOUT_MS);
  const code = /<code>([A-Z_]+)<\/code>/.exec(reply.raw)?.[1];
  if (reply.httpStatus !== 200 && code === undefined)
    throw new Error(`not a registry fault: HTTP ${reply.httpStatus} ${reply.raw.slice(0, 500)}`);
  return {
    accepted: code === undefined || !probe.refusedBy.includes(code),
    answer: code ?? `HTTP ${reply.httpStatus}`,
  };
}

describe('wsdl lexical rules: the service and xmllint give the same verdict on every form', function () {
  this.timeout(60_000);
  let fixture: BankFixture;
  const schemas = { bank: '', data: '' };
  const urls = { bank: '', data: '' };
  let probes: Probe[] = [];

  before(async () => {
    fixture = await startBankFixture({ clients: 1, businessEnv: { BANK_AMOUNT_MAX: AMOUNT_MAX } });
    urls.bank = fixture.business[0]!.url;
    urls.data = fixture.data.url;
    schemas.bank = schemaOfWsdl(await getText(`${urls.bank}?wsdl`));
    schemas.data = schemaOfWsdl(await getText(`${urls.data}?wsdl`));
    const client = fixture.clients[0]!;
    probes = [
      ...bankProbes({ token: client.authToken, clientId: client.clientId }),
      ...dataProbes({ token: fixture.businessTokens[0]!, businessId: fixture.businessIds[0]! }),
    ];
  });
  after(async () => {
    await ifAssigned(fixture)?.stop();
  });

  it('serves the configured amount maximum in the WSDL it serves', () => {
    expect(schemas.bank).to.match(
      new RegExp(
        `<xsd:simpleType name="Amount">[\\s\\S]*?<xsd:maxInclusive value="${AMOUNT_MAX.replace('.', '\\.')}"/>`,
      ),
    );
  });

  // One case per probe, named after it; the probes need the fixture's credentials, so the list
  // is built in before() and the cases walk it by index.
  const PROBES = 19;
  for (let p = 0; p < PROBES; p++) {
    it(`probe ${p + 1}: verdicts agree`, async function () {
      const probe = probes[p];
      if (probe === undefined)
        throw new Error(
          `probe ${p + 1} does not exist: PROBES (${PROBES}) must equal the number of probes (${probes.length})`,
        );
      this.test!.title = `${probe.name}: verdicts agree on ${probe.forms.length} forms`;
      const requests = probe.forms.map((form, i) => probe.build(form, i));
      const xsd = xsdVerdicts(
        schemas[probe.service],
        requests.map((r) => r.probed),
      );
      const disagreements: string[] = [];
      for (const [i, request] of requests.entries()) {
        const service = await serviceVerdict(urls[probe.service], probe, request);
        if (service.accepted !== xsd[i]) {
          disagreements.push(
            `${show(probe.forms[i]!)}: xmllint ${xsd[i] ? 'valid' : 'invalid'}, service ${service.accepted ? 'accepted' : 'refused'} (${service.answer})`,
          );
        }
      }
      expect(disagreements, probe.name).to.deep.equal([]);
      // Guard against a probe that cannot tell: it must see both verdicts.
      expect(xsd, `${probe.name} needs valid and invalid forms`).to.include(true).and.to.include(false);
    });
  }

  it('has exactly PROBES probes', () => {
    expect(probes.length).to.equal(PROBES);
  });

  it('answers with responses and fault details that are valid against the same served schemas', async () => {
    const client = fixture.clients[0]!;
    const bank = async (body: string): Promise<string> => {
      const auth = `<auth-token xmlns="${BANK_NAMESPACE}">${client.authToken}</auth-token><client-id xmlns="${BANK_NAMESPACE}">${client.clientId}</client-id>`;
      return (
        await postRaw(
          urls.bank,
          `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Header>${auth}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`,
          {},
          TIMEOUT_MS,
        )
      ).raw;
    };
    const data = async (body: string): Promise<string> => {
      const auth = `<auth-token xmlns="${DATA_NAMESPACE}">${fixture.businessTokens[0]!}</auth-token><business-id xmlns="${DATA_NAMESPACE}">${fixture.businessIds[0]!}</business-id>`;
      return (
        await postRaw(
          urls.data,
          `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Header>${auth}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`,
          {},
          TIMEOUT_MS,
        )
      ).raw;
    };
    const opened = await bank(rooted(BANK_NAMESPACE, 'OpenAccount', '<initialDeposit>5.00</initialDeposit>'));
    const account = /<accountId>([0-9]+)<\/accountId>/.exec(opened)?.[1] ?? '';
    const replies = {
      bank: [
        opened,
        await bank(rooted(BANK_NAMESPACE, 'Deposit', `<accountId>${account}</accountId><amount>0.010</amount>`)),
        await bank(rooted(BANK_NAMESPACE, 'Withdraw', `<accountId>${account}</accountId><amount>1</amount>`)),
        await bank(rooted(BANK_NAMESPACE, 'GetStatement', `<accountId>${account}</accountId>`)),
        await bank(rooted(BANK_NAMESPACE, 'Withdraw', `<accountId>${account}</accountId><amount>2500</amount>`)),
      ],
      data: [
        await data(rooted(DATA_NAMESPACE, 'Read', `<accountId>${account}</accountId>`)),
        await data(rooted(DATA_NAMESPACE, 'Lock', `<accountId>${account}</accountId>`)),
        await data(rooted(DATA_NAMESPACE, 'GetJournal', `<accountId>${account}</accountId>`)),
        await data(rooted(DATA_NAMESPACE, 'Unlock', '<lockId>gone</lockId>')),
        await data(rooted(DATA_NAMESPACE, 'Read', '<accountId>999999999</accountId>')),
      ],
    };
    for (const service of ['bank', 'data'] as const) {
      // The one element inside soap:Body, or inside soap:Fault's detail.
      const elements = replies[service].map((raw) => {
        const inner =
          /<detail>([\s\S]*)<\/detail>/.exec(raw)?.[1] ?? /<soap:Body>([\s\S]*)<\/soap:Body>/.exec(raw)?.[1];
        if (inner === undefined) throw new Error(`no body: ${raw.slice(0, 300)}`);
        return inner;
      });
      expect(
        elements.filter((e) => e.includes('Fault xmlns')),
        'one fault detail each',
      ).to.have.length(1);
      const verdicts = xsdVerdicts(schemas[service], elements);
      expect(verdicts.map((ok, i) => (ok ? 'valid' : `invalid: ${elements[i]!.slice(0, 300)}`))).to.deep.equal(
        elements.map(() => 'valid'),
      );
    }
  });
});

describe('wsdl lexical rules: the shape of both WSDLs', () => {
  for (const file of ['bank.wsdl', 'data.wsdl']) {
    const wsdl = readFileSync(join(REPO_DIR, 'wsdl', file), 'utf8');
    const schema = wsdl.slice(wsdl.indexOf('<xsd:schema'), wsdl.indexOf('</xsd:schema>'));

    it(`${file}: no element declaration holds an xsd:annotation (naive readers such as PySimpleSOAP drop such elements)`, () => {
      const annotated = [...schema.matchAll(/<xsd:element name="([^"]+)"[^>]*?(?<!\/)>\s*<xsd:annotation>/g)].map(
        (m) => m[1],
      );
      expect(annotated).to.deep.equal([]);
    });

    it(`${file}: every optional element of a request and the request-id header are nillable, nothing else`, () => {
      const requestElements = [
        ...schema.matchAll(/<xsd:element name="([A-Z]\w*)">([\s\S]*?)\n {6}<\/xsd:element>/g),
      ].filter((m) => !m[1]!.endsWith('Response') && !m[1]!.endsWith('Fault'));
      // Named types that only requests use (data.wsdl: Update, Unlock and the calls of a Batch).
      const requestTypes = [
        ...schema.matchAll(
          /<xsd:complexType name="(\w*Request|BatchLock|BatchCall)">([\s\S]*?)\n {6}<\/xsd:complexType>/g,
        ),
      ];
      const requests = [...requestElements, ...requestTypes];
      expect(requestElements.length).to.be.greaterThan(file === 'data.wsdl' ? 4 : 5);
      if (file === 'data.wsdl')
        expect(requestTypes.map((m) => m[1])).to.have.members([
          'UpdateRequest',
          'UnlockRequest',
          'BatchLock',
          'BatchCall',
        ]);
      for (const [, name, body] of requests) {
        for (const [declaration] of body!.matchAll(/<xsd:element [^>]*>/g)) {
          const optional = declaration.includes('minOccurs="0"');
          expect(declaration.includes('nillable="true"'), `${name!}: ${declaration}`).to.equal(optional);
        }
      }
      expect(schema).to.match(/<xsd:element name="request-id" nillable="true">/);
      expect(
        [...schema.matchAll(/nillable="true"/g)].length,
        'nillable only on request elements and request-id',
      ).to.equal(1 + requests.reduce((n, m) => n + [...m[2]!.matchAll(/minOccurs="0"/g)].length, 0));
    });
  }
});
