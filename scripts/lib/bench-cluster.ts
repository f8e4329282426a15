import { benchBusinessLimits } from './bench-limits';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseReadyLine } from '../../common/ready';
import { DemoCredentials, readAdminToken } from './cluster-credentials';
import { dataServerName } from './cluster-config';
import { dropSchema } from '../../server/pg-schema-name';
import { DIST_DIR } from './supervised-child';
import { defined, itemAt } from '../../common/defined';

/**
 * A fresh cluster for one benchmark run: `node dist/scripts/cluster.js` on free ports in a temp
 * dir, its logs to <dir>/cluster.log. The launcher's stderr (and so every child's, inherited) is
 * that file itself, not a pipe read here: a reader woken for every log line is load the bench
 * would measure. Over PostgreSQL each run has a schema of its own (BANK_PG_SCHEMA bench_<hex>,
 * unless the caller names one), dropped when the cluster stops: a run starts from the same
 * empty tables as the last, not from every earlier run's journal. Gives the balancer URL, the owners' credentials and every
 * process's pid (from cluster.json) for the CPU accounting.
 */
export interface BenchCluster {
  readonly dir: string;
  readonly url: string;
  readonly demo: DemoCredentials;
  readonly pids: ReadonlyMap<string, number>;
  /** The data server's /health URL, for its counters. */
  readonly dataHealthUrl: string;
  /** The operator's token: /health shows its counters only to the admin. */
  readonly adminToken: string | undefined;
  readonly businessUrls: readonly string[];
  /** Every process's log lines (the launcher's stderr, inherited by the children). */
  readonly logPath: string;
  /** The run's own PostgreSQL schema, when it made one. */
  readonly pgSchema: string | undefined;
  /** Stops every process; drops the run's schema unless keepData. */
  stop(keepData?: boolean): Promise<void>;
}

interface ClusterFileShape {
  dataUrl: string;
  /** Absent in a cluster.json of before several data servers: then dataUrl alone. */
  dataUrls?: string[];
  businessUrls: string[];
  /** console: absent in a cluster.json of before 2026-12-01 17:40 UTC. */
  pids: {
    launcher: number;
    data: number;
    dataServers?: number[];
    business: number[];
    balancer: number;
    console?: number;
  };
}

const READY_TIMEOUT_MS = 60_000;

/**
 * A running cluster's pids by name (data, data2, …, business b1, …, balancer, console, launcher) and its
 * data servers' /health URLs (the first one also as dataHealthUrl), from cluster.json.
 */
export function readClusterFile(dir: string):
  | {
      pids: ReadonlyMap<string, number>;
      dataHealthUrl: string;
      dataHealthUrls: readonly string[];
      adminToken: string | undefined;
      businessUrls: readonly string[];
    }
  | undefined {
  const path = join(dir, 'cluster.json');
  if (!existsSync(path)) return undefined;
  const info = JSON.parse(readFileSync(path, 'utf8')) as ClusterFileShape;
  const pids = new Map<string, number>();
  (info.pids.dataServers ?? [info.pids.data]).forEach((pid, i) => pids.set(dataServerName(i), pid));
  info.pids.business.forEach((pid, i) => pids.set(`business b${i + 1}`, pid));
  pids.set('balancer', info.pids.balancer);
  if (info.pids.console !== undefined) pids.set('console', info.pids.console);
  pids.set('launcher', info.pids.launcher);
  const dataHealthUrls = (info.dataUrls ?? [info.dataUrl]).map((u) => new URL('/health', u).toString());
  return {
    pids,
    dataHealthUrl: itemAt(dataHealthUrls, 0),
    dataHealthUrls,
    adminToken: readAdminToken(dir),
    businessUrls: info.businessUrls,
  };
}

export interface BenchClusterOptions {
  businessCount: number;
  /** Concurrent callers the load test will have, at most (none of them is refused by a queue limit). */
  clients: number;
  owners: number;
  /** Demo client ids are <ownerPrefix>1..<ownerPrefix>N (default bench). */
  ownerPrefix?: string;
  logLevel: string;
  databaseUrl: string | undefined;
  /** Data servers over the PostgreSQL of databaseUrl (default 1; SQLite allows 1). */
  dataServers?: number;
  env: Readonly<Record<string, string | undefined>>;
}

export async function startBenchCluster(options: BenchClusterOptions): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'distbank-bench-'));
  const { env, scratchSchema } = launcherEnv(options, dir);
  const logPath = join(dir, 'cluster.log');
  const logFd = openSync(logPath, 'a', 0o600);
  const child = spawn(process.execPath, [join(DIST_DIR, 'scripts', 'cluster.js')], {
    env,
    stdio: ['ignore', 'pipe', logFd],
  });
  closeSync(logFd); // the launcher has its own copy
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await readyUrl(child, dir);
  const demo = JSON.parse(readFileSync(join(dir, 'demo-credentials.json'), 'utf8')) as DemoCredentials;
  const info = defined(readClusterFile(dir), `${dir}/cluster.json`);
  return {
    dir,
    url,
    demo,
    pids: info.pids,
    dataHealthUrl: info.dataHealthUrl,
    adminToken: info.adminToken,
    businessUrls: info.businessUrls,
    logPath,
    pgSchema: scratchSchema,
    async stop(keepData = false) {
      child.kill('SIGTERM');
      await exited;
      if (scratchSchema !== undefined && !keepData)
        await dropRunSchema(defined(options.databaseUrl, 'the database URL'), scratchSchema);
    },
  };
}

/** The launcher's env: the bench's limits, the caller's env over them, fixed ports and names, the run's schema. */
function launcherEnv(
  options: BenchClusterOptions,
  dir: string,
): { env: Record<string, string>; scratchSchema: string | undefined } {
  // A load test of a few owners is not a fair share of the bank (bench-limits.ts).
  const env: Record<string, string> = benchBusinessLimits(options.clients);
  for (const [k, v] of Object.entries(options.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, {
    BANK_DATA_DIR: dir,
    BANK_DATA_PORT: '0',
    BANK_BUSINESS_PORTS: '0',
    BANK_BALANCER_PORT: '0',
    BANK_CONSOLE_PORT: '0',
    BANK_BUSINESS_COUNT: String(options.businessCount),
    BANK_DATA_SERVERS: String(options.dataServers ?? 1),
    BANK_LOG_LEVEL: options.logLevel,
    BANK_DEMO_CLIENTS: Array.from(
      { length: options.owners },
      (_v, i) => `${options.ownerPrefix ?? 'bench'}${i + 1}`,
    ).join(','),
    BANK_DEMO_DEPOSIT: '0.01',
  });
  const scratchSchema =
    options.databaseUrl !== undefined && env.BANK_PG_SCHEMA === undefined
      ? `bench_${randomBytes(4).toString('hex')}`
      : undefined;
  if (options.databaseUrl !== undefined) env.DATABASE_URL = options.databaseUrl;
  if (scratchSchema !== undefined) env.BANK_PG_SCHEMA = scratchSchema;
  return { env, scratchSchema };
}

/** The balancer's URL from the launcher's ready line; rejects if the launcher exits first or takes too long. */
function readyUrl(child: ChildProcess, dir: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`cluster not ready after ${READY_TIMEOUT_MS} ms; see ${dir}/cluster.log`)),
      READY_TIMEOUT_MS,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cluster exited (${String(code)}) before ready; see ${dir}/cluster.log`));
    });
    createInterface({ input: defined(child.stdout, 'the piped stdout') }).on('line', (line) => {
      const ready = parseReadyLine(line);
      if (ready !== undefined) {
        clearTimeout(timer);
        resolve(ready.url);
      }
    });
  });
}

/** The run's schema goes; when it cannot (PostgreSQL down), the run's result stands and we say so. */
async function dropRunSchema(databaseUrl: string, schema: string): Promise<void> {
  try {
    await dropSchema(databaseUrl, schema);
  } catch (error) {
    process.stderr.write(`could not drop the run's PostgreSQL schema ${schema}: ${(error as Error).message}\n`);
  }
}
