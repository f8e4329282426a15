import { join } from 'node:path';
import { loadAdminAuth } from '../common/admin-auth';
import { checkLogFile, runMain } from '../common/cli-main';
import { DATA_BATCH_CALLS_MAX, DATA_NAMESPACE, DATA_PATH } from '../common/contract';
import { createLogger, Logger } from '../common/logger';
import { announceReady } from '../common/ready';
import { ReloadingCredentials } from '../common/reloading-credentials';
import { SoapServer, startSoapServer } from '../common/soap-host';
import { wsdlWithFacets } from '../common/wsdl-facets';
import { DATA_FLAGS, loadDataConfig } from './config';
import { dataObserver, watchData } from './data-metrics';
import { DataService } from './data-service';
import { openStore } from './open-store';
import { Store } from './store';

/**
 * The data server: `node dist/server/main.js [--port 8090] [--data-dir var] [--database-url …]`.
 * Prints one ready line on stdout once it listens; logs on stderr; SIGTERM/SIGINT close the
 * listener (in-flight requests finish) and then the store.
 */
const WSDL_PATH = join(__dirname, '..', '..', 'wsdl', 'data.wsdl');

const USAGE = {
  command: 'node dist/server/main.js',
  summary:
    'The data server: accounts, journal, locks with leases and fencing tokens (wsdl/data.wsdl at /data), over SQLite or PostgreSQL.',
  flags: DATA_FLAGS,
  more: 'Limits and other settings (env only): see server/README.md.',
};

async function main(): Promise<void> {
  const config = loadDataConfig(process.env, process.argv.slice(2));
  checkLogFile(config.logFilePath);
  const logger = createLogger({ service: config.logName, level: config.logLevel, jsonFilePath: config.logFilePath });
  // Re-read on change: `npm run admin -- business rotate` takes effect without a restart.
  const credentials = new ReloadingCredentials(
    config.credentialsFilePath,
    config.credentialsReloadMs,
    logger,
    'business',
  );
  const admin = loadAdminAuth(config.adminCredentialsFilePath);
  const store = await openStore(config);
  const service = new DataService(store, config);
  const observer = dataObserver(config.traceRingEntries);
  const onBatch = watchData(observer, store, service.waiters);
  const server = await startSoapServer(
    {
      service: 'data',
      wsdlPath: WSDL_PATH,
      wsdlText: wsdlWithFacets(WSDL_PATH, [
        { simpleType: 'LeaseMillis', facet: 'minInclusive', value: String(config.leaseMsMin) },
        { simpleType: 'LeaseMillis', facet: 'maxInclusive', value: String(config.leaseMsMax) },
      ]),
      path: DATA_PATH,
      namespace: DATA_NAMESPACE,
      faultElement: 'DataFault',
      principalHeader: 'business-id',
      credentials,
      operations: service.operations(),
      batch: {
        operation: 'Batch',
        calls: { lock: 'Lock', update: 'Update', unlock: 'Unlock' },
        callsMax: DATA_BATCH_CALLS_MAX,
        onBatch,
      },
      bodyBytesMax: config.bodyBytesMax,
      connections: config.connections,
      logger,
      admin,
      observer,
      health: async () => ({
        status: 'ok',
        details: { ...(await store.health()), lockWaiters: service.waiters.count() },
      }),
    },
    config.host,
    config.port,
  );
  logger.info('listening', { url: server.url, store: store.kind });
  announceReady('data', server.url);

  stopOnSignals(server, store, logger);
}

/** SIGTERM or SIGINT: stop listening (in-flight requests answered), close the store, exit. */
function stopOnSignals(server: SoapServer, store: Store, logger: Logger): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    server
      .close()
      .then(() => store.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('stop failed', { error: String(error) });
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

runMain('data server', USAGE, process.argv.slice(2), main);
