import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { defined, itemAt } from '../common/defined';

/**
 * The per-operation log line, by hand: `npm run build --silent && node
 * dist/scripts/log-line-bench.js [baseline/logger.js]`. A process logs LINES lines of the shape
 * soap-host writes per operation (four per event-loop turn, as a transfer's tiers do at info)
 * through common/logger.ts, its stderr either
 *
 *   - file:  a file (what `npm start`'s children do now: the launcher's stderr, inherited), or
 *   - relay: a pipe to a relay process that prefixes each line and writes it to its stderr, a
 *            pipe to this process, which writes it to a file (the launcher's relay before, and
 *            the bench's cluster.log);
 *
 * and prints the CPU µs per line of the writer, of the relay and of this process (its share of
 * the copy to the file), medians over interleaved rounds. CPU time, not wall time: the machine
 * is shared. With a baseline module (another commit's common/logger.ts compiled to a temp dir,
 * as for scripts/xml-reader-bench.ts) both loggers are measured in the same rounds.
 */
const LINES = 40_000;
const LINES_PER_TURN = 4;
const ROUNDS = 7;

interface Cpu {
  readonly writerUs: number;
  readonly relayUs: number;
  readonly copyUs: number;
}

function cpuUs(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

/** The child: LINES lines through the logger module, then its own CPU µs on stdout. */
async function writer(modulePath: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module chosen at run time (a path on the command line)
  const { createLogger } = require(resolve(modulePath)) as typeof import('../common/logger');
  const logger = createLogger({ service: 'bank-b1', level: 'info' });
  const before = process.cpuUsage();
  for (let i = 0; i < LINES; i += LINES_PER_TURN) {
    for (let j = 0; j < LINES_PER_TURN; j++)
      logger.info('operation', {
        request_id: `bench5l3x-${i}-${j}`,
        principal: 'bench3',
        operation: 'Transfer',
        accounts: '17,912',
        amount_cents: 731,
        outcome: 'ok',
        duration_ms: 12,
      });
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setImmediate(r));
  process.stdout.write(String(cpuUs(process.cpuUsage(before))) + '\n');
}

/** The old launcher's relay: the writer's stderr line by line, prefixed, to our stderr. */
async function relay(modulePath: string): Promise<void> {
  const before = process.cpuUsage();
  const child = spawn(process.execPath, [__filename, '--writer', modulePath], { stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write('[b1] ' + line + '\n'));
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => child.once('close', r));
  process.stdout.write(JSON.stringify({ writerUs: Number(out), relayUs: cpuUs(process.cpuUsage(before)) }) + '\n');
}

async function measure(modulePath: string, path: 'file' | 'relay', dir: string): Promise<Cpu> {
  const fd = openSync(join(dir, `${path}.log`), 'w');
  try {
    if (path === 'file') {
      const child = spawn(process.execPath, [__filename, '--writer', modulePath], { stdio: ['ignore', 'pipe', fd] });
      if (child.stdout === null) throw new Error('no stdout');
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await new Promise((r) => child.once('close', r));
      return { writerUs: Number(out), relayUs: 0, copyUs: 0 };
    }
    const before = process.cpuUsage();
    const child = spawn(process.execPath, [__filename, '--relay', modulePath], { stdio: ['ignore', 'pipe', 'pipe'] });
    const { createWriteStream } = await import('node:fs');
    const file = createWriteStream('', { fd, autoClose: false });
    child.stderr.pipe(file);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => child.once('close', r));
    const copyUs = cpuUs(process.cpuUsage(before));
    const r = JSON.parse(out) as { writerUs: number; relayUs: number };
    return { writerUs: r.writerUs, relayUs: r.relayUs, copyUs };
  } finally {
    closeSync(fd);
  }
}

const median = (xs: number[]): number =>
  itemAt(
    [...xs].sort((a, b) => a - b),
    Math.floor(xs.length / 2),
  );

async function main(): Promise<void> {
  const modules: [string, string][] = [['this build', join(__dirname, '..', 'common', 'logger.js')]];
  if (process.argv[2] !== undefined) modules.push(['baseline', process.argv[2]]);
  const dir = mkdtempSync(join(tmpdir(), 'distbank-logbench-'));
  const results = new Map<string, Cpu[]>();
  try {
    for (let round = 0; round < ROUNDS; round++)
      for (const [name, path] of modules)
        for (const via of ['file', 'relay'] as const) {
          const key = `${name}, ${via}`;
          results.set(key, [...(results.get(key) ?? []), await measure(path, via, dir)]);
        }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `${LINES} lines, ${LINES_PER_TURN} per event-loop turn, median of ${ROUNDS} rounds; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\nCPU µs per line:\n`,
  );
  for (const [key, cpus] of results) {
    const w = median(cpus.map((c) => c.writerUs)) / LINES;
    const r = median(cpus.map((c) => c.relayUs)) / LINES;
    const c = median(cpus.map((x) => x.copyUs)) / LINES;
    const total = median(cpus.map((x) => x.writerUs + x.relayUs + x.copyUs)) / LINES;
    process.stdout.write(
      `  ${key.padEnd(20)} writer ${w.toFixed(1).padStart(5)}  relay ${r.toFixed(1).padStart(5)}  copy to file ${c.toFixed(1).padStart(5)}  total ${total.toFixed(1).padStart(5)}\n`,
    );
  }
}

const role = process.argv[2];
const modulePath = (): string => defined(process.argv[3], 'the module path argument');
const run = role === '--writer' ? writer(modulePath()) : role === '--relay' ? relay(modulePath()) : main();
run.catch((err: unknown) => {
  process.stderr.write(`log-line-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
