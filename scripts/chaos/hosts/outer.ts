import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChaosOptions } from '../options';
import { HostsSetup } from '../run';
import { netemAvailable } from './net-nemesis';
import { cleanupAll, createTopology, destroyTopology, host, hostsModeUnavailable } from './topology';

/**
 * The outer half of hosts mode, in the root namespace: makes the namespaces, runs the whole
 * chaos run again as a child inside the client namespace (so the load, the launcher and the
 * checker reach the tiers over the bridge), and removes everything when it ends — also on
 * Ctrl-C or SIGTERM, which it passes on to the inner run first.
 */
const INNER_STOP_GRACE_MS = 20_000;

export function cleanupLeftovers(out: (line: string) => void): number {
  const unavailable = hostsModeUnavailable();
  if (unavailable !== undefined) {
    process.stderr.write(`chaos: ${unavailable}\n`);
    return 3;
  }
  const tags = cleanupAll();
  out(tags.length === 0 ? 'no leftover namespaces' : `removed the namespaces of runs ${tags.join(', ')}`);
  return 0;
}

export async function runHostsOuter(
  options: ChaosOptions,
  argv: readonly string[],
  chaosScript: string,
): Promise<number> {
  const unavailable = hostsModeUnavailable();
  if (unavailable !== undefined) {
    process.stderr.write(`chaos: ${unavailable}\n`);
    return 3;
  }
  const topology = createTopology(options.businessCount);
  const dir = mkdtempSync(join(tmpdir(), 'distbank-chaos-hosts-'));
  let child: ReturnType<typeof spawn> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (child === undefined) return;
    child.kill(signal);
    setTimeout(() => child?.kill('SIGKILL'), INNER_STOP_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (options.nemeses.includes('latency-data') && !netemAvailable(topology)) {
      process.stderr.write(
        'chaos: latency-data needs tc netem, and this kernel has no sch_netem (use loss-data, or a kernel with netem)\n',
      );
      return 2;
    }
    const setup: HostsSetup = { topology, skewFile: join(dir, 'faketime') };
    writeFileSync(setup.skewFile, '+0s\n');
    const setupFile = join(dir, 'hosts.json');
    writeFileSync(setupFile, JSON.stringify(setup));
    const innerArgs = argv.filter((a) => a !== '--hosts');
    const inner = spawn(
      'ip',
      [
        'netns',
        'exec',
        host(topology, 'client').netns,
        process.execPath,
        chaosScript,
        ...innerArgs,
        '--hosts-inner',
        setupFile,
      ],
      { stdio: 'inherit' },
    );
    child = inner;
    const code = await new Promise<number>((resolve) =>
      inner.once('exit', (c, s) => resolve(c ?? (s === null ? 2 : 2))),
    );
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    destroyTopology(topology);
    rmSync(dir, { recursive: true, force: true });
  }
}
