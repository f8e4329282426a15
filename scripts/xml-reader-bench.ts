import { resolve } from 'node:path';
import { BANK_NAMESPACE, DATA_NAMESPACE, SOAP11_ENVELOPE_NS as SOAP } from '../common/contract';
import * as current from '../common/xml-reader';
import { defined, itemAt } from '../common/defined';
import { SAMPLE_TRANSFER_REQUEST } from './lib/sample-transfer';

/**
 * Micro-benchmark of common/xml-reader.ts, run by hand (not a test):
 *   node dist/scripts/xml-reader-bench.js [baseline-xml-reader.js]
 * Parses three typical messages (a bank Transfer request, a data-tier Read answer for two
 * accounts, a 100-entry statement) in interleaved rounds and prints the median CPU µs per parse; with a
 * baseline module (e.g. the reader of another commit, compiled to a temp dir) it prints both
 * and the ratio, measured in the same run so machine noise hits both alike.
 */
type Parse = (xml: string) => unknown;

const TRANSFER = SAMPLE_TRANSFER_REQUEST;

function account(id: number): string {
  return `<account><accountId>${id}</accountId><ownerId>alice</ownerId><balance>1000.00</balance><version>17</version><locked>false</locked></account>`;
}
const READ_ANSWER =
  '<?xml version="1.0" encoding="utf-8"?>' +
  `<soap:Envelope xmlns:soap="${SOAP}"><soap:Body><ReadResponse xmlns="${DATA_NAMESPACE}">` +
  `${account(1001)}${account(1002)}</ReadResponse></soap:Body></soap:Envelope>`;

function entry(i: number): string {
  return (
    `<entry><transactionId>t-${i}-0123456789abcdef</transactionId><kind>transfer-out</kind><amount>-1.25</amount>` +
    `<balanceAfter>${1000 - i}.00</balanceAfter><counterpartyAccountId>1002</counterpartyAccountId><at>2026-12-01T08:00:00.000Z</at></entry>`
  );
}
const STATEMENT =
  '<?xml version="1.0" encoding="utf-8"?>' +
  `<soap:Envelope xmlns:soap="${SOAP}"><soap:Body><GetStatementResponse xmlns="${BANK_NAMESPACE}">` +
  `<accountId>1001</accountId><balance>900.00</balance>${Array.from({ length: 100 }, (_, i) => entry(i)).join('')}` +
  '</GetStatementResponse></soap:Body></soap:Envelope>';

const MESSAGES: readonly (readonly [string, string, number])[] = [
  ['Transfer request', TRANSFER, 10_000],
  ['Read answer, 2 accounts', READ_ANSWER, 10_000],
  ['statement, 100 entries', STATEMENT, 500],
];
const ROUNDS = 41;

/** CPU µs per parse (process CPU time, not wall time: the machine is shared). */
function timeUs(parse: Parse, xml: string, iterations: number): number {
  const started = process.cpuUsage();
  for (let i = 0; i < iterations; i++) parse(xml);
  const used = process.cpuUsage(started);
  return (used.user + used.system) / iterations;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return itemAt(sorted, Math.floor(sorted.length / 2));
}

function main(): void {
  const readers: [string, Parse][] = [['current', current.parseXml]];
  const baselinePath = process.argv[2];
  if (baselinePath !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module chosen at run time (a path on the command line)
    const baseline = require(resolve(baselinePath)) as { parseXml: Parse };
    readers.push(['baseline', baseline.parseXml]);
  }
  for (const [label, xml, iterations] of MESSAGES) {
    const samples = new Map<string, number[]>(readers.map(([name]) => [name, []]));
    for (const [, parse] of readers) timeUs(parse, xml, iterations); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order, so neither reader always runs right after the other.
      const order = round % 2 === 0 ? readers : [...readers].reverse();
      for (const [name, parse] of order) defined(samples.get(name), name).push(timeUs(parse, xml, iterations));
    }
    const us = readers.map(([name]) => [name, median(defined(samples.get(name), name))] as const);
    const line = us.map(([name, value]) => `${name} ${value.toFixed(2)} µs`).join(', ');
    const ratio = us.length === 2 ? `, current/baseline ${(itemAt(us, 0)[1] / itemAt(us, 1)[1]).toFixed(3)}` : '';
    console.log(`${label} (${xml.length} chars): ${line}${ratio}`);
  }
}

main();
