import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * `npm run bench -- --observability [other bench options]`: the cost of looking, in one run.
 * The same bench (fresh cluster each time, metrics and trace rings always on) at log level warn
 * and at the default level info, alternated (warn, info, warn, info) so that a drift in the
 * machine's load hits both alike; prints each run's transfers/s and the ratio of the means.
 * The goal (issue "the control plane"): info ≥ 0.9 × warn.
 */
const ROUNDS = 2;
const RATIO_GOAL = 0.9;

function runBench(args: readonly string[], logLevel: string): Promise<number> {
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
      const rate = /^transfers\/s \(successful\): ([0-9.]+)/m.exec(output)?.[1];
      if (code !== 0 || rate === undefined) reject(new Error(`bench at ${logLevel} failed (exit ${code})`));
      else resolve(Number(rate));
    });
  });
}

export async function benchObservability(args: readonly string[]): Promise<void> {
  const rates: Record<'warn' | 'info', number[]> = { warn: [], info: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const level of ['warn', 'info'] as const) rates[level].push(await runBench(args, level));
  }
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ratio = mean(rates.info) / mean(rates.warn);
  process.stdout.write(
    [
      '',
      'cost of observability (metrics + trace rings on in every run):',
      `  log level warn: ${rates.warn.map((r) => r.toFixed(0)).join(', ')} transfers/s (mean ${mean(rates.warn).toFixed(0)})`,
      `  log level info: ${rates.info.map((r) => r.toFixed(0)).join(', ')} transfers/s (mean ${mean(rates.info).toFixed(0)})`,
      `  info / warn = ${ratio.toFixed(3)} (goal >= ${RATIO_GOAL}: ${ratio >= RATIO_GOAL ? 'met' : 'NOT met'})`,
      '',
    ].join('\n'),
  );
}
