import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SaxesParser } from 'saxes';
import { bankEnvelope, parseBankResponse, postRaw } from './helpers/bank-call';
import { startCluster, TestCluster } from './helpers/cluster';
import { DIST_DIR } from './helpers/process';
import { BANK_NAMESPACE, SOAP11_ENVELOPE_NS, soapActionHeader } from '../common/contract';
import { ifAssigned } from './helpers/if-assigned';

/**
 * Log hygiene (issue 8, items 3 and 10): no value a caller sends can forge a log line, put a
 * terminal escape in a log, or put a non-XML character into a fault; a refusal before
 * authentication still logs the balancer's request id and the client id the caller claimed.
 */

// The reviewer's injection, byte for byte: a forged line after &#10; and an ANSI "clear screen".
const INJECTION_BODY =
  '<x:Foo xmlns:x="urn:a&#10;2026-01-01T00:00:00.000Z bank info operation principal=alice operation=Transfer outcome=ok&#27;[2J"/>';
const FORGED_LINE_START = '2026-01-01T00:00:00.000Z';
const ESC = '\u001b';
/** C0 controls but tab/LF, DEL, C1 controls, line/paragraph separators, bidi overrides. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** Anything outside XML 1.0's Char production (surrogates are matched in pairs by the u flag). */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

function injectionEnvelope(): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}">` +
    `<soap:Body>${INJECTION_BODY}</soap:Body></soap:Envelope>`
  );
}

/** Strict XML 1.0 well-formedness (saxes checks the Char production); returns the errors. */
function xmlErrors(text: string): string[] {
  const errors: string[] = [];
  const parser = new SaxesParser({ xmlns: true });
  parser.on('error', (e) => errors.push(e.message));
  parser.write(text).close();
  return errors;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('log hygiene: the logger itself (a real process writing both formats)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'distbank-log-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const hostile = {
    nl: 'a\n2026-01-01T00:00:00.000Z bank info operation outcome=ok',
    cr: 'b\rforged',
    esc: 'c\u001b[2J',
    c1: 'd\u009b2J',
    del: 'e\u007f',
    sep: 'f\u2028g\u2029h',
    bidi: 'i\u202ej',
    spaced: 'x status=200 outcome=ok',
    nested: { deep: ['k\nl\u001b'] },
  };

  function runLogger(): { stderr: string; json: string } {
    const file = join(dir, `log-${Date.now()}.json`);
    const script = `
      const { createLogger } = require(${JSON.stringify(join(DIST_DIR, 'common', 'logger.js'))});
      const log = createLogger({ service: 'bank', level: 'info', jsonFilePath: ${JSON.stringify(file)} });
      log.info('operation\\nforged ${ESC}[31m', ${JSON.stringify(hostile)});
      log.on('finish', () => process.exit(0));
      log.end();`;
    const run = spawnSync(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    expect(run.status, run.stderr.toString('utf8')).to.equal(0);
    return { stderr: run.stderr.toString('utf8'), json: readFileSync(file, 'utf8') };
  }

  it('console format: one line, no control character, values with spaces quoted', () => {
    const { stderr } = runLogger();
    const lines = stderr.split('\n').filter((l) => l !== '');
    expect(lines, stderr).to.have.length(1);
    expect(lines[0]).to.not.match(CONTROL);
    // A value with a space cannot pose as more key=value fields.
    expect(lines[0]).to.contain('spaced="x status=200 outcome=ok"');
    const unquoted = lines[0]!.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    expect(unquoted).to.not.contain('status=');
    const keys = [...unquoted.matchAll(/ ([a-z0-9_]+)=/g)].map((m) => m[1]);
    expect(keys).to.deep.equal(Object.keys(hostile));
    // The escapes are readable and reversible.
    expect(lines[0]).to.contain('esc="c\\u001b[2J"');
    expect(lines[0]).to.contain('sep="f\\u2028g\\u2029h"');
  });

  it('JSON format: one line that parses back to the very values, with no raw control byte', () => {
    const { json } = runLogger();
    const lines = json.split('\n').filter((l) => l !== '');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.not.match(CONTROL);
    const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
    for (const [key, value] of Object.entries(hostile)) expect(parsed[key], key).to.deep.equal(value);
    expect(parsed['message']).to.equal(`operation\nforged ${ESC}[31m`);
  });
});

describe('log hygiene: a hostile caller against a real cluster', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'distbank-loghyg-'));
    cluster = await startCluster({
      businessCount: 1,
      env: { BANK_LOG_LEVEL: 'info' },
      businessEnv: { BANK_LOG_FILE: join(dir, 'business.json') },
      balancerEnv: { BANK_LOG_FILE: join(dir, 'balancer.json') },
    });
  });
  after(async () => {
    await ifAssigned(cluster)?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const logLines = (): string[] => cluster.logs().split('\n');

  it("the issue's injection forges no line, no escape, and the fault is well-formed XML", async () => {
    const reply = await postRaw(
      cluster.balancerUrl,
      injectionEnvelope(),
      { soapaction: '""', 'client-id': 'mallory', 'request-id': 'inject-1' },
      10_000,
    );
    expect(reply.httpStatus).to.equal(500);
    expect(reply.raw).to.not.match(NOT_XML_CHAR);
    expect(xmlErrors(reply.raw)).to.deep.equal([]);
    const parsed = await parseBankResponse(reply.httpStatus, reply.raw);
    expect(parsed.fault?.code).to.equal('INVALID_REQUEST');

    const line = await waitFor('the business log line of inject-1', () =>
      logLines().find((l) => l.includes(' bank-b1 ') && l.includes('inject-1')),
    );
    expect(line).to.contain('request_id=inject-1');
    // Item 10: the claimed client id is logged even though nobody authenticated.
    expect(line).to.contain('claimed_principal=mallory');
    // Nor can the caller's text pose as fields of the true line.
    const unquoted = line.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    expect(unquoted).to.not.contain('principal=alice');
    expect(unquoted.match(/ outcome=/g)).to.have.length(1);
    const all = cluster.logs();
    expect(all).to.not.contain(ESC);
    expect(logLines().filter((l) => l.startsWith(FORGED_LINE_START))).to.deep.equal([]);
    for (const file of ['business.json', 'balancer.json']) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text, file).to.not.match(CONTROL);
      for (const l of text.split('\n').filter((x) => x !== '')) JSON.parse(l);
    }
  });

  it("an authentication failure logs the balancer's request id and the claimed client id", async () => {
    const body = bankEnvelope('GetBalance', [['accountId', '1']], { clientId: 'alice', authToken: 'wrong-token' });
    const reply = await postRaw(
      cluster.balancerUrl,
      body,
      { soapaction: soapActionHeader(BANK_NAMESPACE, 'GetBalance'), 'request-id': 'auth-fail-1' },
      10_000,
    );
    expect((await parseBankResponse(reply.httpStatus, reply.raw)).fault?.code).to.equal('AUTHENTICATION_FAILED');
    const line = await waitFor('the business log line of auth-fail-1', () =>
      logLines().find((l) => l.includes(' bank-b1 ') && l.includes('auth-fail-1')),
    );
    expect(line).to.contain('request_id=auth-fail-1');
    expect(line).to.contain('claimed_principal=alice');
    expect(line).to.contain('operation=GetBalance');
    expect(line).to.contain('outcome=AUTHENTICATION_FAILED');
  });

  it('the balancer refuses a request-id header it could not log or forward as is', async () => {
    const client = cluster.client('alice');
    const body = bankEnvelope('GetBalance', [['accountId', '1']], client);
    const reply = await postRaw(
      cluster.balancerUrl,
      body,
      { soapaction: soapActionHeader(BANK_NAMESPACE, 'GetBalance'), 'request-id': 'x status=200 outcome=ok' },
      10_000,
    );
    const parsed = await parseBankResponse(reply.httpStatus, reply.raw);
    expect(parsed.fault?.code).to.equal('INVALID_REQUEST');
    expect(parsed.fault?.message).to.match(/request-id/);
    await waitFor('the balancer log line', () =>
      logLines().find((l) => l.includes(' balancer ') && l.includes('request-id')),
    );
    expect(cluster.logs()).to.not.match(/request_id=x status=200/);
    expect(cluster.logs()).to.not.match(/request_id=x\b/);
  });
});
