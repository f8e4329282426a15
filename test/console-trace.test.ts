import { expect } from 'chai';
import { callBank } from './helpers/bank-call';
import { callAdmin, launchCluster, LaunchedCluster, list } from './helpers/launched-cluster';
import { ifAssigned } from './helpers/if-assigned';

/**
 * The control plane against a real `npm start` cluster: the admin SOAP service (wsdl/admin.wsdl
 * at the console's /admin) authenticates by the admin-token header, reports the cluster, and
 * traces a known request-id through balancer → business → data → journal, one W3C trace id
 * end to end. (The browser console uses the same operations: console-browser.test.ts.)
 */
describe('console: admin SOAP service and the trace of a request', function () {
  this.timeout(90_000);
  let cluster: LaunchedCluster;

  before(async () => {
    cluster = await launchCluster();
  });
  after(async () => {
    await ifAssigned(cluster)?.stop();
  });

  it('refuses a missing or wrong admin token with AUTHENTICATION_FAILED, and ControlServer outside dev mode with NOT_AUTHORIZED', async () => {
    expect((await callAdmin(cluster.consoleUrl, 'GetClusterStatus', '', undefined)).fault?.code).to.equal(
      'AUTHENTICATION_FAILED',
    );
    const wrong = await callAdmin(cluster.consoleUrl, 'GetClusterStatus', '', 'wrong-token');
    expect(wrong.status).to.equal(500);
    expect(wrong.fault?.code).to.equal('AUTHENTICATION_FAILED');
    const control = await callAdmin(
      cluster.consoleUrl,
      'ControlServer',
      '<a:server>b2</a:server><a:action>stop</a:action>',
      cluster.adminToken,
    );
    expect(control.fault?.code).to.equal('NOT_AUTHORIZED');
    const wsdl = await (await fetch(new URL('/admin?wsdl', cluster.consoleUrl))).text();
    expect(wsdl).to.include(`<soap:address location="${new URL('/admin', cluster.consoleUrl).toString()}"/>`);
  });

  it('started without --faults: SetFaultRules and ClearFaultRules are NOT_AUTHORIZED saying so, GetFaultRules says off, the balancer’s /health says nothing', async () => {
    for (const [op, inner] of [
      ['SetFaultRules', '<a:rule><a:operation>Transfer</a:operation><a:action>reset</a:action></a:rule>'],
      ['ClearFaultRules', ''],
    ] as const) {
      const r = await callAdmin(cluster.consoleUrl, op, inner, cluster.adminToken);
      expect(r.fault?.code, op).to.equal('NOT_AUTHORIZED');
      expect(r.fault?.message, op).to.contain('npm start -- --faults FILE');
    }
    const get = await callAdmin(cluster.consoleUrl, 'GetFaultRules', '', cluster.adminToken);
    expect(get.body).to.deep.equal({ faultInjection: 'false' });
    const health = (await (await fetch(cluster.bankUrl.replace(/\/bank$/, '/health'))).json()) as object;
    expect(health).to.deep.equal({ status: 'ok' });
  });

  it('reports every process up', async () => {
    let processes: Array<Record<string, string>> = [];
    for (let i = 0; i < 50; i++) {
      const status = await callAdmin(cluster.consoleUrl, 'GetClusterStatus', '', cluster.adminToken);
      processes = list(status.body?.process as Record<string, string> | Array<Record<string, string>>);
      if (processes.length === 5 && processes.every((p) => p.up === 'true')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(processes.map((p) => `${String(p.name)}:${String(p.tier)}:${String(p.up)}`)).to.deep.equal([
      'balancer:balancer:true',
      'b1:business:true',
      'b2:business:true',
      'b3:business:true',
      'data:data:true',
    ]);
  });

  it('traces a known request-id: balancer attempt, business server, Lock and Update with the fencing token, the journal rows; one trace id', async () => {
    const [alice, bob] = cluster.clients;
    const requestId = `trace-known-${Date.now()}`;
    const r = await callBank(
      cluster.bankUrl,
      'Transfer',
      [
        ['fromAccountId', alice!.accounts[0]!],
        ['toAccountId', bob!.accounts[0]!],
        ['amount', '2.50'],
      ],
      { clientId: alice!.clientId, authToken: alice!.authToken, requestId },
      { timeoutMs: 10_000 },
    );
    expect(r.httpStatus, r.raw).to.equal(200);
    const transactionId = r.body!.transactionId as string;

    const trace = await callAdmin(cluster.consoleUrl, 'GetTrace', `<a:id>${requestId}</a:id>`, cluster.adminToken);
    expect(trace.fault, JSON.stringify(trace.fault)).to.equal(undefined);
    const steps = list(trace.body!.step as Record<string, unknown>[]);
    const path = steps.map(
      (s) =>
        `${String(s.service).replace(/^bank-b\d$/, 'business')}/${String(s.kind)}/${String(s.operation)}/${String(s.outcome)}`,
    );
    expect(path).to.include.members([
      'balancer/request/Transfer/ok',
      'balancer/attempt/Transfer/HTTP 200',
      'business/request/Transfer/ok',
      'business/call/Lock/ok',
      'business/call/Update/ok',
      'data/request/Lock/ok',
      'data/request/Update/ok',
    ]);
    expect(new Set(steps.map((s) => s.traceId)).size, 'one trace id end to end').to.equal(1);
    const dataUpdate = steps.find((s) => s.service === 'data' && s.operation === 'Update')!;
    const callUpdate = steps.find((s) => s.kind === 'call' && s.operation === 'Update')!;
    expect(dataUpdate.fencingToken).to.match(/^[0-9]+$/);
    expect(callUpdate.fencingToken).to.equal(dataUpdate.fencingToken);
    expect(dataUpdate.parentSpanId, 'the data server is a child of the business call').to.equal(callUpdate.spanId);
    const attempt = steps.find((s) => s.kind === 'attempt')!;
    const business = steps.find((s) => s.kind === 'request' && String(s.service).startsWith('bank-'))!;
    expect(business.parentSpanId, 'the business server is a child of the balancer attempt').to.equal(attempt.spanId);
    expect(dataUpdate.transactionId).to.equal(transactionId);
    const journal = list(trace.body!.journalEntry as Array<Record<string, string>>);
    expect(journal.map((j) => `${String(j.kind)} ${String(j.accountId)} ${String(j.amount)}`).sort()).to.deep.equal(
      [`TRANSFER_IN ${bob!.accounts[0]!} 2.50`, `TRANSFER_OUT ${alice!.accounts[0]!} -2.50`].sort(),
    );

    // The transaction id finds the same request, the balancer's part included.
    const byTx = await callAdmin(cluster.consoleUrl, 'GetTrace', `<a:id>${transactionId}</a:id>`, cluster.adminToken);
    expect(
      list(byTx.body!.step as Array<Record<string, string>>).some(
        (s) => s.service === 'balancer' && s.requestId === requestId,
      ),
    ).to.equal(true);
  });
});
