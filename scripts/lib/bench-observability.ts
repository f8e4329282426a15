import { spawn } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';

/**
 * `npm run bench -- --observability [--rounds N] [other bench options]`: the cost of looking, in
 * one run. The same bench (fresh cluster each time, metrics and trace rings always on) at log
 * level warn and at the default level info, alternated (warn, info, warn, info, …) so that a
 * drift in the machine's load hits both alike. Prints each run's transfers/s, CPU µs per
 * transfer (all processes), log lines per transfer and load average, then two ratios: of the
 * mean transfers/s, and of the CPU per transfer (warn ÷ info: what the throughput ratio would be
 * on a machine the bench has to itself, where the 2 cores are the bound; steadier when shared).
 * The goal (issue "the control plane"): info ≥ 0.9 × warn.
 */
const ROUNDS_DEFAULT = 2;
const ROUNDS_MAX = 20;
const RATIO_GOAL = 0.9;
export const SUMMARY_PREFIX = 'bench-summary ';

/** The last line of a bench run (scripts/bench.ts), read back here. */
export interface BenchSummary {
  readonly logLevel: string;
  readonly transfersPerS: number;
  readonly cpuUsPerTransfer: number;
  readonly logLinesPerTransfer: number | undefined;
  /** 1-minute load average right before and right after the measured run. */
  readonly loadAverage: readonly [number, number];
  readonly invariantOk: boolean;
}

type Level = 'warn' | 'info';

function runBench(args: readonly string[], logLevel: Level): Promise<BenchSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, '..', 'bench.js'), ...args, '--log-level', logLevel], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      process.stdout.write(chunk.toString('utf8').replace(/^(?=.)/gm, `[${logLevel}] `));
    });
    child.once('exit', (code) => {
      const line = output.split('\n').find((l) => l.startsWith(SUMMARY_PREFIX));
      if (code !== 0 || line === undefined) reject(new Error(`bench at ${logLevel} failed (exit ${String(code)})`));
      else resolve(JSON.parse(line.slice(SUMMARY_PREFIX.length)) as BenchSummary);
    });
  });
}

/** `--rounds N` out of the arguments (the rest go to each bench run). */
function roundsFrom(args: readonly string[]): { rounds: number; rest: string[] } {
  const i = args.indexOf('--rounds');
  if (i === -1) return { rounds: ROUNDS_DEFAULT, rest: [...args] };
  const rounds = Number(args[i + 1]);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > ROUNDS_MAX)
    throw new Error(`--rounds must be an integer from 1 to ${ROUNDS_MAX}`);
  return { rounds, rest: [...args.slice(0, i), ...args.slice(i + 2)] };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function runLine(r: BenchSummary): string {
  const lines = r.logLinesPerTransfer === undefined ? 'n/a' : r.logLinesPerTransfer.toFixed(2);
  return (
    `  ${r.logLevel.padEnd(5)} ${r.transfersPerS.toFixed(0).padStart(6)} transfers/s  ` +
    `${r.cpuUsPerTransfer.toFixed(0).padStart(5)} µs CPU/transfer  ${lines.padStart(5)} log lines/transfer  ` +
    `load ${r.loadAverage.map((l) => l.toFixed(1)).join(' → ')}${r.invariantOk ? '' : '  MONEY INVARIANT VIOLATED'}`
  );
}

export async function benchObservability(args: readonly string[]): Promise<void> {
  const { rounds, rest } = roundsFrom(args);
  const runs: BenchSummary[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const level of ['warn', 'info'] as const) runs.push(await runBench(rest, level));
  }
  const of = (level: Level): BenchSummary[] => runs.filter((r) => r.logLevel === level);
  const rateRatio = mean(of('info').map((r) => r.transfersPerS)) / mean(of('warn').map((r) => r.transfersPerS));
  const cpuRatio = mean(of('warn').map((r) => r.cpuUsPerTransfer)) / mean(of('info').map((r) => r.cpuUsPerTransfer));
  const verdict = (ratio: number): string =>
    `${ratio.toFixed(3)} (goal >= ${RATIO_GOAL}: ${ratio >= RATIO_GOAL ? 'met' : 'NOT met'})`;
  process.stdout.write(
    [
      '',
      `cost of observability (metrics + trace rings on in every run; ${os.cpus().length} cores, node ${process.version}):`,
      ...runs.map(runLine),
      `  info / warn, transfers/s (means): ${verdict(rateRatio)}`,
      `  warn / info, CPU per transfer (means): ${verdict(cpuRatio)}`,
      '',
    ].join('\n'),
  );
  if (runs.some((r) => !r.invariantOk)) process.exitCode = 2;
}
