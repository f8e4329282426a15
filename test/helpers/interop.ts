import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newToken } from '../../common/credentials';
import { openAccount, startCluster, TestCluster } from './cluster';
import { REPO_DIR } from './process';

/**
 * The interop suites (test/interop-<stack>.test.ts): one real SOAP stack, installed from Debian's
 * packages, generates its client from the WSDL a running cluster serves (`<balancer>/bank?wsdl`),
 * compiles it in a temp dir, and runs the small program under test/interop/<stack>/ against the
 * balancer. The program reads INTEROP_* environment variables and prints one JSON line per step
 * (the steps: interop-suite.ts); the suite asserts on those lines AND on the bank's own state afterwards.
 *
 *   interopSuite({ stack: 'php', title: 'PHP SoapClient', probes, packages, client: (ctx) => ... });
 * (interop-suite.ts declares the its; this file runs the tools and the cluster.)
 */
export const INTEROP_DIR = join(REPO_DIR, 'test', 'interop');

export const OPENING_BALANCE = '100.00';
export const TRANSFER_AMOUNT = '1.25';
/** What every stack sends in step f: its own decimal arithmetic's 0.10 * 0.1, scale kept. */
export const DECIMAL_LEXICAL = '0.010';
const TOOL_TIMEOUT_MS = 240_000;
const OUTPUT_CHARS_KEPT = 20_000;

/** One printed step: the values the stack returned, or the fault code it read, or its error. */
export interface StepLine {
  readonly step: string;
  readonly [field: string]: string;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface InteropContext {
  /** A fresh temp dir for generated code and binaries, removed after the suite. */
  readonly workDir: string;
  /** The served WSDL: `<balancer>/bank?wsdl`. */
  readonly wsdlUrl: string;
  /** The INTEROP_* settings of the client program (plus PATH and HOME). */
  readonly env: Readonly<Record<string, string>>;
  /** Run a tool in workDir with the client's env; rejects with its output unless it exits 0. */
  exec(command: string, args: readonly string[], timeoutMs?: number): Promise<ExecResult>;
  /** Time a named stage (generate, compile, run) for the suite's timing line. */
  stage<T>(name: string, work: () => Promise<T>): Promise<T>;
}

export interface InteropStack {
  /** Directory name under test/interop/ and the name in messages. */
  readonly stack: string;
  /** The stack as a reader knows it, e.g. 'JAX-WS RI (wsimport)'. */
  readonly title: string;
  /** Commands that must exit 0 for the stack to be usable (tool present, module importable). */
  readonly probes: ReadonlyArray<readonly [string, readonly string[]]>;
  /** The Debian packages that provide the probes, for the failure message. */
  readonly packages: string;
  /** Generate, compile and run the client; resolve with its stdout (the JSON lines). */
  client(ctx: InteropContext): Promise<string>;
}

export interface InteropRun {
  readonly cluster: TestCluster;
  readonly steps: ReadonlyMap<string, StepLine>;
  readonly aliceAccount: string;
  readonly bobAccount: string;
  readonly stdout: string;
}

/** Run asynchronously (never spawnSync): the cluster's pipes must keep draining meanwhile. */
export function execTool(
  command: string,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  timeoutMs = TOOL_TIMEOUT_MS,
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout = (stdout + c.toString('utf8')).slice(-OUTPUT_CHARS_KEPT);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-OUTPUT_CHARS_KEPT);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited ${String(code ?? signal)}:\n${stdout}\n${stderr}`));
    });
  });
}

/**
 * A missing stack fails under CI (CI=1) with the packages to install; elsewhere the suite is
 * skipped, visibly, by mocha.
 */
export async function requireStack(ctx: Mocha.Context, stack: InteropStack): Promise<void> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  for (const [command, args] of stack.probes) {
    try {
      await execTool(command, args, tmpdir(), env, 60_000);
    } catch (error) {
      const message = `${stack.stack}: probe \`${command} ${args.join(' ')}\` failed (apt-get install ${stack.packages}): ${(error as Error).message.slice(0, 400)}`;
      if (process.env.CI) throw new Error(message);
      console.log(`      skipped: ${message}`);
      ctx.skip();
    }
  }
}

export function parseSteps(stdout: string): Map<string, StepLine> {
  const steps = new Map<string, StepLine>();
  for (const line of stdout.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    let parsed: StepLine;
    try {
      parsed = JSON.parse(line) as StepLine;
    } catch {
      throw new Error(`the client printed a line that is not JSON: ${line}`);
    }
    steps.set(parsed.step, parsed);
  }
  return steps;
}

function clientEnv(
  cluster: TestCluster,
  aliceAccount: string,
  bobAccount: string,
  requestId: string,
): Record<string, string> {
  const alice = cluster.client('alice');
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    // The Python programs import test/interop/interop_steps.py: no __pycache__ in the checkout.
    PYTHONDONTWRITEBYTECODE: '1',
    INTEROP_WSDL_URL: `${cluster.balancerUrl}?wsdl`,
    INTEROP_CLIENT_ID: alice.clientId,
    INTEROP_AUTH_TOKEN: alice.authToken,
    // A well-formed token that is not alice's.
    INTEROP_BAD_TOKEN: newToken(),
    INTEROP_ACCOUNT: aliceAccount,
    INTEROP_TO_ACCOUNT: bobAccount,
    INTEROP_FOREIGN_ACCOUNT: bobAccount,
    INTEROP_AMOUNT: TRANSFER_AMOUNT,
    INTEROP_REQUEST_ID: requestId,
    INTEROP_DECIMAL_REQUEST_ID: `${requestId}-decimal`,
  };
}

function context(
  workDir: string,
  cluster: TestCluster,
  env: Record<string, string>,
  timings: string[],
): InteropContext {
  return {
    workDir,
    wsdlUrl: `${cluster.balancerUrl}?wsdl`,
    env,
    exec: (command, args, timeoutMs) => execTool(command, args, workDir, env, timeoutMs),
    async stage(name, work) {
      const started = process.hrtime.bigint();
      try {
        return await work();
      } finally {
        timings.push(`${name} ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`);
      }
    },
  };
}

/** The client program's own source file, test/interop/<stack>/<file>. */
export function clientSource(stack: string, file: string): string {
  return join(INTEROP_DIR, stack, file);
}

/**
 * Start the cluster, open the accounts, generate + compile + run the stack's client (timed per
 * stage, printed as one line). cleanup() stops the cluster and removes the temp dir.
 */
export async function prepareRun(stack: InteropStack): Promise<{ run: InteropRun; cleanup: () => Promise<void> }> {
  const workDir = mkdtempSync(join(tmpdir(), `distbank-interop-${stack.stack}-`));
  let cluster: TestCluster | undefined;
  const cleanup = async (): Promise<void> => {
    await cluster?.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
  const timings: string[] = [];
  const started = process.hrtime.bigint();
  try {
    cluster = await startCluster({ businessCount: 2, clients: ['alice', 'bob'] });
    const aliceAccount = await openAccount(cluster.balancerUrl, cluster.client('alice'), OPENING_BALANCE);
    const bobAccount = await openAccount(cluster.balancerUrl, cluster.client('bob'), OPENING_BALANCE);
    const requestId = `interop-${stack.stack}-${newToken().slice(0, 12)}`;
    const env = clientEnv(cluster, aliceAccount, bobAccount, requestId);
    const stdout = await stack.client(context(workDir, cluster, env, timings));
    const totalS = (Number(process.hrtime.bigint() - started) / 1e9).toFixed(1);
    console.log(`      ${stack.stack}: ${timings.join(', ')}; ${totalS} s with the cluster`);
    return { run: { cluster, steps: parseSteps(stdout), aliceAccount, bobAccount, stdout }, cleanup };
  } catch (error) {
    const logs = cluster?.logs() ?? '';
    await cleanup();
    throw new Error(`${(error as Error).message}\n${logs.slice(-4000)}`);
  }
}
