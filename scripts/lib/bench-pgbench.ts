import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Client } from 'pg';

/**
 * `npm run bench -- --database-url … --compare-pgbench`: PostgreSQL's own TPC-B-like benchmark on
 * the same server, right before the bank's, so the two numbers share the machine's moment (this
 * machine is shared and noisy: compare the ratio, not the absolutes). pgbench's tables go into a
 * scratch database when the role may create one, else into the bench's own database; both are
 * removed afterwards.
 */
const run = promisify(execFile);
const SCALE = 10;
const INIT_TIMEOUT_MS = 300_000;
const RUN_TIMEOUT_MS = 60_000;
export const PGBENCH_ARGS = Object.freeze(['-c', '8', '-j', '2', '-T', '10']);
const PGBENCH_TABLES = 'pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers';

export async function pgbenchAvailable(): Promise<boolean> {
  try {
    await run('pgbench', ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function withClient<T>(url: string, work: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A scratch database next to the bench's, or undefined when the role may not create one. */
async function createScratch(databaseUrl: string): Promise<string | undefined> {
  const name =
    `${new URL(databaseUrl).pathname.slice(1) || 'postgres'}_pgbench_${randomBytes(3).toString('hex')}`.replace(
      /[^a-z0-9_]/gi,
      '_',
    );
  try {
    await withClient(databaseUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  } catch (error) {
    if ((error as { code?: string }).code === '42501') return undefined; // insufficient privilege
    throw error;
  }
  return name;
}

/** Initializes pgbench's tables (-i -s 10), runs `pgbench -c 8 -j 2 -T 10`, cleans up; returns tps. */
export async function measurePgbenchTps(databaseUrl: string, log: (line: string) => void): Promise<number> {
  const scratch = await createScratch(databaseUrl);
  const target = new URL(databaseUrl);
  if (scratch !== undefined) target.pathname = `/${scratch}`;
  log(
    `pgbench: scale ${SCALE} in ${scratch === undefined ? 'the bench database (the role may not CREATEDB)' : `scratch database ${scratch}`}`,
  );
  try {
    await run('pgbench', ['-i', '-q', '-s', String(SCALE), target.toString()], { timeout: INIT_TIMEOUT_MS });
    const { stdout } = await run('pgbench', [...PGBENCH_ARGS, target.toString()], { timeout: RUN_TIMEOUT_MS });
    const match = /tps = ([0-9.]+) \(without initial connection time\)/.exec(stdout) ?? /tps = ([0-9.]+)/.exec(stdout);
    if (match === null) throw new Error(`pgbench printed no tps:\n${stdout}`);
    return Number(match[1]);
  } finally {
    if (scratch !== undefined) await withClient(databaseUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${scratch}`));
    else await withClient(databaseUrl, (c) => c.query(`DROP TABLE IF EXISTS ${PGBENCH_TABLES}`));
  }
}
