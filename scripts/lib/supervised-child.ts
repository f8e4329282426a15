import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseReadyLine, ReadyLine } from '../../common/ready';
import { defined } from '../../common/defined';

/**
 * One child process of the local cluster (`node dist/<script>`): started and waited for until it
 * prints its ready line on stdout, stopped with SIGTERM then SIGKILL after a bound. If it dies on
 * its own, the launcher hears of it loudly and (if asked) it is restarted on the same port, a
 * bounded number of times per window.
 *
 * The child writes its log lines straight to the launcher's stderr (inherited), each line naming
 * its process itself (`… bank-b2 info operation …`). Relaying them through a pipe cost more than
 * writing them: every line woke the launcher, and the child's synchronous write to the pipe
 * stalled its event loop (scripts/README.md, "log lines"). Only stdout is read here: the ready
 * line, and whatever else a child prints there, relayed with a `[name]` prefix.
 */
export const DIST_DIR = join(__dirname, '..', '..');

export interface ChildSpec {
  readonly name: string;
  /** Relative to dist/, e.g. 'server/main.js'. */
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  /** A command the child is started through (e.g. `ip netns exec NS`: it execs, the pid stays node's). */
  readonly prefix?: readonly string[];
  /** Open an IPC channel to the child and hand its messages here (the console, in dev mode). */
  readonly onMessage?: (message: unknown, reply: (answer: unknown) => void) => void;
}

export interface ChildPolicy {
  readonly readyTimeoutMs: number;
  readonly stopGraceMs: number;
  readonly restart: boolean;
  readonly restartsMax: number;
  readonly restartWindowMs: number;
  readonly restartDelayMs: number;
}

export type ChildEventSink = (
  child: SupervisedChild,
  event: 'died' | 'restarted' | 'gave-up' | 'restart-failed',
  detail: string,
) => void;

export class SupervisedChild {
  private process: ChildProcess | undefined;
  private ready: ReadyLine | undefined;
  private stopping = false;
  private restartTimes: number[] = [];
  private env: Record<string, string>;

  constructor(
    readonly spec: ChildSpec,
    private readonly policy: ChildPolicy,
    private readonly onEvent: ChildEventSink,
  ) {
    this.env = { ...spec.env };
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get url(): string {
    if (this.ready === undefined) throw new Error(`${this.spec.name} is not ready`);
    return this.ready.url;
  }

  async start(): Promise<ReadyLine> {
    const argv = [process.execPath, '--enable-source-maps', join(DIST_DIR, this.spec.script)];
    const [command, ...args] = [...(this.spec.prefix ?? []), ...argv] as [string, ...string[]];
    const child = spawn(command, args, {
      env: this.env,
      stdio: this.spec.onMessage === undefined ? ['ignore', 'pipe', 'inherit'] : ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    this.process = child;
    const onMessage = this.spec.onMessage;
    if (onMessage !== undefined)
      child.on('message', (m) =>
        onMessage(m, (answer) => {
          if (child.connected) child.send(answer as object);
        }),
      );
    const prefix = `[${this.spec.name}] `;
    const ready = await new Promise<ReadyLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${this.spec.name} not ready after ${this.policy.readyTimeoutMs} ms`));
      }, this.policy.readyTimeoutMs);
      const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer);
        reject(new Error(`${this.spec.name} exited (${String(code ?? signal)}) before it was ready`));
      };
      child.once('exit', onEarlyExit);
      createInterface({ input: defined(child.stdout, 'the piped stdout') }).on('line', (line) => {
        const parsed = parseReadyLine(line);
        if (parsed === undefined) {
          process.stderr.write(prefix + line + '\n');
          return;
        }
        clearTimeout(timer);
        child.off('exit', onEarlyExit);
        resolve(parsed);
      });
    });
    this.ready = ready;
    // A restart must come back where the others expect it, even if the first start used port 0.
    this.env.BANK_PORT = new URL(ready.url).port;
    child.once('exit', (code, signal) => this.exited(child, code, signal));
    return ready;
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || child !== this.process) return;
    this.onEvent(this, 'died', `exit ${String(code ?? signal)}`);
    if (!this.policy.restart) return;
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < this.policy.restartWindowMs);
    if (this.restartTimes.length >= this.policy.restartsMax) {
      this.onEvent(this, 'gave-up', `${this.restartTimes.length} restarts within ${this.policy.restartWindowMs} ms`);
      return;
    }
    this.restartTimes.push(now);
    setTimeout(() => {
      if (this.stopping) return;
      this.start().then(
        (r) => this.onEvent(this, 'restarted', `pid ${r.pid} at ${r.url}`),
        (err: unknown) => {
          this.onEvent(this, 'restart-failed', err instanceof Error ? err.message : String(err));
        },
      );
    }, this.policy.restartDelayMs).unref();
  }

  /**
   * From now on an exit is expected (no alarm, no restart). Called on every child before the
   * first is stopped: Ctrl-C reaches the whole process group, so children exit on their own.
   */
  expectExit(): void {
    this.stopping = true;
  }

  /** Dev mode: SIGSTOP / SIGCONT (a paused server holds its connections and answers nothing). */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): boolean {
    const child = this.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return false;
    return child.kill(signal);
  }

  /** Dev mode: start again (same port) after stop(); supervision resumes. */
  async startAgain(): Promise<ReadyLine> {
    await this.stop();
    this.stopping = false;
    return this.start();
  }

  get running(): boolean {
    const child = this.process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after stopGraceMs; resolves once the process is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.policy.stopGraceMs);
    await gone;
    clearTimeout(timer);
  }
}
