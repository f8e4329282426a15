import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/**
 * Hosts mode: each tier of the cluster in a Linux network namespace of its own, on one bridge
 * (in a switch namespace of its own), addresses in 198.18.0.0/24 (RFC 2544's benchmarking
 * range) that exist only on those links. The root namespace gets no address on that network
 * and no route to it, so no traffic of the run can leave the namespaces. Everything made here
 * carries the run's tag and is removed by destroy(), also after a crash (`--hosts-cleanup`).
 */
export const SUBNET_PREFIX = '198.18.0.';
export const NETNS_PREFIX = 'dbk';

export interface HostInfo {
  /** client, balancer, b1…bN, data */
  readonly name: string;
  readonly netns: string;
  readonly address: string;
}

export interface Topology {
  readonly tag: string;
  readonly switchNetns: string;
  readonly hosts: readonly HostInfo[];
}

function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).toString();
}

function inNetns(netns: string, command: readonly string[]): string {
  return ip(['netns', 'exec', netns, ...command]);
}

/** Why hosts mode cannot run here, or undefined when it can (root, ip, nft, namespaces). */
export function hostsModeUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'hosts mode needs root (it creates network namespaces)';
  for (const tool of ['ip', 'nft']) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore' });
    } catch {
      return `hosts mode needs \`${tool}\` (Debian: ${tool === 'ip' ? 'iproute2' : 'nftables'})`;
    }
  }
  const probe = `${NETNS_PREFIX}probe${randomBytes(2).toString('hex')}`;
  try {
    ip(['netns', 'add', probe]);
    ip(['netns', 'del', probe]);
  } catch (err) {
    return `network namespaces are not available here: ${(err as Error).message.split('\n')[0] ?? ''}`;
  }
  return undefined;
}

export function hostNames(businessCount: number): string[] {
  return ['client', 'balancer', ...Array.from({ length: businessCount }, (_v, i) => `b${i + 1}`), 'data'];
}

function addressOf(name: string): string {
  if (name === 'client') return SUBNET_PREFIX + '10';
  if (name === 'balancer') return SUBNET_PREFIX + '20';
  if (name === 'data') return SUBNET_PREFIX + '40';
  return SUBNET_PREFIX + String(100 + Number(name.slice(1)));
}

export function createTopology(businessCount: number): Topology {
  const tag = randomBytes(2).toString('hex');
  const switchNetns = `${NETNS_PREFIX}${tag}-sw`;
  const hosts = hostNames(businessCount).map((name) => ({
    name,
    netns: `${NETNS_PREFIX}${tag}-${name}`,
    address: addressOf(name),
  }));
  const topology = { tag, switchNetns, hosts };
  try {
    ip(['netns', 'add', switchNetns]);
    inNetns(switchNetns, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    inNetns(switchNetns, ['ip', 'link', 'set', 'br0', 'up']);
    for (const [i, h] of hosts.entries()) {
      const port = `p${tag}${i}`;
      ip(['netns', 'add', h.netns]);
      inNetns(h.netns, ['ip', 'link', 'set', 'lo', 'up']);
      ip(['link', 'add', port, 'netns', switchNetns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns]);
      inNetns(switchNetns, ['ip', 'link', 'set', port, 'master', 'br0', 'up']);
      inNetns(h.netns, ['ip', 'addr', 'add', `${h.address}/24`, 'dev', 'eth0']);
      inNetns(h.netns, ['ip', 'link', 'set', 'eth0', 'up']);
    }
  } catch (err) {
    destroyTopology(topology);
    throw err;
  }
  return topology;
}

/** Kills what still runs in the namespaces, then deletes them (their veths go with them). */
export function destroyTopology(topology: Pick<Topology, 'tag'>): void {
  for (const netns of listNetns().filter((n) => n.startsWith(`${NETNS_PREFIX}${topology.tag}-`))) {
    try {
      for (const pid of ip(['netns', 'pids', netns])
        .split('\n')
        .map(Number)
        .filter((p) => p > 0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      ip(['netns', 'del', netns]);
    } catch {
      // best effort: a namespace that is already gone is fine
    }
  }
}

function listNetns(): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

/** Removes every namespace any earlier run of this tool left behind (dbkXXXX-*). */
export function cleanupAll(): string[] {
  const tags = new Set(
    listNetns()
      .map((n) => /^dbk([0-9a-f]{4})-/.exec(n)?.[1])
      .filter((t): t is string => t !== undefined),
  );
  for (const tag of tags) destroyTopology({ tag });
  return [...tags];
}

export function host(topology: Topology, name: string): HostInfo {
  const h = topology.hosts.find((x) => x.name === name);
  if (h === undefined) throw new Error(`no host ${name} in the topology`);
  return h;
}
