import { ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { BANK_NAMESPACE, SOAP11_ENVELOPE_NS as SOAP, SOAP_CONTENT_TYPE, soapActionHeader } from '../common/contract';
import { defined, itemAt } from '../common/defined';
import { parseReadyLine } from '../common/ready';
import { cpuSecondsOf } from './lib/proc-cpu';
import { SAMPLE_TRANSFER_REQUEST } from './lib/sample-transfer';

/**
 * CPU cost of the load balancer alone, run by hand (not a test):
 *   node dist/scripts/balancer-cost.js <dist dir A> [<dist dir B>] [--requests N] [--concurrency K] [--rounds R]
 * Starts one trivial in-process backend (a fixed Transfer answer) and one balancer process per
 * build (`node <dist>/balancer/main.js`, log level warn), then in each round drives N keep-alive
 * POSTs, K at a time, through each balancer in turn (the order flips every round) and reads the
 * balancer's CPU time from /proc: the printed figure is the median CPU µs per request. Builds
 * measured in the same run, alternating, so the shared machine's noise hits both alike.
 */
const REQUEST = SAMPLE_TRANSFER_REQUEST;
const ANSWER = Buffer.from(
  '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${SOAP}"><soap:Body><TransferResponse xmlns="${BANK_NAMESPACE}">` +
    '<transactionId>tx-0123456789abcdef0123</transactionId><fromAccountId>1001</fromAccountId>' +
    '<balance>987.66</balance></TransferResponse></soap:Body></soap:Envelope>',
);

interface Options {
  readonly dists: readonly string[];
  readonly requests: number;
  readonly concurrency: number;
  readonly rounds: number;
}

function parseArgs(argv: readonly string[]): Options {
  const dists: string[] = [];
  const numbers = new Map([
    ['requests', 20_000],
    ['concurrency', 16],
    ['rounds', 6],
  ]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg.startsWith('--')) {
      const value = Number(argv[++i]);
      const name = arg.slice(2);
      if (!numbers.has(name) || !Number.isInteger(value) || value < 1) throw new Error(`bad option ${arg}`);
      numbers.set(name, value);
    } else dists.push(resolve(arg));
  }
  if (dists.length === 0 || dists.length > 2)
    throw new Error('usage: balancer-cost <dist dir> [<dist dir>] [--requests N] [--concurrency K] [--rounds R]');
  const number = (name: string): number => defined(numbers.get(name), name);
  return { dists, requests: number('requests'), concurrency: number('concurrency'), rounds: number('rounds') };
}

async function startBackend(): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': SOAP_CONTENT_TYPE }).end(ANSWER));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bank`, server };
}

interface RunningBalancer {
  readonly dist: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  /** CPU µs per request, one per round. */
  readonly perRequestUs: number[];
}

function startBalancer(dist: string, backendUrl: string): Promise<RunningBalancer> {
  const child = spawn(process.execPath, [join(dist, 'balancer', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', BANK_PORT: '0', BANK_BUSINESS_URLS: backendUrl, BANK_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((done, fail) => {
    child.once('exit', (code) => fail(new Error(`balancer of ${dist} exited (${String(code)})`)));
    createInterface({ input: defined(child.stdout, 'the balancer stdout') }).on('line', (line) => {
      const ready = parseReadyLine(line);
      if (ready !== undefined) done({ dist, child, pid: ready.pid, url: ready.url, perRequestUs: [] });
    });
  });
}

/** N POSTs, K at a time on K kept-alive connections; every answer must be the backend's. */
async function drive(url: string, requests: number, concurrency: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const headers = {
    'content-type': SOAP_CONTENT_TYPE,
    soapaction: soapActionHeader(BANK_NAMESPACE, 'Transfer'),
    'auth-token': '6f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a',
    'client-id': 'alice',
  };
  let sent = 0;
  const one = (): Promise<void> =>
    new Promise((done, fail) => {
      const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () =>
          res.statusCode === 200 && bytes === ANSWER.length
            ? done()
            : fail(new Error(`HTTP ${String(res.statusCode)}`)),
        );
      });
      req.on('error', fail);
      req.end(REQUEST);
    });
  const loop = async (): Promise<void> => {
    while (sent < requests) {
      sent++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  agent.destroy();
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? itemAt(sorted, mid) : (itemAt(sorted, mid - 1) + itemAt(sorted, mid)) / 2;
}

/** One round on one balancer: its CPU µs per request (from /proc) and the rate reached. */
async function measure(b: RunningBalancer, options: Options): Promise<{ us: number; rate: number }> {
  const before = cpuSecondsOf(b.pid) ?? NaN;
  const startedMs = Date.now();
  await drive(b.url, options.requests, options.concurrency);
  const us = (((cpuSecondsOf(b.pid) ?? NaN) - before) * 1e6) / options.requests;
  return { us, rate: Math.round(options.requests / ((Date.now() - startedMs) / 1000)) };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const backend = await startBackend();
  const balancers = await Promise.all(options.dists.map((d) => startBalancer(d, backend.url)));
  try {
    for (const b of balancers) await drive(b.url, 2000, options.concurrency); // warm-up
    for (let round = 0; round < options.rounds; round++) {
      // A B, then B A: neither build is always the one measured right after the other.
      for (const b of round % 2 === 0 ? balancers : [...balancers].reverse()) {
        const { us, rate } = await measure(b, options);
        b.perRequestUs.push(us);
        console.log(`round ${round + 1} ${b.dist}: ${us.toFixed(1)} µs/request, ${rate} requests/s`);
      }
    }
  } finally {
    for (const b of balancers) b.child.kill('SIGTERM');
    backend.server.closeAllConnections();
    backend.server.close();
  }
  const medians = balancers.map((b) => median(b.perRequestUs));
  balancers.forEach((b, i) => console.log(`median ${b.dist}: ${itemAt(medians, i).toFixed(1)} µs/request`));
  if (medians.length === 2) console.log(`ratio second/first: ${(itemAt(medians, 1) / itemAt(medians, 0)).toFixed(3)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
