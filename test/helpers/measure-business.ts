import { readFileSync } from 'node:fs';
import { formatCents, parseBalance } from '../../common/money';
import { BankCallResult, callBank } from './bank-call';
import { startBankFixture } from './bank-fixture';

/**
 * A quick measurement of ONE business server (not the real bench, scripts/bench.ts): a fresh
 * data server + one business server, K accounts, C concurrent callers doing random transfers
 * for T seconds. Prints transfers/s, latency percentiles, faults by code, CPU per process, and
 * checks that the total of all balances did not change.
 *
 *   node dist/test/helpers/measure-business.js [concurrency=32] [seconds=10] [accounts=1000] [businessServers=1]
 *
 * With several business servers, caller i talks to server i mod n directly (no balancer), so
 * a few accounts (`accounts` = 5) show contention across servers in the data tier's lock queue.
 */
const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function selfCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

async function main(): Promise<void> {
  const concurrency = Number(process.argv[2] ?? '32');
  const seconds = Number(process.argv[3] ?? '10');
  const accountCount = Number(process.argv[4] ?? '1000');
  const businessCount = Number(process.argv[5] ?? '1');
  const fixture = await startBankFixture({ clients: 1, businessServers: businessCount, logLevel: 'error' });
  try {
    const url = fixture.business[0]!.url;
    const client = fixture.clients[0]!;
    const headers = (requestId: string) => ({ authToken: client.authToken, clientId: client.clientId, requestId });
    const accounts: string[] = [];
    for (let i = 0; i < accountCount; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, accountCount - i) }, (_, j) =>
          callBank(url, 'OpenAccount', [['initialDeposit', '1000.00']], headers(`m-open-${i + j}`), {
            timeoutMs: 10_000,
          }),
        ),
      );
      for (const r of batch) accounts.push(r.body!['accountId'] as string);
    }
    const totalBefore = accounts.length * 100_000;

    const urls = fixture.business.map((b) => b.url);
    const businessCpu = (): number => fixture.business.reduce((sum, b) => sum + cpuSeconds(b.pid), 0);
    const cpuBefore = { data: cpuSeconds(fixture.data.pid), business: businessCpu(), load: selfCpuSeconds() };
    const latenciesMs: number[] = [];
    const faults = new Map<string, number>();
    let ok = 0;
    let sequence = 0;
    const startedMs = Date.now();
    const endMs = startedMs + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, caller) => {
        const target = urls[caller % urls.length]!;
        while (Date.now() < endMs) {
          const from = accounts[Math.floor(Math.random() * accounts.length)]!;
          let to = from;
          while (to === from) to = accounts[Math.floor(Math.random() * accounts.length)]!;
          const t0 = performance.now();
          let result: BankCallResult;
          try {
            result = await callBank(
              target,
              'Transfer',
              [
                ['fromAccountId', from],
                ['toAccountId', to],
                ['amount', '1.00'],
              ],
              headers(`m-x-${sequence++}`),
              { timeoutMs: 10_000 },
            );
          } catch {
            faults.set('NETWORK', (faults.get('NETWORK') ?? 0) + 1);
            continue;
          }
          latenciesMs.push(performance.now() - t0);
          if (result.body !== undefined) ok++;
          else faults.set(result.fault?.code ?? 'UNKNOWN', (faults.get(result.fault?.code ?? 'UNKNOWN') ?? 0) + 1);
        }
      }),
    );
    const elapsedS = (Date.now() - startedMs) / 1000;
    const cpu = {
      data: cpuSeconds(fixture.data.pid) - cpuBefore.data,
      business: businessCpu() - cpuBefore.business,
      load: selfCpuSeconds() - cpuBefore.load,
    };
    latenciesMs.sort((a, b) => a - b);

    let totalAfter = 0;
    for (const account of accounts) {
      const r = await callBank(url, 'GetBalance', [['accountId', account]], headers(`m-bal-${account}`), {
        timeoutMs: 10_000,
      });
      totalAfter += parseBalance(r.body!['balance']);
    }
    console.log(
      JSON.stringify(
        {
          concurrency,
          seconds: elapsedS,
          accounts: accounts.length,
          businessServers: businessCount,
          transfersOk: ok,
          transfersPerS: Math.round(ok / elapsedS),
          p50Ms: Number(percentile(latenciesMs, 0.5).toFixed(1)),
          p99Ms: Number(percentile(latenciesMs, 0.99).toFixed(1)),
          faults: Object.fromEntries(faults),
          cpuCores: {
            data: Number((cpu.data / elapsedS).toFixed(2)),
            business: Number((cpu.business / elapsedS).toFixed(2)),
            loadGenerator: Number((cpu.load / elapsedS).toFixed(2)),
          },
          businessCpuUsPerTransfer: Math.round((cpu.business * 1e6) / Math.max(ok, 1)),
          totalBefore: formatCents(totalBefore),
          totalAfter: formatCents(totalAfter),
          conserved: totalBefore === totalAfter,
        },
        null,
        2,
      ),
    );
  } finally {
    await fixture.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
