import { readFaultRulesFile } from '../business/fault-rules';
import { makeDirectory } from '../common/make-directory';
import { join } from 'node:path';
import { announceReady } from '../common/ready';
import { EXIT_CONFIG, runMain } from '../common/cli-main';
import { BANK_NAMESPACE, SOAP11_ENVELOPE_NS, SOAP_CONTENT_TYPE, soapActionHeader } from '../common/contract';
import { CLUSTER_FLAGS, dataServerName, loadClusterConfig, ClusterConfig } from './lib/cluster-config';
import {
  ADMIN_CREDENTIALS_FILE,
  demoClientTokens,
  ensureAdminCredentials,
  writeBusinessCredentials,
  writeDemoCredentials,
  writeFileAtomic,
  DemoCredentials,
} from './lib/cluster-credentials';
import { checkNotRunning, checkPortsFree, takeLock } from './lib/cluster-lock';
import { consoleChild } from './lib/console-child';
import { ensureDemoAccounts } from './lib/demo-accounts';
import { placeSpec } from './lib/placement';
import { ChildEventSink, SupervisedChild } from './lib/supervised-child';
import { defined, itemAt } from '../common/defined';

/**
 * `npm start`: the whole bank on one machine. 1 data server (or N over one PostgreSQL:
 * --data-servers), N business servers (each told every data server's URL) and the load
 * balancer as child processes (`node dist/...`), each waited for until ready; demo clients with
 * funded accounts on the first start; a banner on stderr; then one ready line on stdout
 * (`{"event":"ready","service":"cluster","url":<balancer /bank URL>}`), so tests can start a
 * whole cluster on port 0 and read `${BANK_DATA_DIR}/demo-credentials.json`.
 * `${BANK_DATA_DIR}/cluster.json` tells tools (bench, chaos) every child's pid and URL.
 * SIGINT/SIGTERM: balancer first, then business servers, then the data servers; exit 0.
 */
export const CLUSTER_FILE = 'cluster.json';

export interface ClusterFile {
  readonly balancerUrl: string;
  /** The first data server (dataUrls[0]); kept for tools that know one. */
  readonly dataUrl: string;
  readonly dataUrls: readonly string[];
  readonly businessUrls: readonly string[];
  readonly pids: {
    readonly launcher: number;
    /** The first data server (dataServers[0]). */
    readonly data: number;
    readonly dataServers: readonly number[];
    readonly business: readonly number[];
    readonly balancer: number;
    readonly console: number;
  };
}

/** A running child's pid, for cluster.json (written once every child is up). */
function pidOf(child: SupervisedChild): number {
  return defined(child.pid, `the pid of ${child.name}`);
}

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} cluster ${message}\n`);
}

/** Rewritten after every (re)start, so tools see current pids. */
let writeClusterFile: () => void = () => undefined;

const onChildEvent: ChildEventSink = (child, event, detail) => {
  const loud = event === 'died' || event === 'gave-up' || event === 'restart-failed';
  log(`${loud ? '!!! ' : ''}${child.name} ${event}: ${detail}`);
  if (event === 'restarted') writeClusterFile();
};

function banner(
  config: ClusterConfig,
  demo: DemoCredentials,
  file: string,
  data: readonly SupervisedChild[],
  business: readonly SupervisedChild[],
): string {
  const store = config.databaseUrl === undefined ? `SQLite in ${config.dataDir}` : 'PostgreSQL';
  const first = demo.clients[0];
  const lines = [
    '',
    '  distbank is running',
    `  bank (load balancer):  ${demo.url}   (WSDL: ${demo.url}?wsdl)`,
    ...business.map((b) => `  business ${b.name}:${' '.repeat(Math.max(1, 12 - b.name.length))}${b.url}`),
    `  console:              ${demo.consoleUrl ?? '-'}   (log in with the admin token; dev mode ${config.devMode ? 'ON: it can stop servers' : 'off'})`,
    ...data.map((d) => `  data server ${d.name}:${' '.repeat(Math.max(1, 9 - d.name.length))}${d.url}  (${store})`),
    '',
    `  demo credentials (also in ${file}):`,
    ...demo.clients.map(
      (c) => `    client-id ${c.clientId}  auth-token ${c.authToken}  accounts ${c.accounts.join(', ')}`,
    ),
    `  admin token (GET /health details: Authorization: Bearer …) in ${join(config.dataDir, ADMIN_CREDENTIALS_FILE)}`,
    '',
    ...(config.faultsFile === undefined
      ? []
      : [
          '  !!! FAULT INJECTION IS ON: this bank fails on purpose, by the rules in',
          `  !!! ${config.faultsFile} (re-read when it changes). Never use it for real money.`,
          '',
        ]),
  ];
  if (first !== undefined) {
    lines.push(
      '  try:',
      `    curl -s ${demo.url} -H 'Content-Type: ${SOAP_CONTENT_TYPE}' \\`,
      `      -H 'SOAPAction: ${soapActionHeader(BANK_NAMESPACE, 'GetBalance')}' -H 'client-id: ${first.clientId}' -H 'auth-token: ${first.authToken}' \\`,
      `      --data '<soap:Envelope xmlns:soap="${SOAP11_ENVELOPE_NS}" xmlns:b="${BANK_NAMESPACE}"><soap:Body><b:GetBalance><b:accountId>${first.accounts[0] ?? '1'}</b:accountId></b:GetBalance></soap:Body></soap:Envelope>'`,
      '',
    );
  }
  lines.push('  Ctrl-C stops everything.', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const config = loadClusterConfig(process.env, process.argv.slice(2));
  await checkCanStart(config);
  const launch = prepareDataDir(config);
  const stopAll = stopOnSignals(launch.children);
  try {
    const data = await startDataServers(launch);
    const business = await startBusinessServers(launch, data);
    const balancer = await startBalancer(launch, business);
    const publicUrl = config.publicUrl ?? balancer.url;
    const demo = await ensureDemoAccounts(
      balancer.url,
      launch.clientSecrets.tokens,
      launch.clientSecrets.previous,
      config.demoDeposit,
    );
    const ops = consoleChild(
      config,
      launch.common,
      { balancer: balancer.url, business, data: data.map((d) => d.url).join(',') },
      config,
      onChildEvent,
      (what) => {
        log(`dev mode: ${what}`);
        writeClusterFile();
      },
    );
    launch.children.push(ops);
    await ops.start();
    const demoFile = writeDemoCredentials(config.dataDir, { ...demo, url: publicUrl, consoleUrl: ops.url });
    writeClusterFile = () => writeClusterInfo(config.dataDir, data, business, balancer, ops);
    writeClusterFile();
    process.stderr.write(
      banner(config, { ...demo, url: publicUrl, consoleUrl: ops.url }, demoFile, data, business) + '\n',
    );
    announceReady('cluster', balancer.url);
  } catch (err) {
    log(`!!! start failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    process.exit(EXIT_CONFIG);
  }
}

/** What each start step needs: the config, the children's common env, their secrets, the children so far. */
interface Launch {
  readonly config: ClusterConfig;
  /** Every child's env: host, log level, data dir, the admin token's hash (and the launcher's BANK_* settings). */
  readonly common: Readonly<Record<string, string>>;
  readonly businessIds: readonly string[];
  readonly businessSecrets: ReturnType<typeof writeBusinessCredentials>;
  readonly clientSecrets: ReturnType<typeof demoClientTokens>;
  /** In start order; each is added before it starts, so a failed start stops it too. */
  readonly children: SupervisedChild[];
}

/** The refusals made before anything is touched. */
async function checkCanStart(config: ClusterConfig): Promise<void> {
  // A bad rules file stops the start here, in one line, before any child runs.
  if (config.faultsFile !== undefined) readFaultRulesFile(config.faultsFile);
  // Before touching anything: a cluster running from this data dir, or on our ports, is left alone.
  checkNotRunning(config.dataDir);
  await checkPortsFree(config.host, [
    ...config.dataPorts.map((port, i) => [`data server ${dataServerName(i)}`, port] as const),
    ...config.businessPorts.map((port, i) => [`business b${i + 1}`, port] as const),
    ['balancer', config.balancerPort],
    ['console', config.consolePort],
  ]);
}

/** The data dir, locked for this launcher, with the business servers', demo clients' and admin's credentials. */
function prepareDataDir(config: ClusterConfig): Launch {
  makeDirectory(config.dataDir, 0o700);
  process.on('exit', takeLock(config.dataDir));
  const businessIds = Array.from({ length: config.businessCount }, (_v, i) => `b${i + 1}`);
  const businessSecrets = writeBusinessCredentials(config.dataDir, businessIds);
  const clientSecrets = demoClientTokens(config.dataDir, config.demoClientIds);
  const admin = ensureAdminCredentials(config.dataDir);
  const common: Record<string, string> = {
    ...config.childEnv,
    BANK_HOST: config.host,
    BANK_LOG_LEVEL: config.logLevel,
    BANK_DATA_DIR: config.dataDir,
    BANK_ADMIN_CREDENTIALS_FILE: admin.hashFile,
  };
  return { config, common, businessIds, businessSecrets, clientSecrets, children: [] };
}

/** SIGINT/SIGTERM stop every child and exit 0; the returned stopAll is for a failed start. */
function stopOnSignals(children: readonly SupervisedChild[]): () => Promise<void> {
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    for (const c of children) c.expectExit();
    // Front to back, so no tier is asked for work by one in front of it that is still running.
    for (const c of [...children].reverse()) await c.stop();
  };
  const shutdown = (signal: string): void => {
    if (stopping) return;
    log(`${signal}: stopping every process`);
    stopAll().then(
      () => {
        log('stopped');
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  return stopAll;
}

async function startDataServers(launch: Launch): Promise<SupervisedChild[]> {
  const { config, common, businessSecrets } = launch;
  const data = config.dataPorts.map((port, i) => {
    const dataEnv: Record<string, string> = {
      ...common,
      BANK_PORT: String(port),
      BANK_BUSINESS_CREDENTIALS_FILE: businessSecrets.file,
      // Its log lines go straight to our stderr: they name it themselves (data, data2, …).
      BANK_LOG_NAME: dataServerName(i),
    };
    if (config.databaseUrl !== undefined) dataEnv.DATABASE_URL = config.databaseUrl;
    return new SupervisedChild(
      placeSpec({ name: dataServerName(i), script: 'server/main.js', env: dataEnv }, config.placement),
      config,
      onChildEvent,
    );
  });
  launch.children.push(...data);
  // One after another: the first creates the PostgreSQL schema, the others find it.
  for (const d of data) await d.start();
  return data;
}

/** The business servers, at once; each is told every data server's URL. */
async function startBusinessServers(launch: Launch, data: readonly SupervisedChild[]): Promise<SupervisedChild[]> {
  const { config, common, businessSecrets, clientSecrets } = launch;
  const dataUrls = data.map((d) => d.url).join(',');
  const business = launch.businessIds.map(
    (id, i) =>
      new SupervisedChild(
        placeSpec(
          {
            name: id,
            script: 'business/main.js',
            env: {
              ...common,
              BANK_PORT: String(config.businessPorts[i] ?? 0),
              BANK_BUSINESS_ID: id,
              BANK_BUSINESS_TOKEN: defined(businessSecrets.tokens.get(id), `the token of ${id}`),
              BANK_DATA_URLS: dataUrls,
              BANK_CLIENT_CREDENTIALS_FILE: clientSecrets.file,
              ...(config.faultsFile === undefined ? {} : { BANK_FAULTS_FILE: config.faultsFile }),
            },
          },
          config.placement,
        ),
        config,
        onChildEvent,
      ),
  );
  launch.children.push(...business);
  await Promise.all(business.map((b) => b.start()));
  return business;
}

async function startBalancer(launch: Launch, business: readonly SupervisedChild[]): Promise<SupervisedChild> {
  const { config, common } = launch;
  const balancerEnv: Record<string, string> = {
    ...common,
    BANK_PORT: String(config.balancerPort),
    BANK_BUSINESS_URLS: business.map((b) => b.url).join(','),
  };
  if (config.publicUrl !== undefined) balancerEnv.BANK_PUBLIC_URL = config.publicUrl;
  const balancer = new SupervisedChild(
    placeSpec({ name: 'balancer', script: 'balancer/main.js', env: balancerEnv }, config.placement),
    config,
    onChildEvent,
  );
  launch.children.push(balancer);
  await balancer.start();
  return balancer;
}

/** cluster.json: every child's URL and current pid, for tools (bench, chaos). */
function writeClusterInfo(
  dataDir: string,
  data: readonly SupervisedChild[],
  business: readonly SupervisedChild[],
  balancer: SupervisedChild,
  ops: SupervisedChild,
): void {
  const clusterFile: ClusterFile = {
    balancerUrl: balancer.url,
    dataUrl: itemAt(data, 0).url,
    dataUrls: data.map((d) => d.url),
    businessUrls: business.map((b) => b.url),
    pids: {
      launcher: process.pid,
      data: pidOf(itemAt(data, 0)),
      dataServers: data.map(pidOf),
      business: business.map(pidOf),
      balancer: pidOf(balancer),
      console: pidOf(ops),
    },
  };
  writeFileAtomic(join(dataDir, CLUSTER_FILE), JSON.stringify(clusterFile, null, 2) + '\n', 0o600);
}

const USAGE = {
  command: 'npm start -- | node dist/scripts/cluster.js',
  summary:
    'The whole bank on this machine: 1 data server (N over PostgreSQL), N business servers and the load balancer, with demo clients and the admin token in the data dir.',
  flags: CLUSTER_FLAGS,
  more: 'Other settings (BANK_CLUSTER_*, tier limits passed to the children): see scripts/README.md.',
};

runMain('cluster', USAGE, process.argv.slice(2), main);
