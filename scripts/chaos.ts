import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { makeDirectory } from '../common/make-directory';
import { join } from 'node:path';
import { writeHistory } from './chaos/history';
import { cleanupLeftovers, runHostsOuter } from './chaos/hosts/outer';
import { loadChaosOptions, USAGE } from './chaos/options';
import { renderReport } from './chaos/report-html';
import { HostsSetup, RunResult, runChaos, startChaosCluster } from './chaos/run';
import { buckets } from './chaos/timeline';

/**
 * `npm run chaos`: a Jepsen-style run against a fresh local cluster — a seeded workload with
 * request-id retries, scheduled nemeses, recovery, replay of the indeterminate requests, and a
 * checker over the history and the ledger. Prints the verdict; `--report DIR` also writes the
 * history, the ledger, the verdict and an HTML timeline. See scripts/README.md.
 */
function out(line: string): void {
  process.stdout.write(line + '\n');
}

function writeReport(dir: string, result: RunResult, options: Readonly<Record<string, unknown>>): void {
  makeDirectory(dir);
  writeHistory(join(dir, 'history.jsonl'), result.history);
  writeFileSync(join(dir, 'ledger.json'), JSON.stringify(result.ledger, null, 1));
  writeFileSync(
    join(dir, 'verdict.json'),
    JSON.stringify({ ...result.verdict, availability: result.availability }, null, 2),
  );
  writeFileSync(
    join(dir, 'report.html'),
    renderReport({
      title: `distbank chaos run, seed ${String(options.seed)}`,
      verdict: result.verdict,
      buckets: buckets(result.history),
      nemeses: result.history.nemeses,
      availability: result.availability,
      options,
    }),
  );
}

function summarize(result: RunResult): void {
  const v = result.verdict;
  const c = v.counts;
  out(
    `ops ${c.ops}: ok ${c.ok}, definite faults ${c.failed}, indeterminate ${c.indeterminate} (replayed: applied once ${c.indeterminateApplied}, not applied ${c.indeterminateNotApplied}, unresolved ${c.unresolved})`,
  );
  out(`money delta ${v.moneyDeltaCents} cents; double applies ${c.doubleApplies}`);
  for (const a of result.availability) {
    const s = (ms: number | undefined): string => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(2)} s`);
    out(
      `  ${a.nemesis} ${a.target} at ${s(a.startMs)}: first success after ${s(a.firstSuccessMs)}, half rate after ${s(a.halfRateMs)} (rate before ${a.rateBeforePerSecond.toFixed(0)}/s)`,
    );
  }
  out(`verdict: ${v.valid ? 'VALID' : `INVALID (${v.anomalies.length} anomalies)`}`);
  for (const a of v.anomalies.slice(0, 20))
    out(`  ${a.kind} ${a.accountId ?? ''} ${a.transactionId ?? ''} ${a.detail}`);
}

async function main(): Promise<number> {
  let options;
  try {
    options = loadChaosOptions(process.env, process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`chaos: ${(err as Error).message}\n(npm run chaos -- --help)\n`);
    return 2;
  }
  if (options.help) {
    out(USAGE);
    return 0;
  }
  if (options.hostsCleanup) return cleanupLeftovers(out);
  if (options.hosts && options.hostsInnerFile === undefined)
    return runHostsOuter(options, process.argv.slice(2), __filename);
  const hosts =
    options.hostsInnerFile === undefined
      ? undefined
      : (JSON.parse(readFileSync(options.hostsInnerFile, 'utf8')) as HostsSetup);
  const cluster = await startChaosCluster(options, hosts);
  out(
    `cluster: ${cluster.url} (logs: ${cluster.dir}/cluster.log)${hosts === undefined ? '' : `; hosts mode (namespaces dbk${hosts.topology.tag}-*): ${hosts.topology.hosts.map((h) => `${h.name}=${h.address}`).join(' ')}`}`,
  );
  try {
    const result = await runChaos(options, cluster, out, hosts);
    summarize(result);
    const printable = { ...options, childEnv: undefined };
    if (options.reportDir !== undefined) {
      writeReport(options.reportDir, result, printable);
      out(`report: ${join(options.reportDir, 'report.html')}`);
    }
    return result.verdict.valid ? 0 : 1;
  } finally {
    await cluster.stop();
    if (!options.keep) rmSync(cluster.dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
