/**
 * soapui/distbank-soapui-project.xml, without SoapUI: checks that the project is in step with
 * wsdl/bank.wsdl and wsdl/admin.wsdl and covers every bank operation and every fault a client
 * can cause, that the replayer (test/soapui-replay.ts) keeps SoapUI's meaning of each assertion,
 * then replays every test case against a real `npm start -- --faults` cluster (port 0, an empty
 * rules file: the fault-injection suite sets its rule through the admin service) with the project
 * properties taken from the cluster's demo credentials, admin token and cluster.json.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseStringPromise } from 'xml2js';
import { BankClient } from '../client-ts/bank-client';
import { launchCluster, LaunchedCluster } from './helpers/launched-cluster';
import { REPO_DIR } from './helpers/process';
import {
  Assertion,
  checkAssertion,
  Exchange,
  expand,
  parseProject,
  Project,
  ReplayUnsupported,
  RequestStep,
  runTestCase,
  Scope,
  testCasePassed,
} from './soapui-replay';
import { ADMIN_NAMESPACE, BANK_NAMESPACE, SOAP11_ENVELOPE_NS } from '../common/contract';

const PROJECT_FILE = join(REPO_DIR, 'soapui', 'distbank-soapui-project.xml');
const WSDL_FILES: Readonly<Record<string, string>> = {
  BankBinding: join(REPO_DIR, 'wsdl', 'bank.wsdl'),
  AdminBinding: join(REPO_DIR, 'wsdl', 'admin.wsdl'),
};
const BANK_NS = BANK_NAMESPACE;
const ADMIN_NS = ADMIN_NAMESPACE;
/** Where each interface's steps may send: the balancer, or one business server for the raw drop. */
const ENDPOINTS: Readonly<Record<string, readonly string[]>> = {
  BankBinding: ['${#Project#endpoint}', '${#Project#businessEndpoint}'],
  AdminBinding: ['${#Project#adminEndpoint}'],
};
const HEADER_BLOCKS: Readonly<Record<string, { ns: string; names: readonly string[] }>> = {
  BankBinding: { ns: BANK_NS, names: ['auth-token', 'client-id', 'request-id'] },
  AdminBinding: { ns: ADMIN_NS, names: ['admin-token'] },
};
/** Admin operations the project calls successfully (GetTrace and ControlServer are left to scripts). */
const ADMIN_OPERATIONS = ['GetClusterStatus', 'GetLocks', 'SetFaultRules', 'GetFaultRules', 'ClearFaultRules'];
/** The faults a client can cause by what it sends (the others are ours or the data tier's). */
const CLIENT_FAULTS = [
  'AUTHENTICATION_FAILED',
  'NOT_AUTHORIZED',
  'ACCOUNT_NOT_FOUND',
  'INSUFFICIENT_FUNDS',
  'INVALID_AMOUNT',
  'SAME_ACCOUNT',
  'INVALID_REQUEST',
  'REQUEST_ID_CONFLICT',
] as const;
const PROJECT_PROPERTIES = [
  'endpoint',
  'clientId',
  'authToken',
  'otherClientId',
  'otherAuthToken',
  'accountId',
  'otherAccountId',
  'runId',
  'adminEndpoint',
  'adminToken',
  'businessEndpoint',
];

const project: Project = parseProject(readFileSync(PROJECT_FILE, 'utf8'));
const requestSteps: RequestStep[] = project.suites.flatMap((s) =>
  s.cases.flatMap((c) => c.steps.filter((st): st is RequestStep => st.kind === 'request')),
);

function has(step: RequestStep, type: string): boolean {
  return step.assertions.some((a) => a.type === type && !a.disabled);
}

describe('soapui: the project file', () => {
  it("carries today's wsdl/bank.wsdl and wsdl/admin.wsdl as its interface definitions, with the WSDLs' SOAPActions", async () => {
    expect([...project.interfaces.keys()].sort()).to.deep.equal(Object.keys(WSDL_FILES).sort());
    type WsdlOperation = { $: { name: string }; 'soap:operation': { $: { soapAction: string } }[] };
    for (const [name, file] of Object.entries(WSDL_FILES)) {
      const iface = project.interfaces.get(name);
      if (iface === undefined) throw new Error(`no interface ${name}`);
      expect(iface.soapVersion).to.equal('1_1');
      expect(
        iface.definitionCache,
        `${name}: definitionCache differs from ${file}: paste the new WSDL into con:definitionCache (or "Update Definition" in SoapUI)`,
      ).to.equal(readFileSync(file, 'utf8'));
      const wsdl = (await parseStringPromise(readFileSync(file, 'utf8'))) as {
        'wsdl:definitions': { 'wsdl:binding': { 'wsdl:operation': WsdlOperation[] }[] };
      };
      const binding = wsdl['wsdl:definitions']['wsdl:binding'][0]!;
      const actions = new Map<string, string>(
        binding['wsdl:operation'].map((op) => [op.$.name, op['soap:operation'][0]!.$.soapAction]),
      );
      expect(new Map(iface.actions), name).to.deep.equal(actions);
    }
  });

  it('declares the project properties the README documents', () => {
    expect([...project.properties.keys()].sort()).to.deep.equal([...PROJECT_PROPERTIES].sort());
  });

  it('calls every bank operation and the admin operations it is for successfully at least once', () => {
    const calls = [
      ...[...project.interfaces.get('BankBinding')!.actions.keys()].map((op) => ['BankBinding', op] as const),
      ...ADMIN_OPERATIONS.map((op) => ['AdminBinding', op] as const),
    ];
    for (const [iface, operation] of calls) {
      const happy = requestSteps.filter(
        (s) => s.interfaceName === iface && s.operation === operation && has(s, 'SOAP Fault Assertion'),
      );
      expect(happy.length, `a step calling ${operation} asserting "Not SOAP Fault"`).to.be.greaterThan(0);
    }
  });

  it('provokes every fault a client can cause and checks its code', () => {
    for (const code of CLIENT_FAULTS) {
      const steps = requestSteps.filter(
        (s) =>
          has(s, 'Not SOAP Fault Assertion') &&
          s.assertions.some(
            (a) =>
              a.type === 'XPath Match' &&
              /BankFault\/\w*:?code$/.test(a.config['path'] ?? '') &&
              a.config['content'] === code,
          ),
      );
      expect(steps.length, `a step expecting a SOAP Fault with code ${code}`).to.be.greaterThan(0);
    }
  });

  it('gives every request step SOAP Response, a fault/no-fault check and an HTTP status check', () => {
    for (const step of requestSteps) {
      expect(has(step, 'SOAP Response'), step.name).to.equal(true);
      expect(
        has(step, 'SOAP Fault Assertion') !== has(step, 'Not SOAP Fault Assertion'),
        `${step.name}: exactly one of Not SOAP Fault / SOAP Fault`,
      ).to.equal(true);
      expect(has(step, 'Valid HTTP Status Codes'), step.name).to.equal(true);
      expect(ENDPOINTS[step.interfaceName], step.name).to.include(step.endpoint);
    }
  });

  it('sends the header blocks in the service namespace from project properties', async () => {
    for (const step of requestSteps) {
      const blocks = HEADER_BLOCKS[step.interfaceName];
      if (blocks === undefined) throw new Error(`no header blocks for ${step.interfaceName}`);
      const envelope = (await parseStringPromise(step.body, { xmlns: true, explicitArray: true })) as Record<
        string,
        unknown
      >;
      const env = Object.values(envelope)[0] as Record<string, unknown>;
      const header = (
        Object.entries(env).find(([k]) => k.endsWith('Header'))?.[1] as Record<string, unknown>[] | undefined
      )?.[0];
      for (const [name, value] of step.httpHeaders) {
        expect(['auth-token', 'client-id', 'request-id'], `${step.name}: HTTP header ${name}`).to.include(name);
        expect(value, `${step.name}: HTTP header ${name} uses a property`).to.contain('${#Project#');
      }
      if (header === undefined || typeof header !== 'object') continue; // credentials absent or in HTTP headers
      for (const [key, value] of Object.entries(header)) {
        if (key === '$' || key === '$ns') continue;
        const node = (value as { $ns: { uri: string; local: string }; _: string }[])[0]!;
        expect(node.$ns.uri, `${step.name}: ${node.$ns.local}`).to.equal(blocks.ns);
        expect(blocks.names).to.include(node.$ns.local);
        expect(node._, `${step.name}: ${node.$ns.local} uses a property`).to.contain('${#Project#');
      }
    }
  });
});

describe("soapui: the replayer keeps SoapUI's meaning", () => {
  const scope: Scope = { project: new Map([['x', '42']]), suite: new Map(), testCase: new Map([['y', '7']]) };
  const envelope = (body: string) =>
    `<s:Envelope xmlns:s="${SOAP11_ENVELOPE_NS}"><s:Body>${body}</s:Body></s:Envelope>`;
  const okBody = envelope(
    `<b:GetBalanceResponse xmlns:b="${BANK_NAMESPACE}"><b:accountId>42</b:accountId><b:balance>1.50</b:balance></b:GetBalanceResponse>`,
  );
  const faultBody = envelope(
    `<s:Fault><faultcode>s:Client</faultcode><faultstring>x</faultstring><detail><BankFault xmlns="${BANK_NAMESPACE}"><code>NOT_AUTHORIZED</code></BankFault></detail></s:Fault>`,
  );
  const exchange = (body: string, status = 200): Exchange => ({
    status,
    body,
    requestBody: '',
    soapAction: '',
    endpoint: '',
  });
  const assertion = (type: string, config: Record<string, string> = {}): Assertion => ({
    type,
    name: type,
    disabled: false,
    config,
  });
  const xpath = (path: string, content: string, allowWildcards = false) =>
    assertion('XPath Match', {
      path: `declare namespace b='${BANK_NAMESPACE}';\n${path}`,
      content,
      allowWildcards: String(allowWildcards),
    });

  it('"SOAP Fault Assertion" means Not SOAP Fault; "Not SOAP Fault Assertion" means SOAP Fault', () => {
    expect(checkAssertion(assertion('SOAP Fault Assertion'), exchange(okBody), scope)).to.equal(undefined);
    expect(checkAssertion(assertion('SOAP Fault Assertion'), exchange(faultBody, 500), scope)).to.contain(
      'is a SOAP Fault',
    );
    expect(checkAssertion(assertion('Not SOAP Fault Assertion'), exchange(faultBody, 500), scope)).to.equal(undefined);
    expect(checkAssertion(assertion('Not SOAP Fault Assertion'), exchange(okBody), scope)).to.contain(
      'not a SOAP Fault',
    );
  });

  it('"SOAP Response" wants a SOAP 1.1 envelope with a Body and a well-formed Fault', () => {
    expect(checkAssertion(assertion('SOAP Response'), exchange(okBody), scope)).to.equal(undefined);
    expect(checkAssertion(assertion('SOAP Response'), exchange(faultBody), scope)).to.equal(undefined);
    for (const bad of [
      '',
      '<html>oops</html>',
      `<s:Envelope xmlns:s="${SOAP11_ENVELOPE_NS}"/>`,
      'not xml <',
      envelope('<s:Fault><faultstring>x</faultstring></s:Fault>'),
    ]) {
      expect(checkAssertion(assertion('SOAP Response'), exchange(bad), scope), bad).to.be.a('string');
    }
  });

  it('"Valid HTTP Status Codes" compares against the comma-separated list', () => {
    expect(
      checkAssertion(assertion('Valid HTTP Status Codes', { codes: '200, 201' }), exchange(okBody, 201), scope),
    ).to.equal(undefined);
    expect(
      checkAssertion(assertion('Valid HTTP Status Codes', { codes: '200' }), exchange(okBody, 500), scope),
    ).to.contain('500');
  });

  it('"XPath Match" compares text, counts and expanded properties, and fails on a miss', () => {
    expect(checkAssertion(xpath('//b:balance', '1.50'), exchange(okBody), scope)).to.equal(undefined);
    expect(checkAssertion(xpath('//b:balance', '1.5'), exchange(okBody), scope)).to.contain('expecting [1.5]');
    expect(checkAssertion(xpath('//b:accountId', '${#Project#x}'), exchange(okBody), scope)).to.equal(undefined);
    expect(checkAssertion(xpath('count(//b:balance)', '1'), exchange(okBody), scope)).to.equal(undefined);
    expect(checkAssertion(xpath('//b:missing', '1'), exchange(okBody), scope)).to.contain('Missing content');
    expect(checkAssertion(xpath('//b:balance', '1.*', true), exchange(okBody), scope)).to.equal(undefined);
    expect(checkAssertion(xpath('//b:balance', '2.*', true), exchange(okBody), scope)).to.be.a('string');
    expect(checkAssertion(xpath('//b:code', 'NOT_AUTHORIZED'), exchange(faultBody), scope)).to.equal(undefined);
    expect(
      checkAssertion(
        assertion('XPath Match', { path: "substring-after(//faultcode, ':')", content: 'Client' }),
        exchange(faultBody),
        scope,
      ),
    ).to.equal(undefined);
  });

  it('refuses what it cannot check: other assertion types, expansions, XML content', () => {
    expect(() => checkAssertion(assertion('Schema Compliance'), exchange(okBody), scope)).to.throw(ReplayUnsupported);
    expect(() => checkAssertion(assertion('Script Assertion'), exchange(okBody), scope)).to.throw(ReplayUnsupported);
    expect(() => checkAssertion(xpath('//b:balance', '<b:balance>1.50</b:balance>'), exchange(okBody), scope)).to.throw(
      ReplayUnsupported,
    );
    expect(() => expand('${=new Date()}', scope)).to.throw(ReplayUnsupported);
    expect(() => expand('${#Env#x}', scope)).to.throw(ReplayUnsupported);
    expect(() => expand('${#Project#nope}', scope)).to.throw(ReplayUnsupported, /not defined/);
    expect(expand('a${#Project#x}b${#TestCase#y}', scope)).to.equal('a42b7');
  });

  it('"Fail TestCase on error" off: failed steps do not fail the case; on: any failed step does', () => {
    const cases = project.suites.flatMap((s) => s.cases);
    const lenient = cases.filter((c) => !c.failTestCaseOnErrors);
    expect(lenient.map((c) => `${c.name} abort:${String(c.failOnError)}`)).to.deep.equal([
      '2 Transfer 1.00: it commits, the answer is lost (this step fails on purpose) abort:false',
    ]);
    const lost = [{ step: 's', failures: ['request failed: socket hang up'], answerLost: true }];
    expect(testCasePassed(lenient[0]!, lost)).to.equal(true);
    expect(testCasePassed(cases[0]!, lost)).to.equal(false);
    expect(testCasePassed(cases[0]!, [{ step: 's', failures: [] }])).to.equal(true);
  });

  it('refuses request settings other than HTTP headers', () => {
    const withTimeout = readFileSync(PROJECT_FILE, 'utf8').replace(
      '<con:settings/>\n            <con:encoding>',
      '<con:settings><con:setting id="com.eviware.soapui.impl.wsdl.WsdlRequest@timeout">1</con:setting></con:settings>\n            <con:encoding>',
    );
    expect(() => parseProject(withTimeout)).to.throw(ReplayUnsupported, /@timeout/);
  });

  it('refuses step types it cannot replay', () => {
    const withGroovy = readFileSync(PROJECT_FILE, 'utf8').replace(
      '<con:testStep type="transfer"',
      '<con:testStep type="groovy" name="script"><con:settings/><con:config><script>1</script></con:config></con:testStep><con:testStep type="transfer"',
    );
    expect(() => parseProject(withGroovy)).to.throw(ReplayUnsupported, /groovy/);
  });
});

type DemoClient = LaunchedCluster['clients'][number];

describe('soapui: replay of every test case against a real cluster', function () {
  this.timeout(120_000);
  let cluster: LaunchedCluster | undefined;
  let rulesDir: string | undefined;

  before(async () => {
    rulesDir = mkdtempSync(join(tmpdir(), 'distbank-soapui-faults-'));
    writeFileSync(join(rulesDir, 'faults.json'), '{"rules": []}');
    cluster = await launchCluster({}, ['--faults', join(rulesDir, 'faults.json')]);
    const [me, other] = cluster.clients;
    if (me === undefined || other === undefined) throw new Error('the cluster made fewer than two demo clients');
    // Each client needs an account of its own; open one where the demo made none.
    const accountOf = async (client: DemoClient): Promise<string> => {
      const existing = client.accounts[0];
      if (existing !== undefined) return existing;
      const bank = new BankClient({ url: cluster!.bankUrl, clientId: client.clientId, authToken: client.authToken });
      try {
        return (await bank.openAccount()).accountId;
      } finally {
        bank.close();
      }
    };
    const values: Record<string, string> = {
      endpoint: cluster.bankUrl,
      clientId: me.clientId,
      authToken: me.authToken,
      otherClientId: other.clientId,
      otherAuthToken: other.authToken,
      accountId: await accountOf(me),
      otherAccountId: await accountOf(other),
      runId: `r${Date.now().toString(36)}${randomBytes(4).toString('hex')}`,
      adminEndpoint: new URL('/admin', cluster.consoleUrl).toString(),
      adminToken: cluster.adminToken,
      businessEndpoint: (
        JSON.parse(readFileSync(join(cluster.dir, 'cluster.json'), 'utf8')) as { businessUrls: string[] }
      ).businessUrls[0]!,
    };
    for (const [name, value] of Object.entries(values)) project.properties.set(name, value);
  });

  after(async () => {
    await cluster?.stop();
    if (rulesDir !== undefined) rmSync(rulesDir, { recursive: true, force: true });
  });

  for (const suite of project.suites) {
    for (const testCase of suite.cases) {
      const title = `${suite.name} / ${testCase.name}`;
      if (suite.disabled || testCase.disabled) {
        it.skip(title);
        continue;
      }
      it(title, async () => {
        const results = await runTestCase(project, suite, testCase);
        const failed = results.filter((r) => r.failures.length > 0);
        const report = failed
          .map(
            (r) =>
              `step "${r.step}":\n  ${r.failures.join('\n  ')}\n  response: ${r.exchange?.status ?? '-'} ${r.exchange?.body.slice(0, 600) ?? ''}`,
          )
          .join('\n');
        expect(results.length, 'every step ran').to.equal(testCase.steps.length);
        expect(testCasePassed(testCase, results), report).to.equal(true);
        if (testCase.failTestCaseOnErrors) expect(failed, report).to.have.length(0);
        // Stricter than SoapUI: a case that lets steps fail holds only steps that lose their answer on purpose.
        else
          expect(
            results.map((r) => `${r.step}: ${r.answerLost === true ? 'answer lost' : (r.failures[0] ?? 'answered')}`),
          ).to.deep.equal(results.map((r) => `${r.step}: answer lost`));
      });
    }
  }
});
