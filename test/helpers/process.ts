import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseReadyLine, ReadyLine } from '../../common/ready';

/** The compiled project root (dist/), from dist/test/helpers/. */
export const DIST_DIR = join(__dirname, '..', '..');
/** The source checkout root, where wsdl/ and package.json live. */
export const REPO_DIR = join(DIST_DIR, '..');

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly ready: ReadyLine;
  /** The last lines the process wrote to stderr (its logs), for failure messages. */
  stderrTail(): string;
  /** Send a signal and wait for the exit. SIGKILL is the crash test; SIGTERM the clean stop. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const STDERR_LINES_KEPT = 200;

/**
 * Start `node dist/<script>` with the given env (merged over a minimal environment) and wait
 * until it prints its ready line (common/ready.ts), or fail after readyTimeoutMs.
 */
export async function startProcess(
  script: string,
  env: Record<string, string>,
  readyTimeoutMs = 20_000,
  args: readonly string[] = [],
): Promise<RunningProcess> {
  const child = spawn(process.execPath, ['--enable-source-maps', join(DIST_DIR, script), ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > STDERR_LINES_KEPT) stderr.shift();
  });
  const exited = once(child, 'exit');
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} not ready after ${readyTimeoutMs} ms:\n${stderr.join('\n')}`));
    }, readyTimeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${String(code ?? signal)}) before ready:\n${stderr.join('\n')}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const parsed = parseReadyLine(line);
      if (parsed) {
        clearTimeout(timer);
        resolve(parsed);
      }
    });
  });
  return {
    child,
    pid: child.pid!,
    url: ready.url,
    ready,
    stderrTail: () => stderr.join('\n'),
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
