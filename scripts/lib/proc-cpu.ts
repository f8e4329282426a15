import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of a process from /proc/<pid>/stat (utime + stime, fields 14 and 15, in clock
 * ticks). Linux only; undefined elsewhere or when the process is gone.
 */
let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export function cpuSecondsOf(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return cpuSecondsOfStat(text);
}

/** utime + stime of one /proc/<pid>/stat text, in seconds. */
function cpuSecondsOfStat(text: string): number | undefined {
  // The command name (field 2) may contain spaces; fields after it are counted from its ')'.
  const after = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(after[11]);
  const stime = Number(after[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / clockTicks();
}

/**
 * CPU seconds of every live process whose command is `name` (e.g. PostgreSQL's backends and
 * background workers, all called "postgres"). Processes that exited meanwhile (an autovacuum
 * worker) are not counted: machineBusySeconds() is the upper bound.
 */
export function cpuSecondsOfCommand(name: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    if (text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')) !== name) continue;
    total += cpuSecondsOfStat(text) ?? 0;
  }
  return total;
}

/** Busy CPU seconds of the whole machine, all cores (the first line of /proc/stat, less idle and iowait). */
export function machineBusySeconds(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const fields = (text.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const [user, nice, system, , , irq, softirq, steal] = fields;
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((s, v) => s + (v ?? 0), 0);
  return Number.isFinite(busy) ? busy / clockTicks() : undefined;
}
