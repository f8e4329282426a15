import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { readClusterFile } from '../../lib/bench-cluster';
import { NemesisRecord } from '../history';
import { SeededRandom } from '../../../common/seeded-random';
import { host, Topology } from './topology';

/**
 * Network nemeses of hosts mode, each for one window and then healed:
 * - partition-business-data: one business server and the data server cannot reach each other;
 * - partition-balancer-business: the balancer and one business server cannot;
 * - partition-data-answers: one direction only — the data server's packets to one business
 *   server are dropped (its requests still arrive: commits happen, answers are lost);
 * - loss-data: the data server loses a share of its packets both ways (nftables `numgen`);
 * - latency-data: `tc netem` delay on the data server's link (needs the kernel's sch_netem);
 * - skew-data: the data server restarted with its clock ahead (libfaketime), then restarted
 *   back on true time.
 * Rules live in one nftables table per namespace (`inet distbank_chaos`), deleted to heal.
 */
export const NET_NEMESES = [
  'partition-business-data',
  'partition-balancer-business',
  'partition-data-answers',
  'loss-data',
  'latency-data',
  'skew-data',
] as const;
export type NetNemesis = (typeof NET_NEMESES)[number];

export interface NetContext {
  readonly topology: Topology;
  readonly clusterDir: string;
  readonly rng: SeededRandom;
  readonly windowMs: number;
  readonly lossPercent: number;
  readonly latencyMs: number;
  readonly skewSeconds: number;
  /** The file libfaketime reads the data server's offset from (FAKETIME_TIMESTAMP_FILE). */
  readonly skewFile: string;
  readonly recoverMsMax: number;
  readonly clock: () => number;
}

const TABLE = 'distbank_chaos';

function inNetns(netns: string, command: readonly string[]): void {
  execFileSync('ip', ['netns', 'exec', netns, ...command], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function nft(netns: string, script: string): void {
  execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], {
    input: script,
    stdio: ['pipe', 'ignore', 'pipe'],
    timeout: 10_000,
  });
}

function dropRules(netns: string, rules: { input?: string; output?: string }): void {
  nft(
    netns,
    `table inet ${TABLE} {
  chain input { type filter hook input priority 0; policy accept; ${rules.input ?? ''} }
  chain output { type filter hook output priority 0; policy accept; ${rules.output ?? ''} }
}\n`,
  );
}

function heal(netns: string): void {
  try {
    inNetns(netns, ['nft', 'delete', 'table', 'inet', TABLE]);
  } catch {
    // no table: nothing to heal
  }
}

/** True when this kernel has tc netem (many VM kernels ship without sch_netem). */
export function netemAvailable(topology: Topology): boolean {
  const ns = host(topology, 'client').netns;
  try {
    inNetns(ns, ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
    inNetns(ns, ['tc', 'qdisc', 'del', 'dev', 'lo', 'root']);
    return true;
  } catch {
    return false;
  }
}

async function killDataAndAwaitRestart(ctx: NetContext): Promise<void> {
  const before = readClusterFile(ctx.clusterDir)?.pids.get('data');
  if (before === undefined) throw new Error('no data server pid in cluster.json');
  process.kill(before, 'SIGKILL');
  const deadline = ctx.clock() + ctx.recoverMsMax;
  while (readClusterFile(ctx.clusterDir)?.pids.get('data') === before) {
    if (ctx.clock() > deadline) throw new Error('data server not restarted in time');
    await sleep(100);
  }
}

/** Applies the fault, holds it for the window, heals; returns the healed-at time. */
async function apply(ctx: NetContext, name: NetNemesis): Promise<string> {
  const t = ctx.topology;
  const data = host(t, 'data');
  const business = ctx.rng.pick(t.hosts.filter((h) => /^b\d+$/.test(h.name)));
  const balancer = host(t, 'balancer');
  const hold = async (netns: string, target: string): Promise<string> => {
    try {
      await sleep(ctx.windowMs);
    } finally {
      heal(netns);
    }
    return target;
  };
  switch (name) {
    case 'partition-business-data':
      dropRules(business.netns, { input: `ip saddr ${data.address} drop;`, output: `ip daddr ${data.address} drop;` });
      return hold(business.netns, `${business.name}|data`);
    case 'partition-balancer-business':
      dropRules(business.netns, {
        input: `ip saddr ${balancer.address} drop;`,
        output: `ip daddr ${balancer.address} drop;`,
      });
      return hold(business.netns, `balancer|${business.name}`);
    case 'partition-data-answers':
      dropRules(data.netns, { output: `ip daddr ${business.address} drop;` });
      return hold(data.netns, `data->${business.name}`);
    case 'loss-data': {
      const rule = `numgen random mod 100 < ${ctx.lossPercent} drop;`;
      dropRules(data.netns, { input: rule, output: rule });
      return hold(data.netns, `data ${ctx.lossPercent}%`);
    }
    case 'latency-data':
      inNetns(data.netns, ['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', `${ctx.latencyMs}ms`]);
      try {
        await sleep(ctx.windowMs);
      } finally {
        inNetns(data.netns, ['tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
      }
      return `data +${ctx.latencyMs}ms`;
    case 'skew-data': {
      const sign = ctx.rng.next() < 0.5 ? '-' : '+';
      writeFileSync(ctx.skewFile, `${sign}${ctx.skewSeconds}s\n`);
      try {
        await killDataAndAwaitRestart(ctx);
        await sleep(ctx.windowMs);
      } finally {
        writeFileSync(ctx.skewFile, '+0s\n');
      }
      await killDataAndAwaitRestart(ctx);
      return `data ${sign}${ctx.skewSeconds}s`;
    }
  }
}

export async function strikeNet(ctx: NetContext, name: NetNemesis): Promise<NemesisRecord> {
  const startMs = ctx.clock();
  try {
    const target = await apply(ctx, name);
    return { type: 'nemesis', name, target, startMs, endMs: ctx.clock() };
  } catch (err) {
    return { type: 'nemesis', name, target: '?', startMs, endMs: ctx.clock(), error: (err as Error).message };
  }
}
