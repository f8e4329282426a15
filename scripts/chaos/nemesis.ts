import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { readClusterFile } from '../lib/bench-cluster';
import { NemesisRecord } from './history';
import { SeededRandom } from '../../common/seeded-random';
import { itemAt } from '../../common/defined';

/**
 * Process-level nemeses over a cluster started by scripts/cluster.ts: SIGKILL (the launcher's
 * supervisor restarts the process on the same port) and SIGSTOP/SIGCONT of each tier, all
 * business servers at once, and a PostgreSQL stop/start through commands the operator gives.
 * Targets are looked up in cluster.json at the moment of the fault (pids change on restart).
 */
export const PROCESS_NEMESES = [
  'kill-data',
  'pause-data',
  'kill-business',
  'pause-business',
  'kill-all-business',
  'kill-balancer',
  'pause-balancer',
  'restart-pg',
] as const;
export type ProcessNemesis = (typeof PROCESS_NEMESES)[number];

export interface NemesisContext {
  readonly clusterDir: string;
  readonly rng: SeededRandom;
  /** How long a pause (or a PostgreSQL outage) lasts. */
  readonly pauseMs: number;
  /** How long to wait for the supervisor to bring a killed process back. */
  readonly recoverMsMax: number;
  readonly pgStopCommand: string | undefined;
  readonly pgStartCommand: string | undefined;
  readonly clock: () => number;
}

const run = promisify(execFile);
const POLL_MS = 100;

function processTargets(ctx: NemesisContext, tier: 'data' | 'business' | 'balancer'): [string, number][] {
  const info = readClusterFile(ctx.clusterDir);
  if (info === undefined) throw new Error('cluster.json not found');
  // Data servers are data, data2, … (scripts/lib/cluster-config.ts dataServerName).
  const matches = (name: string): boolean =>
    tier === 'data' ? /^data[0-9]*$/.test(name) : tier === 'business' ? name.startsWith('business') : name === tier;
  return [...info.pids].filter(([name]) => matches(name));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    throw new Error(`${sig} to ${pid}: ${(err as Error).message}`);
  }
}

/** Waits until cluster.json names a new live pid for `name` (the supervisor restarted it). */
async function awaitRestart(ctx: NemesisContext, name: string, oldPid: number): Promise<void> {
  const deadline = ctx.clock() + ctx.recoverMsMax;
  while (ctx.clock() < deadline) {
    const pid = readClusterFile(ctx.clusterDir)?.pids.get(name);
    if (pid !== undefined && pid !== oldPid) return;
    await sleep(POLL_MS);
  }
  throw new Error(`${name} not restarted within ${ctx.recoverMsMax} ms`);
}

async function kill(ctx: NemesisContext, targets: readonly [string, number][]): Promise<void> {
  for (const [, pid] of targets) signal(pid, 'SIGKILL');
  await Promise.all(targets.map(([name, pid]) => awaitRestart(ctx, name, pid)));
}

async function pause(ctx: NemesisContext, targets: readonly [string, number][]): Promise<void> {
  for (const [, pid] of targets) signal(pid, 'SIGSTOP');
  try {
    await sleep(ctx.pauseMs);
  } finally {
    for (const [, pid] of targets) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone meanwhile: the supervisor restarts it
      }
    }
  }
}

async function restartPostgres(ctx: NemesisContext): Promise<void> {
  if (ctx.pgStopCommand === undefined || ctx.pgStartCommand === undefined)
    throw new Error('restart-pg needs --pg-stop-cmd and --pg-start-cmd');
  await run('/bin/sh', ['-c', ctx.pgStopCommand], { timeout: 60_000 });
  await sleep(ctx.pauseMs);
  await run('/bin/sh', ['-c', ctx.pgStartCommand], { timeout: 60_000 });
}

function targetOf(ctx: NemesisContext, name: ProcessNemesis): [string, number][] {
  switch (name) {
    case 'kill-data':
    case 'pause-data':
      return [ctx.rng.pick(processTargets(ctx, 'data'))];
    case 'kill-business':
    case 'pause-business':
      return [ctx.rng.pick(processTargets(ctx, 'business'))];
    case 'kill-all-business':
      return processTargets(ctx, 'business');
    case 'kill-balancer':
    case 'pause-balancer':
      return processTargets(ctx, 'balancer');
    case 'restart-pg':
      return [];
  }
}

/** Runs one nemesis to its end (the process back, the pause over) and says what it did. */
export async function strike(ctx: NemesisContext, name: ProcessNemesis): Promise<NemesisRecord> {
  const startMs = ctx.clock();
  let target = name === 'restart-pg' ? 'postgres' : '?';
  try {
    const targets = targetOf(ctx, name);
    if (name !== 'restart-pg') target = targets.map(([t]) => t.replace(/^business /, '')).join(',');
    if (name === 'restart-pg') await restartPostgres(ctx);
    else if (name.startsWith('kill')) await kill(ctx, targets);
    else await pause(ctx, targets);
    return { type: 'nemesis', name, target, startMs, endMs: ctx.clock() };
  } catch (err) {
    return { type: 'nemesis', name, target, startMs, endMs: ctx.clock(), error: (err as Error).message };
  }
}

/**
 * Every `everyMs`, the next nemesis of the list (in a seeded order), until `endMs`; one at a
 * time, each run to its end before the next waits its turn.
 */
export async function runSchedule<N extends string>(
  ctx: Pick<NemesisContext, 'rng' | 'clock' | 'pauseMs'>,
  names: readonly N[],
  everyMs: number,
  endMs: number,
  strikeOne: (name: N) => Promise<NemesisRecord>,
  onRecord: (r: NemesisRecord) => void,
): Promise<NemesisRecord[]> {
  const records: NemesisRecord[] = [];
  const order = [...names];
  for (let i = order.length - 1; i > 0; i--) {
    const j = ctx.rng.int(0, i);
    [order[i], order[j]] = [itemAt(order, j), itemAt(order, i)];
  }
  for (let i = 0; names.length > 0; i++) {
    await sleep(everyMs);
    if (ctx.clock() + ctx.pauseMs >= endMs) break;
    const record = await strikeOne(itemAt(order, i % order.length));
    records.push(record);
    onRecord(record);
  }
  return records;
}
