import { expect } from 'chai';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseStringPromise } from 'xml2js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestIdBlock } from '../balancer/request-id';
import { healthDetails, testAdmin } from './helpers/admin';
import { fetchMetrics } from './helpers/metrics';
import { REPO_DIR, RunningProcess, startProcess } from './helpers/process';
import { RESPONSE_BYTES_MAX_DEFAULT } from '../balancer/config';
import { BALANCE_CENTS_MAX, formatCents } from '../common/money';
import { STATEMENT_LIMIT_MAX } from '../business/input';
import { describeService, responseEnvelope } from '../common/soap-message';
import { BANK_NAMESPACE, SOAP11_ENVELOPE_NS, SOAP_CONTENT_TYPE, soapActionHeader } from '../common/contract';

/**
 * The load balancer as a real process in front of small real upstream HTTP servers that play
 * business servers: forwarding, request ids, retries only before a response, limits, ?wsdl.
 */
interface Seen {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

type Behaviour = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

interface Upstream {
  readonly url: string;
  readonly seen: Seen[];
  behaviour: Behaviour;
  close(): Promise<void>;
}

const OK_BODY = `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Body><GetBalanceResponse xmlns="${BANK_NAMESPACE}"><accountId>1</accountId><balance>1.00</balance></GetBalanceResponse></soap:Body></soap:Envelope>`;
const FAULT_BODY = `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>x</faultstring><detail><BankFault xmlns="${BANK_NAMESPACE}"><code>INSUFFICIENT_FUNDS</code><message>x</message><retryable>false</retryable></BankFault></detail></soap:Fault></soap:Body></soap:Envelope>`;
const REQUEST = `<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}"><soap:Body><GetBalance xmlns="${BANK_NAMESPACE}"><accountId>1</accountId></GetBalance></soap:Body></soap:Envelope>`;

const answerOk: Behaviour = (_req, res) => {
  res.writeHead(200, { 'content-type': SOAP_CONTENT_TYPE, 'x-upstream': 'yes' }).end(OK_BODY);
};

async function startUpstream(behaviour: Behaviour = answerOk): Promise<Upstream> {
  const seen: Seen[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const up: Upstream = {
    url: '',
    seen,
    behaviour,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === undefined ? raw.toString('utf8') : raw.toString('latin1');
      seen.push({ headers: req.headers, body });
      up.behaviour(req, res, body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (up as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bank`;
  return up;
}

/** A URL on which nothing listens (a port just released). */
async function deadUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}/bank`;
}

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly ms: number;
}

function send(
  url: string,
  options: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'POST',
        agent: false,
        headers: {
          'content-type': SOAP_CONTENT_TYPE,
          soapaction: soapActionHeader(BANK_NAMESPACE, 'GetBalance'),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: Date.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body ?? (options.method === 'GET' ? undefined : REQUEST));
  });
}

async function faultOf(body: string): Promise<{ faultcode: string; code: string; retryable: string }> {
  const doc = (await parseStringPromise(body, {
    explicitArray: false,
    tagNameProcessors: [(n: string) => n.replace(/^.*:/, '')],
  })) as {
    Envelope: {
      Body: {
        Fault: { faultcode: string; detail: { BankFault: { code: string; retryable: string; $: { xmlns: string } } } };
      };
    };
  };
  const f = doc.Envelope.Body.Fault;
  expect(f.detail.BankFault.$.xmlns).to.equal(BANK_NAMESPACE);
  return { faultcode: f.faultcode, code: f.detail.BankFault.code, retryable: f.detail.BankFault.retryable };
}

const adminDir = mkdtempSync(join(tmpdir(), 'distbank-lb-admin-'));
const admin = testAdmin(adminDir);
after(() => rmSync(adminDir, { recursive: true, force: true }));

async function startBalancer(
  backendUrls: readonly string[],
  env: Record<string, string> = {},
): Promise<RunningProcess> {
  return startProcess('balancer/main.js', {
    ...admin.env,
    BANK_PORT: '0',
    BANK_BUSINESS_URLS: backendUrls.join(','),
    BANK_LOG_LEVEL: 'warn',
    // Passive detection only, unless a test asks for active checks.
    BANK_LB_HEALTH_INTERVAL_MS: '60000',
    BANK_LB_HEALTH_FAILURES_MAX: '100',
    ...env,
  });
}

describe('balancer: proxying to real upstream servers', function () {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });
  const upstream = async (b?: Behaviour): Promise<Upstream> => {
    const u = await startUpstream(b);
    cleanup.push(() => u.close());
    return u;
  };
  const balancer = async (urls: readonly string[], env?: Record<string, string>): Promise<RunningProcess> => {
    const p = await startBalancer(urls, env);
    cleanup.push(() => p.kill('SIGTERM'));
    return p;
  };

  it('forwards body and end-to-end headers, assigns a request-id only when none was sent', async () => {
    const a = await upstream();
    const lb = await balancer([a.url]);
    const r1 = await send(lb.url, { headers: { 'auth-token': 'tok', 'client-id': 'alice' } });
    expect(r1.status).to.equal(200);
    expect(r1.body).to.equal(OK_BODY);
    expect(r1.headers['x-upstream']).to.equal('yes');
    const r2 = await send(lb.url, { headers: { 'request-id': 'client-key-1' } });
    expect(r2.status).to.equal(200);
    expect(a.seen).to.have.length(2);
    const [s1, s2] = a.seen;
    expect(s1!.body).to.equal(REQUEST);
    expect(s1!.headers.soapaction).to.equal(soapActionHeader(BANK_NAMESPACE, 'GetBalance'));
    expect(s1!.headers['content-type']).to.equal(SOAP_CONTENT_TYPE);
    expect(s1!.headers['auth-token']).to.equal('tok');
    expect(s1!.headers['client-id']).to.equal('alice');
    expect(s1!.headers['request-id']).to.match(/^lb-[0-9a-f]{24}$/);
    expect(s2!.headers['request-id']).to.equal('client-key-1');
  });

  it('passes a gzip body through untouched, with its content-encoding', async () => {
    const a = await upstream();
    const lb = await balancer([a.url]);
    const gz = gzipSync(Buffer.from(REQUEST));
    const r = await send(lb.url, { body: gz, headers: { 'content-encoding': 'gzip' } });
    expect(r.status).to.equal(200);
    expect(a.seen[0]!.headers['content-encoding']).to.equal('gzip');
    expect(a.seen[0]!.headers['content-length']).to.equal(String(gz.length));
    expect(gunzipSync(Buffer.from(a.seen[0]!.body, 'latin1')).toString()).to.equal(REQUEST);
  });

  it('spreads requests over all backends', async () => {
    const ups = [await upstream(), await upstream(), await upstream()];
    const lb = await balancer(ups.map((u) => u.url));
    for (let i = 0; i < 9; i++) expect((await send(lb.url)).status).to.equal(200);
    expect(ups.map((u) => u.seen.length)).to.deep.equal([3, 3, 3]);
  });

  it('retries a refused connection on another backend with the same bytes and request-id', async () => {
    const dead = await deadUrl();
    const a = await upstream();
    const lb = await balancer([dead, a.url]);
    for (let i = 0; i < 4; i++) {
      const r = await send(lb.url);
      expect(r.status, r.body).to.equal(200);
    }
    expect(a.seen).to.have.length(4);
    const health = await healthDetails<{ backends: Array<{ url: string; eligible: boolean; failuresTotal: number }> }>(
      lb.url,
      admin.token,
    );
    const deadState = health.backends.find((b) => b.url === dead)!;
    expect(deadState.eligible).to.equal(false);
    expect(deadState.failuresTotal).to.equal(1);
  });

  it('retries when a backend resets the connection or does not answer within the bound', async () => {
    const resetter = await upstream((req) => req.socket.destroy());
    const hanger = await upstream(() => undefined);
    const good = await upstream();
    const lb = await balancer([resetter.url, hanger.url, good.url], { BANK_LB_ATTEMPT_TIMEOUT_MS: '300' });
    for (let i = 0; i < 3; i++) {
      const r = await send(lb.url, { headers: { 'request-id': `k${i}` } });
      expect(r.status, r.body).to.equal(200);
      expect(r.ms).to.be.lessThan(3000);
    }
    expect(good.seen.map((s) => s.headers['request-id'])).to.deep.equal(['k0', 'k1', 'k2']);
    expect(resetter.seen.length + hanger.seen.length).to.be.greaterThan(0);
    expect(resetter.seen.length).to.be.at.most(1); // marked down after its first failure
    expect(hanger.seen.length).to.be.at.most(1);
  });

  it('a lone backend that reset one connection still gets the next request', async () => {
    let resets = 1;
    const a = await upstream((req, res) => {
      if (resets-- > 0) req.socket.destroy();
      else answerOk(req, res, '');
    });
    const lb = await balancer([a.url]);
    const first = await send(lb.url);
    expect((await faultOf(first.body)).code).to.equal('SERVICE_UNAVAILABLE');
    const second = await send(lb.url);
    expect(second.status, second.body).to.equal(200);
  });

  it('does not retry a SOAP fault: it is the final answer', async () => {
    const faulting: Behaviour = (_req, res) => {
      res.writeHead(500, { 'content-type': SOAP_CONTENT_TYPE }).end(FAULT_BODY);
    };
    const a = await upstream(faulting);
    const b = await upstream(faulting);
    const lb = await balancer([a.url, b.url]);
    const r = await send(lb.url);
    expect(r.status).to.equal(500);
    expect(r.body).to.equal(FAULT_BODY);
    expect(a.seen.length + b.seen.length).to.equal(1);
  });

  it('relays an answer as it came: status, end-to-end headers (repeated ones too), a chunked body whole', async () => {
    const a = await upstream((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(500, { 'content-type': SOAP_CONTENT_TYPE, 'x-upstream': 'yes' });
      res.write(FAULT_BODY.slice(0, 100));
      res.end(FAULT_BODY.slice(100));
    });
    const lb = await balancer([a.url]);
    const r = await send(lb.url);
    expect(r.status).to.equal(500);
    expect(r.body).to.equal(FAULT_BODY);
    expect(r.headers['x-upstream']).to.equal('yes');
    expect(r.headers['content-type']).to.equal(SOAP_CONTENT_TYPE);
    expect(r.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
  });

  it('answers INTERNAL_ERROR for an answer over BANK_LB_RESPONSE_BYTES_MAX, and sends it nowhere else', async () => {
    const sized: Behaviour = (req, res) => {
      const bytes = Number(req.headers['x-size']);
      res.writeHead(200, { 'content-type': SOAP_CONTENT_TYPE }).end(OK_BODY.padEnd(bytes, ' '));
    };
    const a = await upstream(sized);
    const b = await upstream(sized);
    const lb = await balancer([a.url, b.url], { BANK_LB_RESPONSE_BYTES_MAX: '8192' });
    const fits = await send(lb.url, { headers: { 'x-size': '8192' } });
    expect(fits.status).to.equal(200);
    expect(fits.body).to.have.length(8192);
    const r = await send(lb.url, { headers: { 'x-size': '8193', 'request-id': 'big-1' } });
    expect(r.status).to.equal(500);
    expect(await faultOf(r.body)).to.deep.equal({
      faultcode: 'soap:Server',
      code: 'INTERNAL_ERROR',
      retryable: 'false',
    });
    expect(r.body).to.contain('larger than 8192 bytes');
    expect(a.seen.length + b.seen.length).to.equal(2);
    const metrics = (await fetchMetrics(lb.url, admin.token)).text;
    expect(metrics).to.match(/distbank_requests_total\{[^}]*outcome="INTERNAL_ERROR"[^}]*\} 1/);
  });

  it('the default BANK_LB_RESPONSE_BYTES_MAX holds the largest legal answer: GetStatement at its maximum', async () => {
    const wsdl = readFileSync(join(REPO_DIR, 'wsdl', 'bank.wsdl'), 'utf8');
    const shape = (await describeService(wsdl)).operations.get('GetStatement')!;
    // Every field at its widest: ids of 15 digits, a 128-character transaction id, the longest
    // kind, amounts and balances at their largest, a toISOString() of the widest year.
    const id = '9'.repeat(15);
    const entry = {
      transactionId: 'x'.repeat(128),
      kind: 'TRANSFER_OUT',
      amount: formatCents(-(BALANCE_CENTS_MAX as number)),
      balanceAfter: formatCents(BALANCE_CENTS_MAX),
      counterpartyAccountId: id,
      at: '+275760-09-13T00:00:00.000Z',
      entryId: id,
    };
    const largest = Buffer.byteLength(
      responseEnvelope(shape, BANK_NAMESPACE, {
        accountId: id,
        balance: formatCents(BALANCE_CENTS_MAX),
        entry: Array.from({ length: STATEMENT_LIMIT_MAX }, () => entry),
      }),
    );
    expect(largest).to.be.within(300_000, RESPONSE_BYTES_MAX_DEFAULT);
    expect(RESPONSE_BYTES_MAX_DEFAULT).to.be.below(largest * 3);
  });

  it('sends a request again after a kept-alive socket closed under it, not holding it against the backend', async () => {
    // A raw server: the first request on each connection is answered (kept alive, no hint), the
    // second one meets a close, as when a server's keep-alive timer fires as the request arrives.
    let requests = 0;
    const raw = net.createServer((socket) => {
      let onThisConnection = 0;
      socket.on('data', (data: Buffer) => {
        const text = data.toString('latin1');
        if (text.startsWith('GET /health')) {
          socket.end('HTTP/1.1 200 OK\r\ncontent-length: 15\r\nconnection: close\r\n\r\n{"status":"ok"}');
          return;
        }
        const count = text.split('POST /').length - 1;
        requests += count;
        onThisConnection += count;
        if (onThisConnection > 1) socket.destroy();
        else if (count === 0) return;
        else
          socket.write(
            `HTTP/1.1 200 OK\r\ncontent-type: ${SOAP_CONTENT_TYPE}\r\ncontent-length: ${OK_BODY.length}\r\n\r\n${OK_BODY}`,
          );
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => raw.close(() => resolve())));
    const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/bank`;
    const lb = await balancer([url], { BANK_LB_RETRIES_MAX: '1' });
    for (let i = 0; i < 3; i++) expect((await send(lb.url)).status).to.equal(200);
    expect(requests).to.equal(5); // 1, then 2 × (refused on the old socket + sent again)
    const health = await healthDetails<{ backends: Array<{ failuresTotal: number; eligible: boolean }> }>(
      lb.url,
      admin.token,
    );
    expect(health.backends[0]).to.deep.include({ failuresTotal: 0, eligible: true });
  });

  it('never sends elsewhere a request whose answer broke off after its head: the client sees a broken connection', async () => {
    const breaking: Behaviour = (req, res) => {
      res.writeHead(200, { 'content-type': SOAP_CONTENT_TYPE, 'content-length': '1000' });
      res.write('<soap:Envelope');
      setTimeout(() => req.socket.destroy(), 50);
    };
    const a = await upstream(breaking);
    const b = await upstream(breaking);
    const lb = await balancer([a.url, b.url]);
    const outcome = await send(lb.url).then(
      (r) => `answered ${r.status}`,
      (err: unknown) => `failed: ${(err as Error).message}`,
    );
    expect(outcome).to.match(/^failed/);
    expect(a.seen.length + b.seen.length).to.equal(1);
  });

  it('sends elsewhere a request whose answer broke off inside its head (no answer came)', async () => {
    const headless: Behaviour = (req) => {
      req.socket.write('HTTP/1.1 200 OK\r\ncontent-');
      setTimeout(() => req.socket.destroy(), 20);
    };
    const a = await upstream(headless);
    const b = await upstream();
    const lb = await balancer([a.url, b.url]);
    for (let i = 0; i < 2; i++) expect((await send(lb.url)).status).to.equal(200);
    expect(a.seen.length).to.equal(1); // then marked down
    expect(b.seen.length).to.equal(2);
  });

  it('refuses a body over 64 KiB with 413 and an INVALID_REQUEST fault, sending nothing on', async () => {
    const a = await upstream();
    const lb = await balancer([a.url]);
    const big = REQUEST.replace('<accountId>', '<accountId>' + ' '.repeat(70 * 1024));
    const r = await send(lb.url, { body: big });
    expect(r.status).to.equal(413);
    expect(await faultOf(r.body)).to.deep.equal({
      faultcode: 'soap:Client',
      code: 'INVALID_REQUEST',
      retryable: 'false',
    });
    // Also when the size is not declared up front (chunked).
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        lb.url,
        { method: 'POST', agent: false, headers: { 'content-type': 'text/xml' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write(Buffer.alloc(4096, 0x20));
      req.end();
    });
    expect(chunked).to.equal(413);
    expect(a.seen).to.have.length(0);
  });

  it('answers SERVICE_UNAVAILABLE (retryable, HTTP 500) at once when no backend is reachable', async () => {
    const lb = await balancer([await deadUrl(), await deadUrl()]);
    for (let i = 0; i < 3; i++) {
      const r = await send(lb.url);
      expect(r.status).to.equal(500);
      expect(r.ms).to.be.lessThan(1000);
      expect(await faultOf(r.body)).to.deep.equal({
        faultcode: 'soap:Server',
        code: 'SERVICE_UNAVAILABLE',
        retryable: 'true',
      });
    }
  });

  it('ends a request within its deadline when every backend hangs', async () => {
    const a = await upstream(() => undefined);
    const b = await upstream(() => undefined);
    const lb = await balancer([a.url, b.url], { BANK_LB_ATTEMPT_TIMEOUT_MS: '400', BANK_LB_DEADLINE_MS: '600' });
    const r = await send(lb.url);
    expect(r.status).to.equal(500);
    expect((await faultOf(r.body)).code).to.equal('SERVICE_UNAVAILABLE');
    expect(r.ms).to.be.within(500, 2000);
  });

  it('cuts off an answer whose body stalls past the deadline', async () => {
    const a = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': '1000' });
      res.write('<soap:Envelope');
    });
    const lb = await balancer([a.url], { BANK_LB_ATTEMPT_TIMEOUT_MS: '300', BANK_LB_DEADLINE_MS: '500' });
    const started = Date.now();
    const outcome = await send(lb.url).then(
      () => 'answered',
      (err: unknown) => `failed: ${(err as Error).message}`,
    );
    expect(outcome).to.match(/^failed/);
    expect(Date.now() - started).to.be.within(400, 3000);
    expect(a.seen).to.have.length(1);
  });

  it('bounds in-flight requests: past the bound, SERVICE_UNAVAILABLE', async () => {
    let release: (() => void) | undefined;
    const a = await upstream((_req, res) => {
      release = () => answerOk(_req, res, '');
    });
    const lb = await balancer([a.url], { BANK_LB_IN_FLIGHT_MAX: '1' });
    const first = send(lb.url);
    while (a.seen.length === 0) await new Promise((r) => setTimeout(r, 10));
    const second = await send(lb.url);
    expect((await faultOf(second.body)).code).to.equal('SERVICE_UNAVAILABLE');
    release!();
    expect((await first).status).to.equal(200);
    // The slot frees when the balancer has finished writing the answer, a moment after the
    // client has read it: until then a request is refused, then one is forwarded.
    const { reply: a2 } = await sendUntilForwarded(lb.url, a.seen, 2);
    release!();
    expect((await a2).status).to.equal(200);
  });

  it('keeps counting a request whose client hung up while its try still runs', async () => {
    let release: (() => void) | undefined;
    const a = await upstream((_req, res) => {
      release = () => answerOk(_req, res, '');
    });
    const lb = await balancer([a.url], { BANK_LB_IN_FLIGHT_MAX: '1' });
    const gone = http.request(lb.url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': SOAP_CONTENT_TYPE },
    });
    gone.on('error', () => undefined);
    gone.end(REQUEST);
    while (a.seen.length === 0) await new Promise((r) => setTimeout(r, 10));
    gone.destroy();
    // A pause, not a condition: nothing outside the balancer shows it has seen the hang-up, and
    // the check below is that the slot stays taken after it has.
    await new Promise((r) => setTimeout(r, 100));
    // The backend is still working on the abandoned request: its slot is still taken.
    const next = await send(lb.url);
    expect((await faultOf(next.body)).code).to.equal('SERVICE_UNAVAILABLE');
    release!();
    const { reply: after } = await sendUntilForwarded(lb.url, a.seen, 2);
    release!();
    expect((await after).status).to.equal(200);
  });

  it('finds the request-id block for the log in linear time, even in a hostile body', () => {
    const hostile = Buffer.from('<request-id '.repeat(5_400));
    const startedMs = Date.now();
    expect(requestIdBlock(hostile)).to.equal(undefined);
    expect(Date.now() - startedMs).to.be.below(50);
    expect(requestIdBlock(Buffer.from(`<b:request-id xmlns:b="${BANK_NAMESPACE}">abc-1</b:request-id>`))).to.equal(
      'abc-1',
    );
  });

  it('serves bank.wsdl with soap:address pointing at the balancer (or BANK_PUBLIC_URL)', async () => {
    const a = await upstream();
    const lb = await balancer([a.url]);
    const r = await send(lb.url + '?wsdl', { method: 'GET' });
    expect(r.status).to.equal(200);
    const locations = [...r.body.matchAll(/<soap:address location="([^"]*)"/g)].map((m) => m[1]);
    expect(locations).to.deep.equal([lb.url]);
    expect(a.seen).to.have.length(0);
    const lb2 = await balancer([a.url], { BANK_PUBLIC_URL: 'http://bank.example:8080/bank' });
    const r2 = await send(lb2.url + '?WSDL', { method: 'GET' });
    expect(r2.body).to.contain('<soap:address location="http://bank.example:8080/bank"/>');
    // Behind a TLS terminator (docs/OPERATIONS.md) the address callers must use is https.
    const lb3 = await balancer([a.url], { BANK_PUBLIC_URL: 'https://bank.example/bank' });
    const r3 = await send(lb3.url + '?wsdl', { method: 'GET' });
    expect(r3.body).to.contain('<soap:address location="https://bank.example/bank"/>');
  });

  // The WSDL says exactly what the service accepts: the business servers serve their configured
  // maximum amount in ?wsdl, and the balancer, which clients read it from, must say the same.
  it('serves the configured BANK_AMOUNT_MAX in ?wsdl, as the business servers do', async () => {
    const a = await upstream();
    const maxOf = (wsdl: string): string | undefined =>
      /<xsd:simpleType name="Amount">[\s\S]*?<xsd:maxInclusive value="([^"]*)"\/>/.exec(wsdl)?.[1];
    const lb = await balancer([a.url], { BANK_AMOUNT_MAX: '500.5' });
    expect(maxOf((await send(lb.url + '?wsdl', { method: 'GET' })).body)).to.equal('500.50');
    const lbDefault = await balancer([a.url]);
    expect(maxOf((await send(lbDefault.url + '?wsdl', { method: 'GET' })).body)).to.equal('1000000.00');
  });

  it('active health checks take a dead backend out and bring it back', async () => {
    const a = await upstream();
    const b = await upstream();
    const lb = await balancer([a.url, b.url], { BANK_LB_HEALTH_INTERVAL_MS: '100', BANK_LB_HEALTH_FAILURES_MAX: '1' });
    const states = async (): Promise<boolean[]> =>
      (await healthDetails<{ backends: Array<{ healthy: boolean }> }>(lb.url, admin.token)).backends.map(
        (s) => s.healthy,
      );
    expect(await states()).to.deep.equal([true, true]);
    const port = new URL(b.url).port;
    await b.close(); // closing twice (again in cleanup) is harmless
    await waitFor(async () => (await states())[1] === false);
    for (let i = 0; i < 4; i++) expect((await send(lb.url)).status).to.equal(200);
    expect(a.seen.length).to.equal(4);
    const back = await startUpstreamOn(Number(port));
    cleanup.push(() => back.close());
    await waitFor(async () => (await states())[1] === true);
  });
});

async function startUpstreamOn(port: number): Promise<{ close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(200).end('{"status":"ok"}'));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * Sends until the balancer forwards a request (the upstream has seen `count` requests); each
 * refusal on the way must be SERVICE_UNAVAILABLE. Returns the forwarded request's answer, still
 * pending (wrapped: an async function would wait for a promise it returns).
 */
async function sendUntilForwarded(
  url: string,
  seen: unknown[],
  count: number,
  timeoutMs = 5000,
): Promise<{ reply: Promise<Reply> }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const reply = send(url);
    // An object, not a let: the callbacks set it, which the checker's narrowing cannot see.
    const state = { answered: false };
    reply.then(
      () => (state.answered = true),
      () => (state.answered = true),
    );
    while (!state.answered && seen.length < count) await new Promise((r) => setTimeout(r, 10));
    if (seen.length >= count) return { reply };
    expect((await faultOf((await reply).body)).code).to.equal('SERVICE_UNAVAILABLE');
    if (Date.now() > until) throw new Error('no request forwarded in time');
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
