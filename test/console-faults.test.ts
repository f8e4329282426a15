import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { callBank } from './helpers/bank-call';
import { ADMIN_NAMESPACE } from '../common/contract';
import { AdminAnswer, callAdmin, launchCluster, LaunchedCluster, list } from './helpers/launched-cluster';
import { schemaOfWsdl, xsdVerdicts } from './helpers/xsd';
import { ifAssigned } from './helpers/if-assigned';

/**
 * Issue 12 through the control plane: SetFaultRules / GetFaultRules / ClearFaultRules on the
 * console's admin SOAP service against a real `npm start -- --faults FILE` cluster (dev mode,
 * to stop a business server). The console forwards to every business server and answers only
 * when all answered; invalid rules are INVALID_REQUEST naming the field; the service's verdict
 * on every lexical form of a rule's fields equals xmllint's against the served admin.wsdl; a
 * stopped server makes the call a fault that names it, with nothing changed; the rules file
 * wins again when it next changes; the balancer's /health says injection is on. ~15 s.
 */
type Rule = ReadonlyArray<readonly [string, string]>;

function ruleXml(rule: Rule): string {
  return `<a:rule>${rule.map(([k, v]) => `<a:${k}>${v}</a:${k}>`).join('')}</a:rule>`;
}

const GET_BALANCE_LOCKED: Rule = [
  ['operation', 'GetBalance'],
  ['count', '1'],
  ['action', 'fault'],
  ['code', 'ACCOUNT_LOCKED'],
];
const NEVER_FIRES_DELAY: Rule = [
  ['operation', '*'],
  ['clientId', 'nobody'],
  ['probability', '0.25'],
  ['action', 'delay'],
  ['delayMinMs', '5'],
  ['delayMaxMs', '50'],
  ['distribution', 'lognormal'],
];

describe('console: fault rules through the admin SOAP service', function () {
  this.timeout(120_000);
  let cluster: LaunchedCluster;
  let rulesFile: string | undefined;

  const admin = (operation: string, inner = ''): Promise<AdminAnswer> =>
    callAdmin(cluster.consoleUrl, operation, inner, cluster.adminToken);
  const servers = async () =>
    list((await admin('GetFaultRules')).body?.server as Record<string, unknown> | Array<Record<string, unknown>>);

  before(async () => {
    rulesFile = join(mkdtempSync(join(tmpdir(), 'distbank-console-faults-')), 'faults.json');
    writeFileSync(rulesFile, JSON.stringify({ seed: 7, rules: [] }));
    cluster = await launchCluster({ BANK_DEV_MODE: 'on' }, ['--faults', rulesFile]);
  });
  after(async () => {
    await ifAssigned(cluster)?.stop();
    if (rulesFile !== undefined) rmSync(dirname(rulesFile), { recursive: true, force: true });
  });

  it('GetFaultRules: injection on, every business server with the file’s (empty) rules', async () => {
    const r = await admin('GetFaultRules');
    expect(r.fault, JSON.stringify(r.fault)).to.equal(undefined);
    expect(r.body?.faultInjection).to.equal('true');
    expect(
      (await servers()).map(
        (s) => `${String(s.server)} seed ${String(s.seed)} ${s.rule === undefined ? 'none' : JSON.stringify(s.rule)}`,
      ),
    ).to.deep.equal(['b1 seed 7 none', 'b2 seed 7 none', 'b3 seed 7 none']);
  });

  it('the balancer’s /health says loudly that fault injection is on', async () => {
    const health = (await (await fetch(cluster.bankUrl.replace(/\/bank$/, '/health'))).json()) as Record<
      string,
      unknown
    >;
    expect(health).to.deep.include({ status: 'ok', faultInjection: true });
  });

  it('invalid rules are INVALID_REQUEST naming the problem, and nothing changes', async () => {
    const cases: Array<[string, RegExp]> = [
      [
        ruleXml([
          ['operation', 'Transfer'],
          ['probabilty', '0.3'],
          ['action', 'reset'],
        ]),
        /probabilty/,
      ],
      [
        ruleXml([
          ['operation', 'Transfer'],
          ['action', 'explode'],
        ]),
        /rules\[0\]\.action must be one of .*"explode"/,
      ],
      [
        ruleXml([
          ['operation', 'Transfer'],
          ['action', 'fault'],
          ['code', 'NO_SUCH_CODE'],
        ]),
        /rules\[0\]\.code .*NO_SUCH_CODE/,
      ],
      [
        ruleXml([
          ['operation', 'Transfer'],
          ['action', 'delay'],
          ['code', 'INTERNAL_ERROR'],
        ]),
        /unknown field "code" for action delay/,
      ],
      [
        ruleXml([
          ['operation', 'Transfer'],
          ['action', 'delay'],
          ['delayMs', '5'],
          ['delayMaxMs', '9'],
        ]),
        /delayMinMs with delayMaxMs/,
      ],
      [ruleXml([['action', 'reset']]), /rules\[0\]\.operation is required/],
      [
        ruleXml([
          ['operation', 'Withdraw'],
          ['action', 'reset'],
        ]).repeat(101),
        /at most 100 rules/,
      ],
    ];
    for (const [inner, message] of cases) {
      const r = await admin('SetFaultRules', inner);
      expect(r.fault?.code, inner).to.equal('INVALID_REQUEST');
      expect(r.fault?.message, inner).to.match(message);
    }
    expect((await servers()).every((s) => s.rule === undefined)).to.equal(true);
  });

  it('SetFaultRules reaches every business server, its effect shows on the wire, ClearFaultRules ends it', async () => {
    const set = await admin(
      'SetFaultRules',
      `<a:seed>42</a:seed>${ruleXml(GET_BALANCE_LOCKED)}${ruleXml(NEVER_FIRES_DELAY)}`,
    );
    expect(set.fault, JSON.stringify(set.fault)).to.equal(undefined);
    expect(set.body).to.deep.equal({ rules: '2', server: ['b1', 'b2', 'b3'] });
    for (const s of await servers()) {
      expect(s.seed).to.equal('42');
      expect(list(s.rule as object[])).to.deep.equal([
        Object.fromEntries(GET_BALANCE_LOCKED),
        Object.fromEntries(NEVER_FIRES_DELAY),
      ]);
    }
    const alice = cluster.clients[0]!;
    const balance = () =>
      callBank(cluster.bankUrl, 'GetBalance', [['accountId', alice.accounts[0]!]], alice, { timeoutMs: 10_000 });
    const injected = await balance();
    expect(injected.fault?.code, injected.raw).to.equal('ACCOUNT_LOCKED');
    expect(injected.fault?.message).to.contain('injected by fault rule 0');
    const counts = (await servers()).flatMap((s) => list(s.injected as Record<string, string>[]));
    expect(counts).to.deep.equal([{ action: 'fault', count: '1' }]);

    const cleared = await admin('ClearFaultRules');
    expect(cleared.body).to.deep.equal({ server: ['b1', 'b2', 'b3'] });
    for (let i = 0; i < 6; i++) expect((await balance()).fault, 'no rule after ClearFaultRules').to.equal(undefined);
    expect((await servers()).every((s) => s.rule === undefined)).to.equal(true);
  });

  it('accepts exactly the lexical forms admin.wsdl’s schema accepts (same verdict as xmllint)', async () => {
    const schema = schemaOfWsdl(await (await fetch(new URL('/admin?wsdl', cluster.consoleUrl))).text());
    const host = (field: string, form: string): Rule => {
      const base: Record<string, Rule> = {
        delayMs: [
          ['operation', 'Deposit'],
          ['clientId', 'nobody'],
          ['action', 'delay'],
          ['delayMs', form],
        ],
        durationMs: [
          ['operation', 'Deposit'],
          ['clientId', 'nobody'],
          ['action', 'slow-response'],
          ['durationMs', form],
        ],
        code: [
          ['operation', 'Deposit'],
          ['clientId', 'nobody'],
          ['action', 'fault'],
          ['code', form],
        ],
        distribution: [
          ['operation', 'Deposit'],
          ['clientId', 'nobody'],
          ['action', 'delay'],
          ['delayMinMs', '1'],
          ['delayMaxMs', '9'],
          ['distribution', form],
        ],
        clientId: [
          ['operation', 'Deposit'],
          ['clientId', form],
          ['accountId', '999999999999999'],
          ['action', 'reset'],
        ],
      };
      if (base[field] !== undefined) return base[field];
      const order = ['operation', 'clientId', 'accountId', 'probability', 'every', 'count', 'action'];
      const fields = new Map<string, string>([
        ['operation', 'Deposit'],
        ['clientId', 'nobody'],
        ['action', 'reset'],
        [field, form],
      ]);
      return order.filter((k) => fields.has(k)).map((k) => [k, fields.get(k)!] as const);
    };
    const probes: Array<[string, string]> = [
      ...['Transfer', '*', ' GetStatement ', 'transfer', '', 'Nope'].map((f) => ['operation', f] as [string, string]),
      ...[
        '0.3',
        '1',
        '1.0',
        '1.00000000000000000',
        '.5',
        '0',
        '0.000',
        '1.1',
        '2',
        '-0.5',
        '+0.5',
        '5e-1',
        '0.123456789012345678',
        ' 0.25 ',
        '1.',
      ].map((f) => ['probability', f] as [string, string]),
      ...['1', '1000000', '0', '1000001', '+3', '03', '3.0', ''].map((f) => ['every', f] as [string, string]),
      ...['1', '1000000000', '1000000001', '0', '-1'].map((f) => ['count', f] as [string, string]),
      ...['0', '120000', '120001', '-1', '1.5'].map((f) => ['delayMs', f] as [string, string]),
      ...['1', '0', '120000'].map((f) => ['durationMs', f] as [string, string]),
      ...['SERVICE_UNAVAILABLE', 'NOPE', 'service_unavailable'].map((f) => ['code', f] as [string, string]),
      ...['uniform', 'lognormal', 'normal'].map((f) => ['distribution', f] as [string, string]),
      ...['alice', 'a b', '', 'x'.repeat(65)].map((f) => ['clientId', f] as [string, string]),
      ...['1', '0', '01', '1234567890123456'].map((f) => ['accountId', f] as [string, string]),
      ...['reset', 'explode', 'RESET'].map((f) => ['action', f] as [string, string]),
    ];
    const seeds = ['0', '4294967295', '4294967296', '-1', '+1', '12345678901'];
    const bodies = [
      ...probes.map(([field, form]) => ruleXml(host(field, form))),
      ...seeds.map((s) => `<a:seed>${s}</a:seed>`),
    ];
    const labels = [...probes.map(([f, v]) => `${f}=${JSON.stringify(v)}`), ...seeds.map((s) => `seed=${s}`)];
    const xsd = xsdVerdicts(
      schema,
      bodies.map((b) => `<a:SetFaultRules xmlns:a="${ADMIN_NAMESPACE}">${b}</a:SetFaultRules>`),
    );
    const disagree: string[] = [];
    for (let i = 0; i < bodies.length; i++) {
      const r = await admin('SetFaultRules', bodies[i]);
      if (r.fault !== undefined && r.fault.code !== 'INVALID_REQUEST')
        throw new Error(`${labels[i]!}: ${r.fault.code} ${r.fault.message}`);
      if ((r.fault === undefined) !== xsd[i])
        disagree.push(
          `${labels[i]!}: xmllint ${xsd[i] ? 'valid' : 'invalid'}, service ${r.fault?.message ?? 'accepted'}`,
        );
    }
    expect(disagree).to.deep.equal([]);
    expect(xsd.filter((v) => v).length, 'both verdicts occur').to.be.within(10, bodies.length - 10);
    await admin('ClearFaultRules');
  });

  it('the rules file wins again when it next changes', async () => {
    await admin('SetFaultRules', ruleXml(GET_BALANCE_LOCKED));
    writeFileSync(
      rulesFile!,
      JSON.stringify({ seed: 9, rules: [{ operation: 'Withdraw', every: 3, action: 'reset' }] }),
    );
    let seen: string[] = [];
    for (let i = 0; i < 40; i++) {
      seen = (await servers()).map((s) => `${String(s.seed)} ${JSON.stringify(s.rule)}`);
      if (seen.every((s) => s.startsWith('9 '))) break;
      await sleep(100);
    }
    expect(seen).to.deep.equal(Array(3).fill('9 {"operation":"Withdraw","every":"3","action":"reset"}'));
  });

  it('a business server down: SetFaultRules and ClearFaultRules change nothing and name it; GetFaultRules names it', async () => {
    const status = await admin('GetClusterStatus');
    const b1 = list(status.body!.process as Array<Record<string, string>>).find((p) => p.name === 'b1')!;
    const stop = await admin('ControlServer', '<a:server>b2</a:server><a:action>stop</a:action>');
    expect(stop.fault, JSON.stringify(stop.fault)).to.equal(undefined);
    for (const [op, inner] of [
      ['SetFaultRules', ruleXml(GET_BALANCE_LOCKED)],
      ['ClearFaultRules', ''],
      ['GetFaultRules', ''],
    ] as const) {
      const r = await admin(op, inner);
      expect(r.fault?.code, op).to.equal('SERVICE_UNAVAILABLE');
      expect(r.fault?.message, op).to.match(/^b2 \(.*\) did not answer/);
      if (op !== 'GetFaultRules') expect(r.fault?.message).to.contain('nothing was changed');
    }
    const onB1 = (await (
      await fetch(new URL('/admin/faults', b1.url), { headers: { authorization: `Bearer ${cluster.adminToken}` } })
    ).json()) as { seed: number; rules: unknown[] };
    expect(onB1.seed, 'b1 still runs the file’s rules').to.equal(9);
  });
});
