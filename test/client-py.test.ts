/**
 * The Python client (client-py/, zeep) against a real cluster: starts scripts/cluster.js on
 * port 0 and runs its pytest suite (unit tests and integration tests) with BANK_URL and
 * DISTBANK_DEMO_CREDENTIALS pointing at the cluster. Debian's /usr/bin/python3 with python3-zeep
 * and python3-pytest is required: without them the test is skipped, or fails under CI.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_DIR, RunningProcess, startProcess } from './helpers/process';

const PYTHON = '/usr/bin/python3';
const CLUSTER_READY_TIMEOUT_MS = 60_000;
const PYTEST_TIMEOUT_MS = 180_000;
const OUTPUT_CHARS_KEPT = 20_000;

function pythonHasZeepAndPytest(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import zeep, pytest'], { timeout: 30_000, stdio: 'ignore' });
  return probe.status === 0;
}

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/** Run asynchronously (not spawnSync): the cluster's pipes must keep draining meanwhile. */
function run(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_CHARS_KEPT);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

describe("client-py: the Python client's pytest suite against a real cluster", function () {
  this.timeout(CLUSTER_READY_TIMEOUT_MS + PYTEST_TIMEOUT_MS + 30_000);
  let dataDir: string | undefined;
  let cluster: RunningProcess | undefined;

  before(async function () {
    if (!pythonHasZeepAndPytest()) {
      if (process.env.CI)
        throw new Error(`${PYTHON} cannot import zeep and pytest (apt-get install python3-zeep python3-pytest)`);
      this.skip();
    }
    dataDir = mkdtempSync(join(tmpdir(), 'distbank-client-py-'));
    cluster = await startProcess(
      'scripts/cluster.js',
      { BANK_DATA_DIR: dataDir, BANK_LOG_LEVEL: 'warn' },
      CLUSTER_READY_TIMEOUT_MS,
      ['--data-port', '0', '--business-ports', '0,0,0', '--balancer-port', '0', '--console-port', '0'],
    );
  });

  after(async function () {
    await cluster?.kill('SIGTERM');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('passes: python3 -m pytest -q client-py/tests (unit + integration)', async function () {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      PYTHONPATH: join(REPO_DIR, 'client-py'),
      PYTHONDONTWRITEBYTECODE: '1',
      BANK_URL: cluster!.url,
      DISTBANK_DEMO_CREDENTIALS: join(dataDir!, 'demo-credentials.json'),
    };
    const result = await run(PYTHON, ['-m', 'pytest', '-q', '-rs', 'client-py/tests'], env, PYTEST_TIMEOUT_MS);
    const report = `pytest exited ${String(result.code ?? result.signal)}:\n${result.output}\n--- cluster stderr (tail) ---\n${cluster!.stderrTail()}`;
    expect(result.code, report).to.equal(0);
    // The integration tests must have run, not been skipped: a skip here would hide a broken
    // setup (-rs lists each skip with its reason; conftest's reason starts with "integration:").
    expect(result.output, report).to.not.match(/SKIPPED.*integration:/);
    expect(result.output, report).to.match(/\d+ passed/);
  });
});
