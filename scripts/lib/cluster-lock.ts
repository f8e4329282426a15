import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

/**
 * What keeps a second `npm start` from breaking a running cluster: before the launcher touches
 * a file, it checks that no live launcher holds `${BANK_DATA_DIR}/cluster.lock` and that every
 * fixed port it is asked for is free; then it takes the lock (created exclusively, holding its
 * pid) and removes it when it stops. A lock whose pid is gone (a launcher killed with SIGKILL)
 * is stale and taken over.
 */
export const LOCK_FILE = 'cluster.lock';

export class ClusterBusyError extends Error {}

function lockHolder(dataDir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, LOCK_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: alive, but another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

function runningError(dataDir: string, pid: number): ClusterBusyError {
  return new ClusterBusyError(
    `a cluster is already running from ${dataDir} (launcher pid ${pid}); ` +
      `stop it first (kill -TERM ${pid}), or use another --data-dir and other ports`,
  );
}

/** Refuses (throws ClusterBusyError) while a live launcher holds the data dir's lock. Writes nothing. */
export function checkNotRunning(dataDir: string): void {
  const pid = lockHolder(dataDir);
  if (pid !== undefined && pid !== process.pid) throw runningError(dataDir, pid);
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** Refuses when one of these fixed ports (0 = any, not checked) cannot be listened on. */
export async function checkPortsFree(host: string, ports: ReadonlyArray<readonly [string, number]>): Promise<void> {
  for (const [what, port] of ports) {
    if (port === 0) continue;
    if (!(await portFree(host, port))) {
      throw new ClusterBusyError(
        `port ${port} on ${host} (${what}) is in use: another cluster or program holds it; ` +
          'stop it, or choose other ports (--data-port, --business-ports, --balancer-port)',
      );
    }
  }
}

/** Takes the lock (exclusive create); returns its release. Throws ClusterBusyError if a live launcher holds it. */
export function takeLock(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        if (lockHolder(dataDir) === process.pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = lockHolder(dataDir);
      if (pid !== undefined) throw runningError(dataDir, pid);
      rmSync(path, { force: true }); // stale: its launcher is gone
    }
  }
  throw new ClusterBusyError(`${path}: could not take the lock (another launcher starting at the same time?)`);
}
